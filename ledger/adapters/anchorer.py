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
retried with backoff; a registration or root already on chain just waits for the indexer.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from itertools import groupby

from sqlalchemy import select, update
from web3.exceptions import Web3Exception

from ledger.adapters.chain.client import RegistryClient, SentTx
from ledger.errors import ChainError, ContractRevert, LedgerError
from ledger.core.merkle import registration_tree
from ledger.core.records import Registration
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import BatchRow, RetractionRow, SubmissionRow

log = logging.getLogger("ledger.adapters.anchorer")

KeyLoader = Callable[[str], bytes]
MAX_BACKOFF_SECONDS = 300.0
ON_CHAIN_ALREADY = ("MediaRegistryAlreadyRegistered", "MediaRegistryBatchAlreadyAnchored", "MediaRegistryAlreadyRevoked")


def registration_of(row: SubmissionRow) -> Registration:
    return Registration(row.content_hash, row.pixel_hash, row.pdq_hash, row.manifest_hash, row.parent)


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
        if self.mode == "batch":
            self.form_batches()
        sent = 0
        with self.db.read() as session:
            singles = [row for row in repo.due_submissions(session) if self._is_due(row.status, row.attempts, row.updated_at)]
            batches = list(session.scalars(select(BatchRow).where(BatchRow.status.in_((repo.PENDING, repo.SENT)))))
            retractions = list(session.scalars(select(RetractionRow).where(RetractionRow.status.in_((repo.PENDING, repo.SENT)))))
        for batch in batches:
            if self._is_due(batch.status, batch.attempts, batch.updated_at):
                sent += self._check_batch(batch) if batch.status == repo.SENT else self._send_batch(batch)
        for retraction in retractions:
            if self._is_due(retraction.status, retraction.attempts, retraction.updated_at):
                sent += self._check_retraction(retraction) if retraction.status == repo.SENT else self._send_retraction(retraction)
        for row in singles:
            if row.status == repo.SENT:
                sent += self._check_sent(row)
            elif self.mode == "single":  # in batch mode a waiting registration waits for its batch
                sent += self._send(row)
        return sent

    def _is_due(self, status: str, attempts: int, updated_at) -> bool:  # type: ignore[no-untyped-def]
        age = (repo.utcnow() - repo.as_utc(updated_at)).total_seconds()
        if status == repo.SENT:
            return age >= self.resend_after
        return attempts == 0 or age >= min(MAX_BACKOFF_SECONDS, 2.0**attempts)

    # -- single records ------------------------------------------------------------------------------------
    def _send(self, row: SubmissionRow) -> int:
        try:
            tx = self.client.register(self.load_key(row.publisher), registration_of(row))
        except ContractRevert as exc:
            self._refused(SubmissionRow, {"uid": row.uid}, row.attempts, exc, what=f"registration {row.uid}")
            return 0
        self._update(SubmissionRow, {"uid": row.uid}, status=repo.SENT, tx_hash=tx.tx_hash, attempts=row.attempts + 1,
                     last_error=None)  # fmt: skip
        log.info("sent registration %s in tx %s", row.uid, tx.tx_hash)
        return 1

    def _check_sent(self, row: SubmissionRow) -> int:
        """Sent long ago and not yet mirrored: is the transaction still there?"""
        problem = self._problem_with(row.tx_hash)
        if problem is None:
            self._update(SubmissionRow, {"uid": row.uid})  # mined; the indexer is behind or confirming
        else:
            self._update(SubmissionRow, {"uid": row.uid}, status=repo.PENDING, tx_hash=None, last_error=problem)
            log.warning("registration %s: %s; sending again", row.uid, problem)
        return 0

    # -- Merkle batches ------------------------------------------------------------------------------------
    def form_batches(self) -> int:
        """Group waiting registrations per publisher into trees; returns how many batches were formed."""
        with self.db.read() as session:
            waiting = session.scalars(
                select(SubmissionRow)
                .where(SubmissionRow.status == repo.PENDING, SubmissionRow.batch_root.is_(None))
                .order_by(SubmissionRow.publisher, SubmissionRow.created_at)
            ).all()
        formed = 0
        now = repo.utcnow()
        for publisher, group in groupby(waiting, key=lambda r: r.publisher):
            rows = list(group)
            oldest_wait = (now - repo.as_utc(rows[0].created_at)).total_seconds()
            for start in range(0, len(rows), self.batch_max_items):
                chunk = rows[start : start + self.batch_max_items]
                if len(chunk) < self.batch_max_items and oldest_wait < self.batch_max_seconds:
                    break
                self._store_batch(publisher, chunk)
                formed += 1
        return formed

    def _store_batch(self, publisher: str, rows: list[SubmissionRow]) -> None:
        tree = registration_tree(publisher, [registration_of(r) for r in rows])
        uri = f"{self.base_url}/v1/batches/{publisher}/{tree.root}"
        now = repo.utcnow()
        with self.db.write() as session:
            session.add(BatchRow(publisher=publisher, root=tree.root, count=len(rows), uri=uri,
                                 tree=json.dumps(tree.dump()), status=repo.PENDING, attempts=0,
                                 created_at=now, updated_at=now))  # fmt: skip
            for index, row in enumerate(rows):
                session.execute(
                    update(SubmissionRow)
                    .where(SubmissionRow.uid == row.uid)
                    .values(batch_root=tree.root, leaf_index=index, proof=json.dumps(tree.proof(index)), updated_at=now)
                )
        log.info("batch %s of %d registrations formed for %s", tree.root, len(rows), publisher)

    def _send_batch(self, batch: BatchRow) -> int:
        key = {"publisher": batch.publisher, "root": batch.root}
        try:
            tx = self.client.anchor_batch(self.load_key(batch.publisher), batch.root, batch.count, batch.uri)
        except ContractRevert as exc:
            self._refused(BatchRow, key, batch.attempts, exc, what=f"batch {batch.root}")
            return 0
        self._update(BatchRow, key, status=repo.SENT, tx_hash=tx.tx_hash, attempts=batch.attempts + 1, last_error=None)
        self._mark_items(batch, tx)
        log.info("anchored batch %s (%d registrations) in tx %s", batch.root, batch.count, tx.tx_hash)
        return 1

    def _check_batch(self, batch: BatchRow) -> int:
        key = {"publisher": batch.publisher, "root": batch.root}
        problem = self._problem_with(batch.tx_hash)
        if problem is None:
            self._update(BatchRow, key)
        else:
            self._update(BatchRow, key, status=repo.PENDING, tx_hash=None, last_error=problem)
            log.warning("batch %s: %s; anchoring again", batch.root, problem)
        return 0

    def _mark_items(self, batch: BatchRow, tx: SentTx) -> None:
        with self.db.write() as session:
            session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.batch_root == batch.root, SubmissionRow.publisher == batch.publisher,
                       SubmissionRow.status != repo.ANCHORED)
                .values(status=repo.SENT, tx_hash=tx.tx_hash, updated_at=repo.utcnow())
            )  # fmt: skip

    # -- retractions -----------------------------------------------------------------------------------------
    def _send_retraction(self, retraction: RetractionRow) -> int:
        with self.db.read() as session:
            record = repo.record(session, retraction.uid)
            submission = repo.submission(session, retraction.uid)
        if record is None:
            return 0  # not on chain yet: it is retracted once its registration is mirrored
        key = {"uid": retraction.uid}
        signer = self.load_key(retraction.publisher)
        try:
            if record.batch_root:
                proof = json.loads(submission.proof) if submission and submission.proof else []
                registration = Registration(record.content_hash, record.pixel_hash, record.pdq_hash, record.manifest_hash, record.parent)
                tx = self.client.revoke_batch_item(signer, record.batch_root, registration, record.publisher, proof,
                                                   retraction.reason_code, retraction.reason)  # fmt: skip
            else:
                tx = self.client.revoke(signer, retraction.uid, retraction.reason_code, retraction.reason)
        except ContractRevert as exc:
            self._refused(RetractionRow, key, retraction.attempts, exc, what=f"retraction of {retraction.uid}")
            return 0
        self._update(RetractionRow, key, status=repo.SENT, tx_hash=tx.tx_hash, attempts=retraction.attempts + 1,
                     last_error=None)  # fmt: skip
        log.info("sent retraction of %s in tx %s", retraction.uid, tx.tx_hash)
        return 1

    def _check_retraction(self, retraction: RetractionRow) -> int:
        problem = self._problem_with(retraction.tx_hash)
        if problem is None:
            self._update(RetractionRow, {"uid": retraction.uid})
        else:
            self._update(RetractionRow, {"uid": retraction.uid}, status=repo.PENDING, tx_hash=None, last_error=problem)
            log.warning("retraction of %s: %s; sending again", retraction.uid, problem)
        return 0

    # -- shared ----------------------------------------------------------------------------------------------
    def _problem_with(self, tx_hash: str | None) -> str | None:
        """None if the transaction was mined successfully, else why it must be sent again."""
        receipt = self.client.receipt(tx_hash) if tx_hash else None
        if receipt is None:
            return "transaction not found on the chain"
        return None if receipt.get("status") == 1 else "transaction reverted"

    def _refused(self, model: type, key: dict[str, str], attempts: int, exc: ContractRevert, what: str) -> None:
        if exc.error_name in ON_CHAIN_ALREADY:
            # Sent before a crash, or by another relayer: it is on chain; the indexer will mark it.
            self._update(model, key, status=repo.SENT, last_error=None)
            return
        log.warning("%s refused by the contract: %s (will retry)", what, exc.message)
        self._update(model, key, attempts=attempts + 1, last_error=exc.message)

    def _update(self, model: type, key: dict[str, str], **values: object) -> None:
        with self.db.write() as session:
            row = session.get(model, tuple(key.values()) if len(key) > 1 else next(iter(key.values())))
            if row is None or row.status == repo.ANCHORED:
                return  # the indexer got there first
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = repo.utcnow()

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        log.info("anchorer sending registrations to %s (%s mode)", self.client.address, self.mode)
        backoff = poll_seconds
        while not stop.is_set():
            try:
                sent = self.step()
                backoff = poll_seconds
            except (OSError, TimeoutError, Web3Exception, ChainError) as exc:
                log.warning("chain node unavailable (%s); retrying in %.1f s", str(exc).splitlines()[0][:200], backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            except LedgerError as exc:
                log.error("anchorer: %s", exc.message)
                sent = 0
            if not sent:
                stop.wait(poll_seconds)
