"""The long-running parts, each runnable as its own process: indexer, anchorer, API.

``provenance up`` starts each with ``provenance worker NAME`` and the settings in the environment.
A worker stops on SIGTERM/SIGINT, and on its own when its parent (the supervisor) disappears.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable

from ledger.chain.artifact import load_artifact
from ledger.chain.client import RegistryClient, connect
from ledger.chain.deployment import Deployment
from ledger.config import Settings
from ledger.errors import ConfigError
from ledger.keystore import KeyRing
from ledger.signals import stop_on_signals
from ledger.store.db import Database
from ledger.store.models import PublisherAccountRow

log = logging.getLogger("ledger.worker")


def _rpc_url(settings: Settings, deployment: Deployment) -> str:
    return settings.rpc_url or deployment.rpc_url


def _watch_parent(on_orphaned: threading.Event | None) -> None:
    """If the supervisor dies (even by SIGKILL) we are re-parented: stop instead of running on alone."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        log.warning("supervisor %d is gone; stopping", parent)
        if on_orphaned is not None:
            on_orphaned.set()
        else:
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _stop_event() -> threading.Event:
    stop = threading.Event()
    stop_on_signals(stop)
    return stop


def run_indexer(settings: Settings) -> None:
    from ledger.indexer.scanner import Indexer

    stop = _stop_event()
    _watch_parent(stop)
    deployment = Deployment.load(settings.deployment_file)
    db = Database(settings.resolved_database_url())
    indexer = Indexer(
        db, connect(_rpc_url(settings, deployment)), deployment, load_artifact()["abi"],
        confirmations=settings.confirmations, max_range=settings.indexer_max_range,
    )  # fmt: skip
    indexer.run(stop, settings.indexer_poll_seconds)
    db.dispose()
    log.info("indexer stopped")


def run_anchorer(settings: Settings) -> None:
    from ledger.anchorer import Anchorer

    stop = _stop_event()
    _watch_parent(stop)
    deployment = Deployment.load(settings.deployment_file)
    db = Database(settings.resolved_database_url())
    client = RegistryClient(connect(_rpc_url(settings, deployment)), deployment.address, load_artifact()["abi"])
    anchorer = Anchorer(
        db, client, key_loader(settings, db), settings.resend_after_seconds, mode=settings.anchor_mode,
        batch_max_items=settings.batch_max_items, batch_max_seconds=settings.batch_max_seconds, base_url=settings.base_url,
    )  # fmt: skip
    anchorer.run(stop, settings.anchorer_poll_seconds)
    db.dispose()
    log.info("anchorer stopped")


def key_loader(settings: Settings, db: Database) -> Callable[[str], bytes]:
    """Publisher keys by address, from the keystore file this service holds for each."""
    ring = KeyRing(settings.keystore_dir, settings.resolved_password)

    def load(address: str) -> bytes:
        key = ring.cached(address)
        if key is not None:
            return key  # no database read per transaction once the key is known
        with db.read() as session:
            account = session.get(PublisherAccountRow, address)
        if account is None:
            raise ConfigError(f"no keystore for publisher {address} in this service")
        return ring.get(address, account.keystore_file)

    return load


def run_api(settings: Settings) -> None:
    import uvicorn

    from api.app import create_app

    _watch_parent(None)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)
