"""Dependencies as ``Annotated`` aliases, so routes say what they need and tests can override them; the route class
that checks a publisher's key before the body is read; the gate that bounds concurrent decoding."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from api import spread
from api.metrics import DECODE_ACTIVE, DECODE_REJECTIONS, DECODE_WAITING
from api.state import AppState
from ledger.errors import Busy, TooLarge, Unauthorized
from ledger.usecases.publishers import KeyHolder, authenticate

READ_CHUNK = 1024 * 1024


async def get_state(request: Request) -> AppState:
    # async: FastAPI would run a plain function in a worker thread for every request that uses it.
    return request.app.state.ledger  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


def publisher_from_header(state: AppState, header: str) -> KeyHolder:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the publisher's API key as `Authorization: Bearer <key>`")
    return authenticate(state.db, token.strip())


async def get_publisher(request: Request, state: StateDep) -> KeyHolder:
    # async: a plain function would cost a trip to a worker thread on every publisher request, only to return what
    # PublisherRoute already checked before the body was read; the database is read in a thread when it did not.
    checked = getattr(request.state, "publisher", None)
    if checked is not None:
        return checked  # type: ignore[no-any-return]
    return await run_in_threadpool(publisher_from_header, state, request.headers.get("authorization", ""))


PublisherDep = Annotated[KeyHolder, Depends(get_publisher)]


class PublisherRoute(APIRoute):
    """A publisher's route: the API key is checked before FastAPI reads and parses the body (FastAPI reads the
    body before it solves dependencies), so a request without a valid key is answered 401 having read none of it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def key_first(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            request.state.publisher = await run_in_threadpool(publisher_from_header, request.app.state.ledger, header)
            return await handler(request)

        return key_first


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """Read at most ``max_bytes``; one byte more means the file is too large (never buffer more)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"the file is larger than the limit of {max_bytes:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """A raw request body (not a form) of at most ``max_bytes``, read as it arrives."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"the file is larger than the limit of {max_bytes:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class DecodeGate:
    """At most ``slots`` decodes at once in this process (verify uploads and registrations alike). A request that
    finds them taken waits in a queue of at most ``queue`` requests for at most ``wait_seconds``; past either bound
    it is refused with 503 ``busy`` and ``Retry-After``, so a burst costs a short wait, never unbounded memory."""

    def __init__(self, slots: int, queue: int, wait_seconds: float) -> None:
        self.slots, self.queue, self.wait_seconds = slots, queue, wait_seconds
        self.active = 0
        self.waiting = 0
        self._free: anyio.Semaphore | None = None  # made on first use, inside the event loop

    def _busy(self) -> Busy:
        DECODE_REJECTIONS.inc()
        return Busy("the service is decoding as many images as it can; try again shortly",
                    retry_after=max(1, math.ceil(self.wait_seconds)))  # fmt: skip

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._free is None:
            self._free = anyio.Semaphore(self.slots)
        if self._free.value == 0 and self.waiting >= self.queue:
            raise self._busy()
        with spread.counted():  # the host's workers share decoding (api.spread)
            async with self._taken():
                yield

    @asynccontextmanager
    async def _taken(self) -> AsyncIterator[None]:
        assert self._free is not None  # made by slot
        acquired = False
        self.waiting += 1
        DECODE_WAITING.inc()
        try:
            with anyio.move_on_after(self.wait_seconds):
                await self._free.acquire()
                acquired = True
        finally:
            self.waiting -= 1
            DECODE_WAITING.dec()
        if not acquired:
            raise self._busy()
        self.active += 1
        DECODE_ACTIVE.inc()
        try:
            yield
        finally:
            self.active -= 1
            DECODE_ACTIVE.dec()
            self._free.release()
