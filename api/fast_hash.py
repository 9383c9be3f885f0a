"""``GET /v1/verify/{sha256}`` answered straight from the hot index, before FastAPI and its middleware.

Readers' browsers, extensions and platforms call it for every image they show. Its answers are ready in memory
(``ledger.usecases.hash_answers``); what was left per request was the framework: routing and dependency resolution
cost about 0.4 ms a request here, several times the answer itself (profiled with the app called in process), and
once that was bypassed the six ASGI layers around it (the app's error handler, metrics, security headers, rate
limits, registration spreading, body limits), each wrapping ``send`` in a closure of its own, still made the app
take 47-59 us for such a request, against 25-35 us now (in process, alternated, 2026-12-02; through granian and
wrk 183-207 against 125-148 us of the API's CPU a request, docs/api.md). So ``LedgerApp.__call__``
(``api.app``) asks ``answer_if_hot`` first, which does what those layers would for this request in one step:
counts it against the client's rate (the same counters), adds the security headers, records the metrics. Anything
else goes through the whole stack as before: an answer that needs the database, a malformed hash, an index still
loading, a method other than GET, a request that declares a body (the body limits judge it), a client over its
rate (refused there, with the same 429: a refused hit is not counted, so it is not counted twice). The FastAPI
route ``api.routers.verify.verify_hash_route`` gives the same answers and is the one the OpenAPI schema describes.
"""

from __future__ import annotations

import time
from typing import Any

from api.headers import SECURITY_HEADERS
from api.metrics import record_request
from api.ratelimit import ClientLimits
from ledger.errors import LedgerError
from ledger.usecases.hash_answers import HashAnswer

PREFIX = "/v1/verify/"
ROUTE = "/v1/verify/{sha256}"  # the metrics' route label, as FastAPI's router would give it
BODY_HEADERS = (b"content-length", b"transfer-encoding")


def answer_headers(answer: HashAnswer, registered_seconds: int, unknown_seconds: int) -> list[tuple[bytes, bytes]]:
    seconds = registered_seconds if answer.registered else unknown_seconds
    return [(b"etag", answer.etag.encode()), (b"cache-control", b"public, max-age=%d" % seconds)]


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored; ``*`` matches any."""
    if not header:
        return False
    opaque = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


async def answer_if_hot(state: Any, limits: ClientLimits, scope: dict[str, Any], send: Any) -> bool:
    """Answers a verify by hash from the hot index when it can (True); False leaves the request untouched."""
    started = time.perf_counter()
    path: str = scope["path"]
    if scope["method"] != "GET" or not path.startswith(PREFIX) or "/" in path[len(PREFIX):]:
        return False
    try:
        answer = state.hash_answers.cached(path[len(PREFIX):])
    except LedgerError:
        return False  # the route answers it with its error
    if answer is None:
        return False
    if_none_match = None
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            if_none_match = value
        elif name in BODY_HEADERS:
            return False
    if await limits.refusal(scope) is not None:
        return False
    settings = state.settings
    headers = answer_headers(answer, settings.verify_cache_seconds, settings.verify_unknown_cache_seconds)
    headers += SECURITY_HEADERS
    if if_none_match is not None and etag_matches(if_none_match.decode("latin-1"), answer.etag):
        status, body = 304, b""
    else:
        status, body = 200, answer.body
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    record_request(ROUTE, "GET", status, time.perf_counter() - started)
    return True
