"""Registrations spread over the API workers of a host, whatever the client's connections do.

granian (2.8) gives each worker its own listening socket with ``SO_REUSEPORT``: the kernel picks a worker for each
new connection by a hash of its addresses and ports, blind to load, and a keep-alive connection stays with that
worker for good. A client with 4 connections has all 4 on one worker one time in 8 (3 on one, one time in 2): that
worker decodes one registration after another (a worker is one Python process, about one core) while the other
idles (``bench_api.py``'s per-process CPU: 11.1 s against 0.15 s in one run).

So each worker publishes how many registrations it is working on in a small file that ``python -m api`` creates
for its workers (``WorkerLoads``, one cell per process), and ``SpreadRegistrations`` closes the connection of a
registration answered by a worker that has at least ``MARGIN`` more in progress than the least busy other one: the
client reconnects (HTTP/1.1 clients do so by themselves), the kernel hashes the new connection afresh, and half the
time it reaches the other worker. A worker as busy as the others keeps its connections: once spread, the
connections stay where they are. Only registrations count (each costs ~45 ms of CPU against ~0.2 ms for a
reconnection on the same host); hash lookups keep their keep-alive connections whatever the load.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from pathlib import Path
from typing import Any

LOADS_VARIABLE = "API_WORKER_LOADS"  # the file's path, set by ``python -m api`` for its workers (not a setting)
CELLS = 64  # more than any host runs workers (a worker killed and respawned takes a free or dead one's cell)
CELL = struct.Struct("<qq")  # (pid, registrations in progress); 8-byte aligned, each written by its own process
# Close only past this difference: 2 in progress against 1 elsewhere is a balanced host (one decoding, one about to).
MARGIN = 2
REGISTERING = frozenset({"/v1/media", "/v1/media/batch", "/v1/registrations"})


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
        """At least ``MARGIN`` more registrations in progress here than on the least busy other worker."""
        least = self.least_of_others()
        return least is not None and self.in_progress >= least + MARGIN


class SpreadRegistrations:
    """ASGI middleware: counts this worker's registrations in progress and closes the connection of one answered
    while this worker is overloaded (``WorkerLoads.overloaded``), so the client's next request may reach another."""

    def __init__(self, app: Any, loads: WorkerLoads | None) -> None:
        self.app, self.loads = app, loads

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        loads = self.loads
        if loads is None or scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in REGISTERING:
            await self.app(scope, receive, send)
            return

        async def spread(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and loads.overloaded():
                headers = message.get("headers", [])
                if not any(name.lower() == b"connection" for name, _ in headers):
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        loads.enter()
        try:
            await self.app(scope, receive, spread)
        finally:
            loads.leave()


def loads_from_environment() -> WorkerLoads | None:
    """This worker's cell when ``python -m api`` runs several workers, else None (one process: nothing to spread)."""
    path = os.environ.get(LOADS_VARIABLE)
    return WorkerLoads(Path(path)) if path else None
