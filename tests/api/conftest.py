"""The API alone in its own process (``tests.api.serve_app``), for tests that measure the process or need a real
HTTP server's framing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from scripts.loadgen import free_port

ROOT = Path(__file__).resolve().parents[2]


def serving_pid(pid: int) -> int:
    """The process that runs the app: uvicorn's own, or granian's worker (its only child)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = children.read_text().split() if children.exists() else []
    return int(found[0]) if found else pid


@contextmanager
def running_api(data_dir: Path, server: str, **environment: str) -> Iterator[tuple[str, int]]:
    """(url, pid of the process running the app) of a fresh API on ``data_dir`` with the production defaults, or
    the ``PROVENANCE_*`` settings given in ``environment``."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PROVENANCE_API_SERVER"] = server
    env.update(environment)
    log = open(data_dir / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([sys.executable, "-m", "tests.api.serve_app", str(data_dir), str(port)], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (data_dir / "server.log").read_text()
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("the API did not start within 60 s")
        yield url, serving_pid(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(params=["granian", "uvicorn"])
def api_server(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """(url, pid of the process running the app) of a fresh API with the production defaults, behind granian (what
    ``python -m api`` runs) and uvicorn (its alternative)."""
    with running_api(tmp_path, request.param) as running:
        yield running
