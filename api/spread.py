"""Decoding spread over the API workers of a host, whatever the clients' connections do.

granian (2.8) gives each worker its own listening socket with ``SO_REUSEPORT``: the kernel picks a worker for each
new connection by a hash of its addresses and ports, blind to load, and a keep-alive connection stays with that
worker for good. A client with 4 connections has all 4 on one worker one time in 8 (3 on one, one time in 2): that
worker decodes one picture after another (a worker is one Python process, about one core) while the other idles
(``bench_api.py``'s per-process CPU: 11.1 s against 0.15 s in one registrations run; upload verifies at half rate,
~10.3 API CPU seconds in 10 s, in 4 of the 9 unregistered-upload runs of 2026-12-02 15:49-18:28).

So each worker publishes how many decodes it has asked for and not finished (``api.deps.DecodeGate``: waiting for a
slot or decoding; registrations, verify uploads no kept answer covers, C2PA's query by content) in a small file
that ``python -m api`` creates for its workers (``WorkerLoads``, one cell per process), and ``SpreadDecodes``
closes the connection of a request that decoded when it is answered by a worker with at least ``MARGIN`` more
decodes in progress than the least busy other one: the client reconnects (HTTP/1.1 clients do so by themselves),
the kernel hashes the new connection afresh, and half the time it reaches the other worker. A worker as busy as the
others keeps its connections: once spread, the connections stay where they are. Requests that decode nothing (hash
lookups, an upload answered by its bytes' hash: ~1 ms, against ~0.2 ms for a reconnection on the same host, and
the soak's h2load does not take a closed connection well) keep their keep-alive connections whatever the load.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOADS_VARIABLE = "API_WORKER_LOADS"  # the file's path, set by ``python -m api`` for its workers (not a setting)
CELLS = 64  # more than any host runs workers (a worker killed and respawned takes a free or dead one's cell)
CELL = struct.Struct("<qq")  # (pid, decodes in progress); 8-byte aligned, each written by its own process
# Close only past this difference: 2 in progress against 1 elsewhere is a balanced host (one decoding, one about to).
MARGIN = 2


def create_loads_file(path: Path) -> None:
    path.write_bytes(b"\0" * (CELLS * CELL.size))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process reuses the pid: not one of ours
        return False
    return True


class WorkerLoads:
    """This process's cell in the host's file of worker loads, and the other live workers' counts."""

    def __init__(self, path: Path, pid: int | None = None) -> None:
        self.pid = os.getpid() if pid is None else pid
        with open(path, "r+b") as file:
            self._map = mmap.mmap(file.fileno(), CELLS * CELL.size)
            fcntl.flock(file, fcntl.LOCK_EX)  # two workers starting at once must not take the same free cell
            try:
                self._offset = self._claim()
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
        self.in_progress = 0

    def _claim(self) -> int:
        free = None
        for index in range(CELLS):
            pid, _ = CELL.unpack_from(self._map, index * CELL.size)
            if pid == self.pid:
                free = index
                break
            if free is None and (pid == 0 or not alive(pid)):
                free = index
        if free is None:
            raise RuntimeError(f"more than {CELLS} API workers on this host")
        CELL.pack_into(self._map, free * CELL.size, self.pid, 0)
        return free * CELL.size

    def _publish(self) -> None:
        CELL.pack_into(self._map, self._offset, self.pid, self.in_progress)

    def enter(self) -> None:
        self.in_progress += 1  # only the event loop's thread counts: no lock needed within the process
        self._publish()

    def leave(self) -> None:
        self.in_progress -= 1
        self._publish()

    def least_of_others(self) -> int | None:
        """The lowest count among the other live workers (None: this worker is alone)."""
        counts = []
        for index in range(CELLS):
            pid, count = CELL.unpack_from(self._map, index * CELL.size)
            if pid != 0 and pid != self.pid and alive(pid):
                counts.append(count)
        return min(counts) if counts else None

    def overloaded(self) -> bool:
        """At least ``MARGIN`` more decodes in progress here than on the least busy other worker."""
        least = self.least_of_others()
        return least is not None and self.in_progress >= least + MARGIN


@dataclass(slots=True)
class _Request:
    loads: WorkerLoads
    decoded: bool = False


_CURRENT: ContextVar[_Request | None] = ContextVar("provenance_spread_request", default=None)


@contextmanager
def counted() -> Iterator[None]:
    """Around one decode of the current request (``DecodeGate.slot``: waiting for a slot and decoding): counted in
    this worker's cell, and the request marked as one whose connection may be closed. Outside ``SpreadDecodes``
    (one worker, tests without it) nothing is counted."""
    request = _CURRENT.get()
    if request is None:
        yield
        return
    request.decoded = True
    request.loads.enter()
    try:
        yield
    finally:
        request.loads.leave()


class SpreadDecodes:
    """ASGI middleware: makes this worker's decodes countable (``counted``) and closes the connection of a request
    that decoded when it is answered while this worker is overloaded (``WorkerLoads.overloaded``), so the client's
    next request may reach another worker."""

    def __init__(self, app: Any, loads: WorkerLoads | None) -> None:
        self.app, self.loads = app, loads

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        loads = self.loads
        if loads is None or scope["type"] != "http" or scope["method"] != "POST":  # only POSTs send pictures
            await self.app(scope, receive, send)
            return
        request = _Request(loads)

        async def spread(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and request.decoded and loads.overloaded():
                headers = message.get("headers", [])
                if not any(name.lower() == b"connection" for name, _ in headers):
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        token = _CURRENT.set(request)  # the route's task sees it (routes await the gate on the event loop)
        try:
            await self.app(scope, receive, spread)
        finally:
            _CURRENT.reset(token)


def loads_from_environment() -> WorkerLoads | None:
    """This worker's cell when ``python -m api`` runs several workers, else None (one process: nothing to spread)."""
    path = os.environ.get(LOADS_VARIABLE)
    return WorkerLoads(Path(path)) if path else None
