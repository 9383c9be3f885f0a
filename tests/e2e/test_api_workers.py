"""Issue 10: `provenance up --api-workers N` runs N API worker processes (granian's), each answering on the one port."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import RunningService


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def api_process(supervisor: int) -> int:
    [api] = [pid for pid in children(supervisor) if b"-m\0api" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return api


def test_up_runs_the_number_of_api_workers_asked_for(tmp_path: Path) -> None:
    service = RunningService(tmp_path / "var")
    service.start("--api-workers", "3")
    try:
        assert service.process is not None
        workers = children(api_process(service.process.pid))
        assert len(workers) == 3, workers  # granian's main process and its three workers
        assert "3 API workers" in service.log()
        for _ in range(20):  # new connections, spread over the workers by the kernel
            with httpx.Client() as client:
                assert client.get(f"{service.url}/healthz").status_code == 200
        assert all(Path(f"/proc/{pid}").exists() for pid in workers)  # every worker still serving
    finally:
        service.stop()
