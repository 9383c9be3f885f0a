"""``GET /v1/verify/{sha256}`` answered straight from the hot index, in front of FastAPI's router.

Readers' browsers, extensions and platforms call it for every image they show. Its answers are ready in memory
(``ledger.usecases.hash_answers``); what was left per request was the framework: routing and dependency resolution
cost about 0.4 ms a request here, several times the answer itself (profiled with the app called in process). So
this ASGI layer, the innermost middleware (rate limits, body limits and security headers still run before it),
sends an answer the hot index already has; anything else (an answer that needs the database, a malformed hash, an
index still loading, a method other than GET) goes on to the FastAPI route ``api.routers.verify.verify_hash_route``,
which gives the same answers and is the one the OpenAPI schema describes.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import LedgerError
from ledger.usecases.hash_answers import HashAnswer

PREFIX = "/v1/verify/"


def answer_headers(answer: HashAnswer, registered_seconds: int, unknown_seconds: int) -> list[tuple[bytes, bytes]]:
    seconds = registered_seconds if answer.registered else unknown_seconds
    return [(b"etag", answer.etag.encode()), (b"cache-control", b"public, max-age=%d" % seconds)]


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored; ``*`` matches any."""
    if not header:
        return False
    opaque = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


class VerifyHashFastPath:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "GET" or not path.startswith(PREFIX) or "/" in path[len(PREFIX):]:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.ledger
        try:
            answer = state.hash_answers.cached(path[len(PREFIX):])
        except LedgerError:
            answer = None  # the route answers it with its error
        if answer is None:
            await self.app(scope, receive, send)
            return
        scope["provenance.route"] = "/v1/verify/{sha256}"  # the metrics' route label (FastAPI's router did not run)
        settings = state.settings
        headers = answer_headers(answer, settings.verify_cache_seconds, settings.verify_unknown_cache_seconds)
        if_none_match = next((v for k, v in scope["headers"] if k == b"if-none-match"), None)
        if if_none_match is not None and etag_matches(if_none_match.decode("latin-1"), answer.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer.body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
