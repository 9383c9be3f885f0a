"""One exception handler: every error leaves as ``{"error": {"code", "message"}}`` with a 4xx status."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import errors

log = logging.getLogger("api")

# One entry per base of ledger/errors.py; a subclass takes its nearest base's status.
STATUS = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.RequestTimeout: 408,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.UnsupportedFormat: 415,
    errors.LedgerValueError: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_format",
    422: "invalid_request",
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


CONFIG_MESSAGE = "the service is not configured correctly; its operator finds the reason in the service's log"


def public_message(exc: errors.LedgerError) -> str:
    """What a client is told. A configuration error's own sentence names server paths and settings: it goes to the
    log, the client gets a plain sentence (the stable code still says what kind of failure it was)."""
    if isinstance(exc, errors.ConfigError):
        log.error("configuration error answered as %s: %s", exc.code, exc.message)
        return CONFIG_MESSAGE
    return exc.message


def status_for(exc: errors.LedgerError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def headers_for(exc: errors.LedgerError, status: int) -> dict[str, str]:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return headers


async def send_error(send: Any, exc: errors.LedgerError, close: bool = False) -> None:
    """The same answer as the handler below, sent from an ASGI middleware (before any route runs). ``close``: the
    request body was not read to its end, so the connection cannot carry another request."""
    status = status_for(exc)
    body = json.dumps(error_body(exc.code, public_message(exc))).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in headers_for(exc, status).items()]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.LedgerError)
    async def ledger_error(_request: Request, exc: errors.LedgerError) -> JSONResponse:
        status = status_for(exc)
        return JSONResponse(error_body(exc.code, public_message(exc)), status_code=status, headers=headers_for(exc, status))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg')}" for err in exc.errors()
        )
        return JSONResponse(error_body("invalid_request", f"the request is not valid: {problems}"), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "the request failed"
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body("internal_error", "an unexpected error occurred; it was logged"), status_code=500)
