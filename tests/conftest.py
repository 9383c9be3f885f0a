"""Shared fixtures: the fixture photos, free ports, and a real running service (`provenance up`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from scripts.loadgen import free_port
from tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
PDQ = FIXTURES / "pdq"
C2PA = FIXTURES / "c2pa"
PUBLISHER_NAME = "Daily Example"
PUBLISHER_DOMAIN = "example.org"


@pytest.fixture(scope="session")
def pdq_fixtures() -> Path:
    if not PDQ.is_dir():
        pytest.fail(f"fixture photos missing: expected {PDQ} (../shared/fixtures beside the checkout)")
    return PDQ


@pytest.fixture(scope="session")
def c2pa_fixtures() -> Path:
    """C2PA test images (c2pa-org/public-testfiles) and what the reference reader says of each (../README.md)."""
    if not (C2PA / "expected").is_dir():
        pytest.fail(f"C2PA fixtures missing: expected {C2PA} (../shared/fixtures beside the checkout)")
    return C2PA


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer(free_port())
    try:
        server.start()
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        pytest.fail(f"could not start PostgreSQL for the tests: {exc} {detail.decode(errors='replace')}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite (the default) and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    return request.getfixturevalue("postgres_server").create_database()


@dataclass
class RunningService:
    """`provenance up` in a subprocess with its own data directory and ports."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    chain_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)  # PROVENANCE_ settings a test passes on purpose

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
        env["PROVENANCE_DATA_DIR"] = str(self.data_dir)
        env.update(self.extra_env)
        return env

    def start(self, *extra: str, timeout: float = 60.0) -> None:
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-up.log"
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger.cli.main", "up", "--port", str(self.port), "--chain-port", str(self.chain_port), *extra],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"provenance up exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the service did not answer within {timeout} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ledger.cli.main", *args, "--data-dir", str(self.data_dir)],
            env=self.env, capture_output=True, text=True, timeout=120, cwd=ROOT,
        )  # fmt: skip

    def add_publisher(self, name: str = PUBLISHER_NAME, domain: str = PUBLISHER_DOMAIN) -> str:
        result = self.cli("publisher", "add", name, "--domain", domain)
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout.strip().splitlines()[-1]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@dataclass
class Published:
    service: RunningService
    api_key: str
    image: Path
    content_hash: str


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = RunningService(tmp_path_factory.mktemp("svc") / "var")
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def published(service: RunningService, pdq_fixtures: Path) -> Published:
    """One photo registered through the API and anchored (the indexer has mirrored it, the API's index holds it)."""
    api_key = service.add_publisher()
    image = pdq_fixtures / "reg-test-input" / "labelme-subset" / "q0746.jpg"
    response = httpx.post(
        f"{service.url}/v1/media",
        headers={"Authorization": f"Bearer {api_key}"},
        files={"file": (image.name, image.read_bytes(), "image/jpeg")},
        data={"caption": "Rain on a city street", "credit": "Jane Doe / Daily Example",
              "published_url": "https://example.org/news/1", "taken_at": "2026-11-01T10:00:00Z"},
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    content_hash = response.json()["content_hash"]

    def anchored() -> bool:
        status = httpx.get(f"{service.url}/v1/media/{content_hash}", headers={"Authorization": f"Bearer {api_key}"})
        return status.json()["status"] == "anchored"

    wait_for(anchored)
    # Verify by hash answers from the API's hot index, which takes a mirrored record at its next poll (0.5 s).
    wait_for(lambda: httpx.get(f"{service.url}/v1/verify/{content_hash}").json()["verdict"] == "original")
    return Published(service, api_key, image, content_hash)
