"""``scripts/bench_soak.py``'s uploads reach the service spread over their period, not all at once: h2load fires
each connection's timer max(10 ms, 1 / its rate) after its connect, so one h2load process with 10 upload
connections at 5 a second sent 10 uploads in the same millisecond every 200 ms, and the soak measured the lookups
waiting behind those bursts (docs/RELIABILITY.md, "Soak"). Its lookups come in bursts the same way (as ``hey -q``
sends them) unless ``--spread-lookups``. Real h2load against a small local HTTP/1.1 server."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scripts.bench_soak import Registrar, generator, run_load

pytestmark = pytest.mark.skipif(shutil.which("h2load") is None, reason="h2load (Debian's nghttp2-client) is missing")


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 with keep-alive, as h2load --h1 expects: each request's body read, ``{}`` answered. asyncio rather
    than http.server's thread per connection, which answered 1,320 requests a second ~44 ms late, so h2load sent
    them whenever an answer came and the test measured the server instead of the generator's timing."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


@pytest.fixture
def service() -> Iterator[SimpleNamespace]:
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(answer, "127.0.0.1", 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def request_starts(work: Path, pattern: str = "soak-upload*.log") -> np.ndarray:
    starts = []
    for log in work.glob(pattern):
        for line in log.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and fields[0].isdigit():
                starts.append(int(fields[0]) / 1e6)
    return np.sort(np.array(starts))


def _uploads_together(service: SimpleNamespace, work: Path, burst: bool) -> float:
    """The share of uploads started within 2 ms of the one before, in 2 s of the soak's load."""
    work.mkdir()
    body = work / "upload.body"
    body.write_bytes(b"x" * 1000)
    # 50 uploads a second (10 connections at 5 a second, as in the soak) and 150 lookups a second, for 2 s
    runs = run_load(service, work, ["0x" + "11" * 32] * 3, body, rate=200, seconds=2, upload_share=0.25,  # type: ignore[arg-type]
                    tag="soak", client="h2load", burst_uploads=burst)  # fmt: skip
    uploads = next(r for r in runs if r["name"] == "upload 1 MP")
    assert uploads["sent"] == uploads["answered"] == 100 and uploads["errors"] == 0
    return float((np.diff(request_starts(work)) < 0.002).mean())


@pytest.mark.parametrize("burst", [False, True], ids=["staggered", "burst"])
def test_uploads_are_spread_over_their_period(service: SimpleNamespace, tmp_path: Path, burst: bool) -> None:
    if burst:
        assert _uploads_together(service, tmp_path / "try0", burst) > 0.5  # the shape before: 10 at once every 200 ms
        return
    # The staggered shape rests on the h2load processes (started 20 ms apart) connecting on time: a host that keeps
    # several of them from a core collapses their timers together (0.49 in one CI run of 2026-12-02; 0 failures in 11
    # runs by hand, 5 of them beside two busy loops). So it is asked of one of up to three tries.
    shares: list[float] = []
    for attempt in range(3):
        shares.append(_uploads_together(service, tmp_path / f"try{attempt}", burst))
        if shares[-1] < 0.3:
            break
    assert min(shares) < 0.3, f"uploads started together in every try: {shares}"


def test_lookups_come_in_bursts_unless_spread(service: SimpleNamespace, tmp_path: Path) -> None:
    # 1,320 lookups a second, no uploads, for 2 s: each registered hash 400 a second from 4 connections (100 each,
    # as in the soak: every tick of a connection's 10 ms timer sends one)
    runs = run_load(service, tmp_path, ["0x" + "11" * 32] * 3, tmp_path / "unused", rate=1320, seconds=2,  # type: ignore[arg-type]
                    upload_share=0, tag="soak", client="h2load")  # fmt: skip
    first = next(r for r in runs if r["name"] == "hash registered 1")
    assert first["answered"] == first["sent"] >= 790 and first["errors"] == 0
    # Requests sent within 0.2 ms of each other, grouped: connections opened together share their timer's callback
    # (microseconds apart), so all 4 come as one group, as hey -q sends them.
    starts = request_starts(tmp_path, "soak-hash-registered-1*.log")
    group = np.concatenate([[0], np.cumsum(np.diff(starts) >= 0.0002)])
    assert float((np.bincount(group)[group] >= 3).mean()) > 0.9  # share of requests in groups of 3 or more
    # --spread-lookups: h2load opens the connections a share of the 10 ms apart. How evenly they then send depends
    # on h2load getting a core while it opens them (on a busy machine it opens several in one turn of its loop:
    # 3 of 4 together in 4 of 15 runs by hand beside a test suite), so the command is what is checked here.
    spread = generator("h2load", service.url + "/v1/verify/0x11", 400, 1, tmp_path / "spread.log", spread=True)
    assert spread.wait(30) == 0
    assert spread.args[spread.args.index("--rate") : spread.args.index("--rate") + 4] == ["--rate", "1", "--rate-period", "2ms"]
    assert spread.args[spread.args.index("-c") + 1] == "4"


def test_no_background_registrations_at_rate_zero(service: SimpleNamespace) -> None:
    """``--registrations-per-second 0``: the soak without them (what they cost the lookups)."""
    registrar = Registrar(service, "key", [b"image"], 0)  # type: ignore[arg-type]
    registrar.start()
    registrar.join(5)
    assert not registrar.is_alive() and registrar.answers == [] and registrar.times == []
