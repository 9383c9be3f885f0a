"""Issue 14, item 3, on a real server process (granian, as ``python -m api`` runs it): the whole file corpus to
``POST /v1/verify`` four at a time (what can cost memory, and every file it must refuse), its bombs to ``POST /v1/media``, oversized and slow bodies, and the real
``provenance register`` process over the corpus. The API process's peak RSS (``VmHWM``, reset after a warm-up) must
stay bounded, no answer may be a 5xx, and ``/healthz`` must answer quickly while slow bodies hold connections."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import PublisherAccountRow
from ledger.config import Settings
from tests.api.conftest import ROOT, running_api
from tests.api.test_api import PASSWORD
from tests.api.test_decode_memory import MB, status_kb
from tests.corpus.generate import file_cases, picture, save

FILES = file_cases()
# The real server gets what can cost memory (bombs, metadata, every pixel mode) and every file it must refuse; the
# plain valid and damaged copies per format go through the in-process test only (each costs a full search here).
HEAVY = [c for c in FILES if c.expect == "reject" or c.name.split("/")[0] in ("meta", "mode") or "bomb" in c.name]
API_KEY = "pk_test_corpus_real_server_only"
# Measured: the corpus raises the warm process's peak by ~+90 MB (its largest decodes are 600 px strips; the refused
# bombs allocate nothing). 400 MB leaves room for a busy machine's allocator and is still far under what one
# unbounded bomb would take (a 60000 x 60000 header: 10.8 GB of RGB).
PEAK_BUDGET = 400 * MB
BODY_TIMEOUT = 2  # seconds, instead of the production 30, so the slow-body cases end quickly


def add_publisher(data_dir: Path) -> None:
    db = Database(f"sqlite:///{data_dir / 'l.sqlite3'}")
    address, key_file = create_key(Settings(data_dir=data_dir, keystore_password=PASSWORD).keystore_dir, PASSWORD)
    with db.write() as session:
        session.add(PublisherAccountRow(address=address, name="Real Server Daily", domain="real.example",
                                        keystore_file=key_file, next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
        repo.add_api_key(session, address, "corpus", API_KEY)
    db.dispose()


def slow_body(port: int, seconds: float, results: list[tuple[str, float]]) -> None:
    """A multipart upload that sends one byte every 0.2 s: the server must end it with 408 after BODY_TIMEOUT."""
    started = time.monotonic()
    head = (b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"
            b"Content-Length: 100000\r\n\r\n--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=seconds + 10) as sock:
        sock.sendall(head)
        answer = b""
        sock.settimeout(0.2)
        while time.monotonic() - started < seconds + 10:
            try:
                sock.sendall(b"\xff")
            except OSError:
                pass  # the server closed its side: read what it answered
            try:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
                if b"\r\n\r\n" in answer:
                    break
            except TimeoutError:
                continue
    results.append((answer.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - started))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc (Linux)")
def test_corpus_on_a_real_server(tmp_path: Path) -> None:
    with running_api(tmp_path, "granian", PROVENANCE_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
                     PROVENANCE_RATE_LIMIT_VERIFY_UPLOADS="100000/minute",
                     PROVENANCE_RATE_LIMIT_PUBLIC="100000/minute", OMP_NUM_THREADS="1") as (url, pid):  # fmt: skip
        add_publisher(tmp_path)
        port = int(url.rsplit(":", 1)[1])
        warm = httpx.post(url + "/v1/verify", files={"file": ("w.jpg", save(picture(1), "JPEG"))}, timeout=60)
        assert warm.status_code == 200, warm.text
        # The publisher's key is decrypted on its first registration (scrypt: ~256 MB, once, by design): before the peak.
        first = httpx.post(url + "/v1/media", files={"file": ("w.jpg", save(picture(2), "JPEG"))},
                           data={"caption": "warm-up", "credit": "x"}, headers={"Authorization": f"Bearer {API_KEY}"},
                           timeout=60)  # fmt: skip
        assert first.status_code == 202, first.text
        baseline = status_kb(pid, "VmRSS")
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak (VmHWM) starts again from the current RSS

        def verify(index: int) -> tuple[str, int]:
            case = HEAVY[index]
            response = httpx.post(url + "/v1/verify", files={"file": (case.filename, case.data)}, timeout=120)
            return case.name, response.status_code

        with ThreadPoolExecutor(4) as pool:
            answers = dict(pool.map(verify, range(len(HEAVY))))
        bombs = [c for c in FILES if "bomb" in c.name]
        for case in bombs:
            response = httpx.post(url + "/v1/media", files={"file": (case.filename, case.data)},
                                  data={"caption": case.name, "credit": "x"},
                                  headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120)  # fmt: skip
            answers["media " + case.name] = response.status_code

        # An oversized body, actually sent: refused at the limit without buffering it.
        too_big = httpx.post(url + "/v1/verify", files={"file": ("big.jpg", b"\xff\xd8" + b"\0" * (26 * MB))}, timeout=120)
        answers["oversized-26mb"] = too_big.status_code
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large", too_big.text

        # Slow bodies: four senders at one byte per 0.2 s; meanwhile the service answers at once.
        slow: list[tuple[str, float]] = []
        senders = [threading.Thread(target=slow_body, args=(port, BODY_TIMEOUT, slow)) for _ in range(4)]
        for sender in senders:
            sender.start()
        time.sleep(0.5)
        started = time.monotonic()
        health = httpx.get(url + "/healthz", timeout=10)
        health_seconds = time.monotonic() - started
        for sender in senders:
            sender.join(BODY_TIMEOUT + 20)
        peak = status_kb(pid, "VmHWM") - baseline
        print(f"peak RSS +{peak / MB:.0f} MB over {baseline / MB:.0f} MB; slow bodies {slow}; health {health_seconds:.2f} s")

        assert all(status < 500 for status in answers.values()), {k: v for k, v in answers.items() if v >= 500}
        for case in HEAVY:
            if case.expect == "image":
                assert answers[case.name] == 200, case.name
            elif case.expect == "reject":
                assert 400 <= answers[case.name] < 500, case.name
        assert all(400 <= answers["media " + c.name] < 500 for c in bombs if c.expect == "reject"), answers
        assert health.status_code == 200 and health_seconds < 2, (health.status_code, health_seconds)
        assert len(slow) == 4 and all(line.startswith("HTTP/1.1 408") for line, _ in slow), slow
        assert all(seconds < BODY_TIMEOUT + 5 for _, seconds in slow), slow
        assert peak < PEAK_BUDGET, f"peak RSS rose by {peak / MB:.0f} MB"

        # The real `provenance register` process over the whole corpus: one report line per file, no traceback.
        files_dir = tmp_path / "corpus"
        files_dir.mkdir()
        paths = []
        for case in FILES:
            path = files_dir / case.filename
            path.write_bytes(case.data)
            paths.append(path)
        (tmp_path / "api-key").write_text(API_KEY)
        report = tmp_path / "report.jsonl"
        run = subprocess.run([sys.executable, "-m", "ledger.cli.main", "register", *map(str, paths), "--url", url,
                              "--api-key-file", str(tmp_path / "api-key"), "--caption", "corpus", "--credit", "test",
                              "--report", str(report), "--concurrency", "4"],
                             cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert run.returncode == 1, run.stderr[-2000:]  # some files failed, as they must
        assert "Traceback" not in run.stderr + run.stdout, run.stderr[-3000:]
        lines = [json.loads(line) for line in report.read_text().splitlines()]
        by_file = {Path(line["file"]).name: line for line in lines}
        assert len(by_file) == len(FILES), "one report line per file"
        for case in FILES:
            line = by_file[case.filename]
            if case.expect == "image":
                assert line["result"] in ("accepted", "skipped"), line
            elif case.expect == "reject":
                assert line["result"] == "failed" and line["error_code"], line
                if line["status"] is not None:  # refused by the service (the client refuses some itself, e.g. empty)
                    assert line["error_code"] in case.codes, line
        assert httpx.get(url + "/healthz", timeout=10).status_code == 200
