"""Refuse oversized request bodies before anything parses or spools them."""

from __future__ import annotations

import json
from typing import Any

# Room for the form fields and multipart framing around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int):
        self.app = app
        self.max_body = max_bytes + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None and headers.get(b"transfer-encoding"):
            await _reply(send, 411, "length_required", "send the upload with a Content-Length header")
            return
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _reply(send, 413, "too_large", f"the request body is larger than the limit of {self.max_body:,} bytes")
            return
        await self.app(scope, receive, send)


async def _reply(send: Any, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
    ]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
