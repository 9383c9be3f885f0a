"""The long-running parts, each runnable as its own process: indexer and anchorer (the API is ``python -m api``).

``provenance up`` starts each with ``provenance worker NAME`` and the settings in the environment.
A worker stops on SIGTERM/SIGINT, and on its own when its parent (the supervisor) disappears.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from ledger.config import Settings
from ledger.runtime.signals import stop_on_signals
from ledger.runtime.wiring import open_ledger

log = logging.getLogger("ledger.worker")


def watch_parent(on_orphaned: threading.Event | None) -> None:
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
    watch_parent(stop)
    return stop


def run_indexer(settings: Settings) -> None:
    from ledger.adapters.indexer.scanner import Indexer

    stop = _stop_event()
    ledger = open_ledger(settings)
    indexer = Indexer(
        ledger.db, ledger.registry().w3, ledger.deployment, ledger.abi,
        confirmations=settings.resolved_confirmations(ledger.deployment.started_node),
        max_range=settings.indexer_max_range,
    )  # fmt: skip
    indexer.run(stop, settings.indexer_poll_seconds)
    ledger.close()
    log.info("indexer stopped")


def run_anchorer(settings: Settings) -> None:
    from ledger.adapters.anchorer import Anchorer

    stop = _stop_event()
    ledger = open_ledger(settings)
    anchorer = Anchorer(
        ledger.db, ledger.registry(), ledger.keys, settings.resend_after_seconds, mode=settings.anchor_mode,
        batch_max_items=settings.batch_max_items, batch_max_seconds=settings.batch_max_seconds, base_url=settings.base_url,
        relayer_key=settings.relayer_key(ledger.deployment.started_node),
        signature_validity_seconds=settings.signature_validity_seconds,
        vanished_check_seconds=settings.vanished_check_seconds,
    )  # fmt: skip
    anchorer.run(stop, settings.anchorer_poll_seconds)
    ledger.close()
    log.info("anchorer stopped")


RUNNERS = {"indexer": run_indexer, "anchorer": run_anchorer}
