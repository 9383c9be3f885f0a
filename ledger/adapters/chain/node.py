"""The local chain node: anvil from npm, started by this project with its state under the data directory.

We run the real binary (not the ``node_modules/.bin/anvil`` node wrapper, which exits before the binary has
written its state) and track its PID in a file so a crashed supervisor's node is found and stopped.
"""

from __future__ import annotations

import logging
import os
import platform
import signal
import subprocess
import time
from pathlib import Path

import httpx

from ledger.errors import ChainError

log = logging.getLogger("ledger.node")

PROJECT_ROOT = Path(__file__).resolve().parents[3]
# anvil keeps this many recent states: enough for anvil_reorg/rollback in tests, bounded on disk.
PRUNE_HISTORY = 64


def anvil_binary(root: Path = PROJECT_ROOT) -> Path:
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), platform.system().lower())
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine()
    )
    binary = root / "node_modules" / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    if not binary.is_file():
        raise ChainError(f"anvil not found at {binary}: run `npm ci` in {root} (make run does it)")
    return binary


def rpc_ready(url: str, timeout: float = 0.5) -> bool:
    try:
        response = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=timeout
        )
        return response.status_code == 200 and "result" in response.json()
    except (httpx.HTTPError, ValueError):
        return False


class AnvilNode:
    """One anvil process: ``start`` waits until it answers, ``stop`` lets it write its state."""

    def __init__(self, state_dir: Path, port: int, state_interval: int = 5, extra_args: list[str] | None = None):
        self.state_dir = state_dir
        self.port = port
        self.state_interval = state_interval
        self.extra_args = extra_args or []
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "anvil.pid"

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    def command(self) -> list[str]:
        return [
            str(anvil_binary()),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--state", str(self.state_file),
            "--state-interval", str(self.state_interval),
            "--prune-history", str(PRUNE_HISTORY),
            *self.extra_args,
        ]  # fmt: skip

    def start(self, ready_timeout: float = 20.0) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        if rpc_ready(self.url):
            raise ChainError(
                f"port {self.port} already answers JSON-RPC: stop that node, or pass --chain-port, "
                "or use it with --rpc-url and --contract"
            )
        log_file = open(self.state_dir / "anvil.log", "ab")  # noqa: SIM115 - owned by the child
        # A session of its own: Ctrl-C in the terminal must not reach anvil before the services have stopped.
        self.process = subprocess.Popen(
            self.command(), stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        log_file.close()
        self.pid_file.write_text(str(self.process.pid))
        deadline = time.monotonic() + ready_timeout
        while not rpc_ready(self.url):
            if self.process.poll() is not None:
                raise ChainError(f"anvil exited with code {self.process.returncode}; see {self.state_dir / 'anvil.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise ChainError(f"anvil did not answer on {self.url} within {ready_timeout:.0f} s")
            time.sleep(0.05)
        log.info("chain node anvil (pid %d) listening on %s, state in %s", self.process.pid, self.url, self.state_file)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then wait: anvil writes its state on the way out. SIGKILL only if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("anvil did not stop within %.0f s; killing it (state up to %d s old)", timeout, self.state_interval)
                self.process.kill()
                self.process.wait()
        self.pid_file.unlink(missing_ok=True)
        log.info("chain node stopped; state saved in %s", self.state_file)
        self.process = None

    def _stop_stale(self) -> None:
        """A PID file left by a supervisor that was killed: stop that anvil if it is still ours."""
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            cmdline = []
        if cmdline and cmdline[0].endswith(b"anvil") and str(self.state_file).encode() in cmdline:
            log.warning("stopping a stale anvil (pid %d) left by an earlier run", pid)
            os.kill(pid, signal.SIGTERM)
            for _ in range(150):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
