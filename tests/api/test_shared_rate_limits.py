"""Rate limits shared by API processes on several hosts: with ``rate_limit_storage = "redis://..."`` two app
instances (two processes or hosts) count one client's requests together, against a real Redis server (Debian's
redis-server, started here on a loopback port without persistence). With the default in-memory storage each
instance counts alone, which is what the shared storage is for."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_hostile_requests import drive, make_client
from tests.contracts.helpers import free_port


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        raise RuntimeError("redis-server is not installed: `make test` installs Debian's redis-server package")
    port = free_port()
    directory = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def two_instances_statuses(tmp_path: Path, storage: str, requests: int) -> list[int]:
    """One client's GET /v1/chain, alternating between two app instances with their own databases."""
    statuses = []
    settings = {"rate_limit_public": "4/minute", "rate_limit_storage": storage}
    for first in make_client(tmp_path / "a", **settings):
        for second in make_client(tmp_path / "b", **settings):
            for i in range(requests):
                statuses.append(drive(first if i % 2 == 0 else second, "GET", "/v1/chain", None, peer="198.51.100.7").status)
    return statuses


def test_a_shared_redis_storage_counts_a_client_once_across_instances(tmp_path: Path, redis_url: str) -> None:
    assert two_instances_statuses(tmp_path / "shared", redis_url, 6) == [200] * 4 + [429] * 2


def test_in_memory_storage_counts_in_each_instance_alone(tmp_path: Path) -> None:
    assert two_instances_statuses(tmp_path / "memory", "memory://", 8) == [200] * 8
