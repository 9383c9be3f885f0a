"""The anchorer: sends the outbox to the chain with each publisher's key until the indexer sees it.

Two modes (setting ``anchor_mode``):
- ``single``: one ``register`` transaction per image (a record per image on chain);
- ``batch``: per publisher, up to ``batch_max_items`` images become one Merkle tree whose root is anchored
  with ``anchorBatch`` once the batch is full or its oldest image has waited ``batch_max_seconds``. Each
  image keeps its leaf index and proof (the receipt), and the tree is served at the batch's URI.

Retractions requested by a publisher go out the same way (``revoke``, or ``revokeBatchItem`` with the item's
proof) once the registration is on chain.

Status moves pending -> sent (transaction accepted by the node) -> anchored (set by the indexer when the
event is mirrored). Nothing is dropped: a reverted or vanished transaction goes back to pending and is
retried with backoff; a registration or root already on chain just waits for the indexer. A suspended
publisher's work is held (status ``held``, the reason in ``last_error``) instead of retried, and released when the
mirror sees the publisher re-enabled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from itertools import groupby

from ledger.adapters.chain.client import RETRYABLE, RegistryClient, SentTx
from ledger.adapters.store import outbox
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import BatchRow, RetractionRow, SubmissionRow
from ledger.adapters.store.outbox import OutboxRow, OutboxStatus
from ledger.adapters.store.repository import as_utc, utcnow
from ledger.core.merkle import registration_tree
from ledger.core.records import Registration
from ledger.errors import ContractRevert, LedgerError

log = logging.getLogger("ledger.anchorer")

KeyLoader = Callable[[str], bytes]
MAX_BACKOFF_SECONDS = 300.0
ON_CHAIN_ALREADY = ("MediaRegistryAlreadyRegistered", "MediaRegistryBatchAlreadyAnchored", "MediaRegistryAlreadyRevoked")


def registration_of(row: SubmissionRow) -> Registration:
    return Registration(row.content_hash, row.pixel_hash, row.pdq_hash, row.manifest_hash, row.parent)


def describe(row: OutboxRow) -> str:
    if isinstance(row, BatchRow):
        return f"batch {row.root}"
    if isinstance(row, RetractionRow):
        return f"retraction of {row.uid}"
    return f"registration {row.uid}"


class Anchorer:
    def __init__(
        self,
        db: Database,
        client: RegistryClient,
        load_key: KeyLoader,
        resend_after: float = 60.0,
        mode: str = "single",
        batch_max_items: int = 256,
        batch_max_seconds: float = 5.0,
        base_url: str = "http://127.0.0.1:8000",
    ):
        self.db = db
        self.client = client
        self.load_key = load_key
        self.resend_after = resend_after
        self.mode = mode
        self.batch_max_items = batch_max_items
        self.batch_max_seconds = batch_max_seconds
        self.base_url = base_url.rstrip("/")

    def step(self) -> int:
        """Send what is due; returns how many transactions were sent."""
        held, released = outbox.hold_and_release(self.db)
        if held or released:
            log.info("suspended publishers: %d outbox rows held, %d released", held, released)
        if self.mode == "batch":
            self.form_batches()
        work = outbox.open_work(self.db)
        # In batch mode a waiting registration waits for its batch; sent ones are still checked.
        singles = [r for r in work.singles if self.mode == "single" or r.status == OutboxStatus.SENT]
        sent = 0
        for row in [*work.batches, *work.retractions, *singles]:
            if not self._is_due(row):
                continue
            if row.status == OutboxStatus.SENT:
                self._check(row)
            else:
                sent += self._send(row)
        return sent

    def _is_due(self, row: OutboxRow) -> bool:
        age = outbox.age_seconds(row)
        if row.status == OutboxStatus.SENT:
            return age >= self.resend_after
        return row.attempts == 0 or age >= min(MAX_BACKOFF_SECONDS, 2.0**row.attempts)

    # -- sending -------------------------------------------------------------------------------------------------
    def _send(self, row: OutboxRow) -> int:
        try:
            tx = self._transaction(row)
        except ContractRevert as exc:
            if exc.error_name in ON_CHAIN_ALREADY:
                outbox.mark_on_chain_already(self.db, row)
            elif exc.error_name == "MediaRegistryPublisherSuspended":
                outbox.mark_held(self.db, row)
                log.warning("%s held: its publisher is suspended on chain", describe(row))
            else:
                log.warning("%s refused by the contract: %s (will retry)", describe(row), exc.message)
                outbox.mark_refused(self.db, row, exc.message)
            return 0
        if tx is None:
            return 0
        outbox.mark_sent(self.db, row, tx.tx_hash)
        log.info("sent %s in tx %s", describe(row), tx.tx_hash)
        return 1

    def _transaction(self, row: OutboxRow) -> SentTx | None:
        """The transaction that puts ``row`` on chain (None: not yet possible)."""
        if isinstance(row, SubmissionRow):
            return self.client.register(self.load_key(row.publisher), registration_of(row))
        if isinstance(row, BatchRow):
            return self.client.anchor_batch(self.load_key(row.publisher), row.root, row.count, row.uri)
        record, proof = outbox.retraction_target(self.db, row.uid)
        if record is None:
            return None  # not on chain yet: it is retracted once its registration is mirrored
        signer = self.load_key(row.publisher)
        if record.batch_root:
            registration = Registration(record.content_hash, record.pixel_hash, record.pdq_hash, record.manifest_hash,
                                        record.parent)  # fmt: skip
            return self.client.revoke_batch_item(signer, record.batch_root, registration, record.publisher, proof,
                                                 row.reason_code, row.reason)  # fmt: skip
        return self.client.revoke(signer, row.uid, row.reason_code, row.reason)

    def _check(self, row: OutboxRow) -> None:
        """Sent long ago and not yet mirrored: is the transaction still there?"""
        receipt = self.client.receipt(row.tx_hash) if row.tx_hash else None
        problem = None
        if receipt is None:
            problem = "transaction not found on the chain"
        elif receipt.get("status") != 1:
            problem = "transaction reverted"
        if problem is None:
            outbox.mark_mined(self.db, row)
        else:
            outbox.mark_vanished(self.db, row, problem)
            log.warning("%s: %s; sending again", describe(row), problem)

    # -- Merkle batches ------------------------------------------------------------------------------------------
    def form_batches(self) -> int:
        """Group waiting registrations per publisher into trees; returns how many batches were formed."""
        formed = 0
        now = utcnow()
        for publisher, group in groupby(outbox.unbatched(self.db), key=lambda r: r.publisher):
            rows = list(group)
            oldest_wait = (now - as_utc(rows[0].created_at)).total_seconds()
            for start in range(0, len(rows), self.batch_max_items):
                chunk = rows[start : start + self.batch_max_items]
                if len(chunk) < self.batch_max_items and oldest_wait < self.batch_max_seconds:
                    break
                tree = registration_tree(publisher, [registration_of(r) for r in chunk])
                uri = f"{self.base_url}/v1/batches/{publisher}/{tree.root}"
                outbox.add_batch(self.db, publisher, tree.root, uri, tree.dump(),
                                 [(r.uid, tree.proof(i)) for i, r in enumerate(chunk)])  # fmt: skip
                log.info("batch %s of %d registrations formed for %s", tree.root, len(chunk), publisher)
                formed += 1
        return formed

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        log.info("anchorer sending registrations to %s (%s mode)", self.client.address, self.mode)
        backoff = poll_seconds
        while not stop.is_set():
            try:
                sent = self.step()
                backoff = poll_seconds
            except RETRYABLE as exc:
                log.warning("chain node unavailable (%s); retrying in %.1f s", str(exc).splitlines()[0][:200], backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            except LedgerError as exc:
                log.error("anchorer: %s", exc.message)
                sent = 0
            if not sent:
                stop.wait(poll_seconds)
