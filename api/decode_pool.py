"""Registrations decoded in a small pool of processes instead of the API worker's threads.

Why: a registration's decoding and hashing (PDQ, keypoints, the reference copy: ~35-45 ms of CPU for 1 MP) ran
in an AnyIO worker thread of the API process. Much of it holds the GIL (Python and C code that does not release
it), and the event loop's thread must take the GIL back after every I/O call, waiting up to the switch interval
(5 ms) each time while the decode runs: every request that worker answered during a registration waited, and in
the soak (``scripts/bench_soak.py``, a registration a second beside 5,000 lookups a second) the lookups' p99 was
set by them (``docs/RELIABILITY.md``, "Soak"). A process has its own GIL, so the event loop keeps its own.

What stays as it was: the decoding slot (``api.deps.DecodeGate``) is still taken around the call, and the pool has
as many processes as this API worker has slots, so no more images are decoded at once than before (the memory
bound per decode holds, whatever a cancelled request left running). Errors raised while decoding (``LedgerError``
subclasses, one-argument: they pickle) reach the route as before. Registrations that sign Content Credentials here
stay on threads: they need the publishers' C2PA keys, which stay in the API process.

One pool per API process and size, shared by every app that process builds (tests build many), started on first
use or by ``warm``. Each process costs ~120 MB of RSS (it imports the registration code: numpy, Pillow, OpenCV,
c2pa) and 2-4 s to start (``spawn``: the API process runs threads, which ``fork`` does not copy safely).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ledger.adapters.c2pa.reader import CredentialReader
from ledger.core.fingerprint import Limits
from ledger.errors import Unavailable
from ledger.usecases.context import Context
from ledger.usecases.register import Decoded, RegistrationRequest, decode_registration


class DecoderStopped(Unavailable):
    """The decoding process ended while it held this request's image (killed, out of memory): try again."""

    code = "decoder_stopped"
    retry_after = 1  # a new process starts with the next registration


# -- in the pool's processes ----------------------------------------------------------------------------------------
_reader: CredentialReader | None = None


def _start(anchors: tuple[Path, ...]) -> None:
    global _reader
    _reader = CredentialReader.from_files(list(anchors))


def _decode(limits: Limits, publisher: str, data: bytes, request: RegistrationRequest, parent: str) -> Decoded:
    assert _reader is not None
    # No database, chain or keys here: decode_registration reads only the limits and the credential reader when it
    # signs nothing (the chain id and contract name only what it would sign).
    ctx = Context(db=None, chain_id=0, contract="", limits=limits, credentials=_reader)  # type: ignore[arg-type]
    return decode_registration(ctx, publisher, data, request, parent)


def _pid() -> int:
    import os

    return os.getpid()


# -- in the API process ---------------------------------------------------------------------------------------------
class DecodePool:
    def __init__(self, processes: int, anchors: tuple[Path, ...]) -> None:
        self.processes, self.anchors = processes, anchors
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_start, initargs=(self.anchors,))  # fmt: skip
            return self._executor

    def warm(self) -> None:
        """Start the processes now (in the background) rather than at the first registration."""
        for _ in range(self.processes):
            self._pool().submit(_pid)

    def pids(self) -> list[int]:
        """The pool's processes (started ones), for tests and benchmarks."""
        executor = self._executor
        return [p.pid for p in (executor._processes or {}).values() if p.pid] if executor is not None else []

    async def decode_registration(self, limits: Limits, publisher: str, data: bytes, request: RegistrationRequest,
                                  parent: str) -> Decoded:  # fmt: skip
        executor = self._pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, _decode, limits, publisher, data,
                                                                    request, parent)  # fmt: skip
        except BrokenProcessPool:
            with self._lock:  # the next registration gets a new pool; this one is answered 503
                if self._executor is executor:
                    self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            raise DecoderStopped("the process decoding this image stopped; try again") from None

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


_shared: dict[tuple[int, tuple[Path, ...]], DecodePool] = {}
_shared_lock = threading.Lock()


def shared_pool(processes: int, anchors: tuple[Path, ...]) -> DecodePool:
    """This process's pool of ``processes`` processes reading C2PA with ``anchors``."""
    with _shared_lock:
        key = (processes, anchors)
        if key not in _shared:
            _shared[key] = DecodePool(processes, anchors)
        return _shared[key]
