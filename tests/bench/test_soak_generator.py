"""``scripts/bench_soak.py``'s uploads reach the service spread over their period, not all at once: h2load fires
each connection's timer max(10 ms, 1 / its rate) after its connect, so one h2load process with 10 upload
connections at 5 a second sent 10 uploads in the same millisecond every 200 ms, and the soak measured the lookups
waiting behind those bursts (docs/RELIABILITY.md, "Soak"). Real h2load against a small local HTTP/1.1 server."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from scripts.bench_soak import Registrar, run_load

pytestmark = pytest.mark.skipif(shutil.which("h2load") is None, reason="h2load (Debian's nghttp2-client) is missing")


class Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as h2load --h1 expects

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def service() -> Iterator[SimpleNamespace]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()


def upload_starts(work: Path) -> np.ndarray:
    starts = []
    for log in work.glob("soak-upload*.log"):
        for line in log.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and fields[0].isdigit():
                starts.append(int(fields[0]) / 1e6)
    return np.sort(np.array(starts))


@pytest.mark.parametrize("burst", [False, True], ids=["staggered", "burst"])
def test_uploads_are_spread_over_their_period(service: SimpleNamespace, tmp_path: Path, burst: bool) -> None:
    body = tmp_path / "upload.body"
    body.write_bytes(b"x" * 1000)
    # 50 uploads a second (10 connections at 5 a second, as in the soak) and 150 lookups a second, for 2 s
    runs = run_load(service, tmp_path, ["0x" + "11" * 32] * 3, body, rate=200, seconds=2, upload_share=0.25,  # type: ignore[arg-type]
                    tag="soak", client="h2load", burst_uploads=burst)  # fmt: skip
    uploads = next(r for r in runs if r["name"] == "upload 1 MP")
    assert uploads["sent"] == uploads["answered"] == 100 and uploads["errors"] == 0
    together = float((np.diff(upload_starts(tmp_path)) < 0.002).mean())  # started within 2 ms of the one before
    if burst:
        assert together > 0.5  # the shape before: 10 at once every 200 ms
    else:
        assert together < 0.3


def test_no_background_registrations_at_rate_zero(service: SimpleNamespace) -> None:
    """``--registrations-per-second 0``: the soak without them (what they cost the lookups)."""
    registrar = Registrar(service, "key", [b"image"], 0)  # type: ignore[arg-type]
    registrar.start()
    registrar.join(5)
    assert not registrar.is_alive() and registrar.answers == [] and registrar.times == []
