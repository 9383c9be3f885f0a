"""``provenance up``: chain node, deployment, migrations, then indexer, anchorer and API as supervised
child processes. Ctrl-C or SIGTERM stops the services first, then the node (which writes its state).

The node is the local one named by ``--chain`` (anvil, hardhat, ganache), or none with ``--rpc-url``. The admin key
is used here (deploying) and never passed on: the children's environment has no ``PROVENANCE_ADMIN_*`` setting.
Everything this process and its children create is private to the user (umask 077)."""

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
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.chain.deployment import Deployment, ensure_deployment
from ledger.adapters.chain.node import LocalNode, local_node
from ledger.adapters.indexer import mirror
from ledger.adapters.keystore import ensure_password_file
from ledger.adapters.store import outbox
from ledger.config import Settings
from ledger.errors import ChainError
from ledger.runtime.signals import stop_on_signals
from ledger.runtime.wiring import open_database
from ledger.usecases.backfill import backfill_local_features
from ledger.usecases.publishers import admit_missing

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


def child_env(settings: Settings, rpc_url: str, deployment: Deployment) -> dict[str, str]:
    """The services' environment: the resolved settings they need, and no admin key (they never need it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_ADMIN_")}
    env.update(
        PROVENANCE_DATA_DIR=str(settings.data_path),
        PROVENANCE_DATABASE_URL=settings.resolved_database_url(),
        PROVENANCE_RPC_URL=rpc_url,
        PROVENANCE_HOST=settings.host,
        PROVENANCE_PORT=str(settings.port),
        PROVENANCE_API_WORKERS=str(settings.api_workers),
        PROVENANCE_CONFIRMATIONS=str(settings.resolved_confirmations(deployment.started_node)),
        PYTHONUNBUFFERED="1",
    )
    return env


# Secrets a child process gets only if it uses them: the admin key none (the supervisor deploys), the relayer key
# only the anchorer.
CHILD_SECRETS = {"PROVENANCE_ADMIN_PRIVATE_KEY": (), "PROVENANCE_RELAYER_PRIVATE_KEY": ("anchorer",)}


def env_for(name: str, env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in CHILD_SECRETS or name in CHILD_SECRETS[k]}


def prepare(
    settings: Settings, redeploy: bool = False, deploy: bool = False
) -> tuple[LocalNode | None, Deployment, str]:
    """Everything before the services: data dir, password file, schema, node, deployment."""
    os.umask(0o077)  # data-dir files (database, keystore, node state, logs) private to this user
    settings.data_path.mkdir(mode=0o700, parents=True, exist_ok=True)
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
    node: LocalNode | None = None
    if settings.rpc_url:
        rpc_url, target = settings.rpc_url, settings.evm_target
        log.info("using the chain at %s (%s build of the registry)", rpc_url, target)
    else:
        node = local_node(settings.chain, settings.chain_dir, settings.chain_port, settings.chain_state_interval)
        if not node.capabilities.persists_state:
            log.warning(
                "the %s node keeps its chain in memory only: everything registered is lost when it stops, and the "
                "next start will say so; use --chain anvil or --chain ganache to keep records across restarts",
                node.name,
            )
        node.start()
        rpc_url, target = node.url, node.capabilities.evm_target
    started = node is not None
    try:
        w3 = connect(rpc_url)
        # The admin key is read only when a contract may be deployed: adopting or reusing one needs none.
        admin_key = settings.admin_key(started) if (started or deploy) and not settings.contract else ""
        deployment = ensure_deployment(
            w3, settings.deployment_file, load_artifact(target=target), admin_key, rpc_url, redeploy=redeploy,
            existing_contract=settings.contract, local_node=node.name if node else None, evm_target=target,
            deploy=started or deploy,
        )  # fmt: skip
        if redeploy and not settings.contract:
            _start_over_on(deployment, settings, RegistryClient(w3, deployment.address, load_artifact()["abi"]),
                           admin_key, fund=started)  # fmt: skip
    except BaseException:
        if node:
            node.stop()
        raise
    return node, deployment, rpc_url


def _start_over_on(deployment: Deployment, settings: Settings, client: RegistryClient, admin_key: str, fund: bool) -> None:
    """A new contract replaces the recorded one: the mirror of the old one is emptied (its records are not on the
    new contract and must not be shown as if they were), this service's publishers are added to the new one, and
    the outbox sends again what was accepted (the anchorer finds the old transactions gone)."""
    db = open_database(settings)
    try:
        with db.write() as session:
            mirror.clear(session)
            resent = outbox.send_again_to_new_contract(session, "its contract was replaced by --redeploy")
        added = admit_missing(db, client, admin_key, fund)
    finally:
        db.dispose()
    log.warning(
        "new contract %s: the mirror of the previous one was emptied, %d publisher(s) added to the new one; "
        "%d registration(s), batch(es) and retraction(s) in the outbox are sent again",
        deployment.address, len(added), resent,
    )  # fmt: skip


@dataclass
class Admissions:
    """Keeps this service's publishers admitted on the local node it runs. Such a node restarted from its saved
    state (killed, or its state file cut short and restored from the last whole copy) has lost its last blocks, and
    with them possibly a publisher's admission and funding: every registration of that publisher would then revert
    ``NotPublisher`` for ever. Checked when the node started and after each restart, retried until it succeeds."""

    settings: Settings
    deployment: Deployment
    due_at: float | None = None
    failures: int = 0

    def check(self) -> None:
        """Add what the contract lacks now; an error is logged, not raised (the service runs on meanwhile)."""
        db = None
        try:
            db = open_database(self.settings)
            client = RegistryClient(connect(self.deployment.rpc_url), self.deployment.address, load_artifact()["abi"])
            admit_missing(db, client, self.settings.admin_key(True), fund=True)
        except Exception as exc:  # noqa: BLE001 - the node or the database may be failing; tried again later
            self.failures += 1
            self.due_at = time.monotonic() + min(NODE_RETRY_MAX_SECONDS, 2.0**self.failures)
            log.error("could not check that this service's publishers are on the contract (%s); trying again "
                      "shortly", exc)  # fmt: skip
        else:
            self.due_at, self.failures = None, 0
        finally:
            if db is not None:
                db.dispose()

    def after_restart(self) -> None:
        self.due_at = time.monotonic()

    def check_if_due(self) -> None:
        if self.due_at is not None and time.monotonic() >= self.due_at:
            self.check()


def up(settings: Settings, redeploy: bool = False, deploy: bool = False) -> int:
    stop = threading.Event()
    received: list[int] = []
    stop_on_signals(stop, received)

    node, deployment, rpc_url = prepare(settings, redeploy, deploy)
    env = child_env(settings, rpc_url, deployment)
    children = [Child(name, worker_argv(name), env_for(name, env)) for name in WORKERS]
    admissions = Admissions(settings, deployment) if node is not None and not settings.contract else None
    code = 0
    node_retry_at, node_failures = 0.0, 0  # when to try the node again after it could not be restarted
    try:
        if admissions is not None and not redeploy:  # (a redeployment admitted them on the new contract)
            # Before the workers start, by the Admissions the loop below keeps: a first check that fails is retried
            # there, as after a node restart (one made in prepare() and dropped was not retried until a restart).
            admissions.check()
        for child in children:
            child.start()
        log.info(
            "ready: reader page and API on http://%s:%d  (%d API workers; chain %d, contract %s, data in %s); Ctrl-C stops",
            settings.host, settings.port, settings.api_workers, deployment.chain_id, deployment.address, settings.data_path,
        )  # fmt: skip
        while not stop.wait(0.5):
            if node is not None and not node.alive():
                if not node.capabilities.persists_state:
                    log.error("the %s node exited and its chain went with it (it keeps no state); stopping. "
                              "Start again with --redeploy for a new, empty ledger", node.name)  # fmt: skip
                    code = 1
                    break
                if time.monotonic() >= node_retry_at:
                    if _restart_node(node):
                        node_failures = 0
                        if admissions is not None:
                            admissions.after_restart()
                    else:  # a doubling wait between tries
                        node_failures += 1
                        node_retry_at = time.monotonic() + min(NODE_RETRY_MAX_SECONDS, 2.0**node_failures)
            if node is not None:
                node.keep_state()
            if admissions is not None:
                admissions.check_if_due()
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


NODE_RETRY_MAX_SECONDS = 30.0


def _restart_node(node: LocalNode) -> bool:
    """Start the node again from its saved state; False if it could not be. Such a node (its data directory turned
    read-only under it, its state unreadable) is tried again later rather than ending ``provenance up``: the API
    still answers readers from the mirror meanwhile, and the indexer and anchorer wait for the node as for any
    failing RPC."""
    log.error("the chain node exited; restarting it from its saved state")
    try:
        node.start()
    except (ChainError, OSError) as exc:
        log.error("the chain node could not be restarted (%s); trying again shortly", exc)
        return False
    return True


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
