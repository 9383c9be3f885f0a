"""Real API processes (``python -m api``) for tests of several processes and hosts: each with its own data
directory (deployment record, keystore) and port, sharing a database given by URL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ledger.adapters.chain.deployment import Deployment
from scripts.loadgen import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ApiInstance:
    data_dir: Path
    database_url: str
    deployment: Deployment
    env: dict[str, str] = field(default_factory=dict)  # PROVENANCE_* and others for this instance
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "api.log"

    def start(self, timeout: float = 90.0) -> ApiInstance:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.deployment.save(self.data_dir / "deployment.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PROVENANCE_", "PROMETHEUS_"))}
        env.update(PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""), PROVENANCE_DATA_DIR=str(self.data_dir),
                   PROVENANCE_DATABASE_URL=self.database_url, PROVENANCE_PORT=str(self.port), **self.env)  # fmt: skip
        log = open(self.log_path, "wb")  # noqa: SIM115
        # Own session: stopping it reaches the server's worker processes too.
        self.process = subprocess.Popen([sys.executable, "-m", "api"], cwd=ROOT, env=env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the API did not start within {timeout} s: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()
