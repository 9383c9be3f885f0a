"""Bounded request bodies, however they are framed: an ASGI middleware in front of every route.

- ``Transfer-Encoding`` together with ``Content-Length`` (or two different lengths) is refused (400
  ``ambiguous_framing``): servers and proxies that disagree on which one wins are how requests are smuggled.
- A declared ``Content-Length`` over the route's limit is refused before a byte is read (413).
- Whatever the framing (chunked, or a ``Content-Length`` that lies), the bytes are counted as they arrive and
  reading stops at the limit (413); more bytes than the ``Content-Length`` announced is a 400.
- The whole body must arrive within ``body_timeout_seconds`` (408 ``body_timeout``), so a slow sender cannot hold a
  connection and its buffers open for long.

Uploads (``POST /v1/media``, ``POST /v1/registrations``, ``POST /v1/verify``, ``POST /v1/c2pa/matches/byContent``) may carry ``max_upload_bytes`` plus the multipart framing;
a batch of registrations (``POST /v1/media/batch``) ``registration_batch_max_bytes`` plus the framing; any other body
(the retraction's JSON) at most ``max_json_bytes``. The error answers come from ``api/errors.py``.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from api.errors import send_error
from ledger.errors import AmbiguousFraming, BadRequest, BodyLengthMismatch, BodyTimeout, LedgerError, TooLarge

# Room for the form fields and multipart framing around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
UPLOAD_ROUTES = {("POST", "/v1/media"), ("POST", "/v1/verify"), ("POST", "/v1/registrations"),
                 ("POST", "/v1/c2pa/matches/byContent")}  # fmt: skip
BATCH_ROUTES = {("POST", "/v1/media/batch")}


class BodyRefused(Exception):
    """Raised from ``receive`` to stop whoever reads the body; the middleware answers with ``error``."""

    def __init__(self, error: LedgerError) -> None:
        super().__init__(error.message)
        self.error = error


class BodyLimits:
    def __init__(self, app: Any, max_upload_bytes: int, max_json_bytes: int, timeout_seconds: float,
                 max_batch_bytes: int = 0) -> None:  # fmt: skip
        self.app = app
        self.max_upload = max_upload_bytes + FORM_OVERHEAD_BYTES
        self.max_batch = (max_batch_bytes or max_upload_bytes) + FORM_OVERHEAD_BYTES
        self.max_json = max_json_bytes
        self.timeout = timeout_seconds

    def limit_for(self, method: str, path: str) -> int:
        route = (method, path.rstrip("/"))
        if route in BATCH_ROUTES:
            return self.max_batch
        return self.max_upload if route in UPLOAD_ROUTES else self.max_json

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        try:
            declared = declared_length(scope["headers"])
        except LedgerError as exc:
            await send_error(send, exc, close=True)
            return
        if declared is not None and declared > limit:
            await send_error(send, TooLarge(f"the request body is larger than the limit of {limit:,} bytes"), close=True)
            return
        has_body = (declared or 0) > 0 or any(name == b"transfer-encoding" for name, _ in scope["headers"])
        if not has_body and scope.get("http_version") in ("1.0", "1.1"):
            # HTTP/1 without Content-Length or Transfer-Encoding (or a length of 0) has no body (RFC 9112 6.3): nothing
            # to count or wait for, so no wrapper on receive and send (readers' GETs, verify by hash above all).
            # HTTP/2 may send a body without either header, so its requests are always counted.
            await self.app(scope, receive, send)
            return
        body = CountedBody(receive, limit, declared, time.monotonic() + self.timeout)
        replaced = False

        async def guarded_send(message: dict[str, Any]) -> None:
            # Whatever the app made of a refused body (a 400 from its form parser, say), the answer is the refusal.
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start" and body.error is not None:
                replaced = True
                await send_error(send, body.error, close=True)
                return
            if message["type"] == "http.response.start" and has_body and not body.complete:
                # Answered before the body was read to its end (a 401 on a publisher's route): close the connection,
                # or the server would read and discard the rest of the body to reuse it.
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, body.receive, guarded_send)
        except BodyRefused as refused:
            if not replaced:  # nothing was sent yet: the exception came straight out of the route
                await send_error(send, refused.error, close=True)


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    lengths = {value.strip() for name, value in headers if name == b"content-length"}
    chunked = any(name == b"transfer-encoding" for name, _ in headers)
    if lengths and chunked:
        raise AmbiguousFraming("send either Transfer-Encoding or Content-Length, not both")
    if len(lengths) > 1:
        raise AmbiguousFraming("the request has two different Content-Length headers")
    if not lengths:
        return None
    value = lengths.pop()
    if not value.isdigit():
        raise BadRequest("Content-Length must be a number of bytes")
    return int(value)


class CountedBody:
    """``receive`` that counts body bytes, stops at the limit and at the deadline."""

    def __init__(self, receive: Any, limit: int, declared: int | None, deadline: float) -> None:
        self._receive = receive
        self.limit, self.declared, self.deadline = limit, declared, deadline
        self.size = 0
        self.complete = False
        self.error: LedgerError | None = None

    def _refuse(self, error: LedgerError) -> BodyRefused:
        self.error = error
        return BodyRefused(error)

    async def receive(self) -> dict[str, Any]:
        if self.error is not None:
            raise BodyRefused(self.error)
        if self.complete:  # after the body only http.disconnect can come; waiting for it is not bounded here
            return await self._receive()  # type: ignore[no-any-return]
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._refuse(BodyTimeout("the request body did not arrive in time"))
        try:
            with anyio.fail_after(remaining):
                message = await self._receive()
        except TimeoutError:
            raise self._refuse(BodyTimeout("the request body did not arrive in time")) from None
        if message["type"] != "http.request":
            return message  # type: ignore[no-any-return]
        self.size += len(message.get("body", b""))
        if self.size > self.limit:
            raise self._refuse(TooLarge(f"the request body is larger than the limit of {self.limit:,} bytes"))
        if self.declared is not None and self.size > self.declared:
            raise self._refuse(BodyLengthMismatch("the request body is longer than its Content-Length"))
        if not message.get("more_body", False):
            self.complete = True
        return message  # type: ignore[no-any-return]
