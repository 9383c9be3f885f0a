"""``provenance up``: chain node, deployment, migrations, then indexer, anchorer and API as supervised
child processes. Ctrl-C or SIGTERM stops the services first, then the node (which writes its state)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import connect
from ledger.adapters.chain.deployment import Deployment, ensure_deployment
from ledger.adapters.chain.node import AnvilNode
from ledger.config import Settings, ensure_password_file
from ledger.runtime.signals import stop_on_signals
from ledger.runtime.wiring import open_database
from ledger.usecases.backfill import backfill_local_features

log = logging.getLogger("ledger.up")

WORKERS = ("indexer", "anchorer", "api")
RESTART_WINDOW_SECONDS = 60
MAX_RESTARTS_IN_WINDOW = 5


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        # Own session: a terminal's Ctrl-C reaches only the supervisor, which then stops children in order.
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killing it", self.name, timeout)
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the API's worker processes too
            self.process.wait()


def worker_argv(name: str) -> list[str]:
    if name == "api":
        return [sys.executable, "-m", "api"]  # the web layer sits on top of ledger/, which never imports it
    return [sys.executable, "-m", "ledger.cli.main", "worker", name]


def child_env(settings: Settings, rpc_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PROVENANCE_DATA_DIR=str(settings.data_path),
        PROVENANCE_DATABASE_URL=settings.resolved_database_url(),
        PROVENANCE_RPC_URL=rpc_url,
        PROVENANCE_HOST=settings.host,
        PROVENANCE_PORT=str(settings.port),
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare(settings: Settings, redeploy: bool = False) -> tuple[AnvilNode | None, Deployment, str]:
    """Everything before the services: data dir, password file, schema, node, deployment."""
    settings.data_path.mkdir(parents=True, exist_ok=True)
    if settings.environment == "development":
        password_file = ensure_password_file(settings)
        if password_file:
            log.info("keystore password for local use: %s (set PROVENANCE_KEYSTORE_PASSWORD to use your own)", password_file)
    db = open_database(settings, migrate=True)
    added = backfill_local_features(db).added  # pictures registered before the wild path: from their reference copies
    if added:
        log.info("%d registered pictures gained local features (wild path)", added)
    log.info("database ready: %s", _redact(settings.resolved_database_url()))
    db.dispose()
    node = None
    if settings.rpc_url:
        rpc_url = settings.rpc_url
        log.info("using the chain at %s", rpc_url)
    else:
        node = AnvilNode(settings.chain_dir, settings.chain_port, settings.chain_state_interval)
        node.start()
        rpc_url = node.url
    try:
        w3 = connect(rpc_url)
        deployment = ensure_deployment(
            w3, settings.deployment_file, load_artifact(), settings.admin_key(w3.eth.chain_id), rpc_url,
            redeploy=redeploy, existing_contract=settings.contract,
        )  # fmt: skip
    except BaseException:
        if node:
            node.stop()
        raise
    return node, deployment, rpc_url


def up(settings: Settings, redeploy: bool = False) -> int:
    stop = threading.Event()
    received: list[int] = []
    stop_on_signals(stop, received)

    node, deployment, rpc_url = prepare(settings, redeploy)
    env = child_env(settings, rpc_url)
    children = [Child(name, worker_argv(name), env) for name in WORKERS]
    code = 0
    try:
        for child in children:
            child.start()
        log.info(
            "ready: reader page and API on http://%s:%d  (chain %d, contract %s, data in %s); Ctrl-C stops",
            settings.host, settings.port, deployment.chain_id, deployment.address, settings.data_path,
        )  # fmt: skip
        while not stop.wait(0.5):
            if node is not None and not node.alive():
                log.error("the chain node exited; restarting it from its saved state")
                node.start()
            for child in children:
                if child.process is not None and child.process.poll() is not None:
                    if not _restart(child):
                        code = 1
                        stop.set()
        if received:
            log.info("received %s; stopping", signal.Signals(received[0]).name)
    finally:
        for child in reversed(children):
            child.stop()
        if node is not None:
            node.stop()
    return code


def _restart(child: Child) -> bool:
    now = time.monotonic()
    child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW_SECONDS]
    returncode = child.process.returncode if child.process else None
    if len(child.restarts) >= MAX_RESTARTS_IN_WINDOW:
        log.error("%s exited (code %s) %d times within %d s; giving up", child.name, returncode,
                  MAX_RESTARTS_IN_WINDOW, RESTART_WINDOW_SECONDS)  # fmt: skip
        return False
    log.warning("%s exited with code %s; restarting", child.name, returncode)
    child.restarts.append(now)
    time.sleep(min(5.0, 0.5 * 2 ** len(child.restarts)))
    child.start()
    return True


def _redact(url: str) -> str:
    """Hide a password in a database URL before logging it."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
