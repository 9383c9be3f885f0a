"""The API alone in its own process (``tests.api.serve_app``), for tests that measure the process or need a real
HTTP server's framing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scripts.loadgen import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def api_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """(url, pid) of a fresh API process with the production defaults."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "tests.api.serve_app", str(tmp_path), str(port)], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the API did not start within 60 s")
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
