"""The anchorer: sends each outbox row to the chain with its publisher's key until the indexer sees it.

Status moves pending -> sent (transaction accepted by the node) -> anchored (set by the indexer when the
Registered event is mirrored). A row is never dropped: a reverted or vanished transaction goes back to
pending and is retried with backoff; a registration that is already on chain just waits for the indexer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from web3.exceptions import Web3Exception

from ledger.chain.client import RegistryClient
from ledger.errors import ChainError, ContractRevert, LedgerError
from ledger.records import Registration
from ledger.store import repository as repo
from ledger.store.db import Database
from ledger.store.models import SubmissionRow

log = logging.getLogger("ledger.anchorer")

KeyLoader = Callable[[str], bytes]
MAX_BACKOFF_SECONDS = 300.0


class Anchorer:
    def __init__(self, db: Database, client: RegistryClient, load_key: KeyLoader, resend_after: float = 60.0):
        self.db = db
        self.client = client
        self.load_key = load_key
        self.resend_after = resend_after

    def step(self) -> int:
        """Send what is due; returns how many transactions were sent."""
        with self.db.read() as session:
            due = [row for row in repo.due_submissions(session) if self._is_due(row)]
        sent = 0
        for row in due:
            if row.status == repo.SENT:
                self._check_sent(row)
            else:
                sent += self._send(row)
        return sent

    def _is_due(self, row: SubmissionRow) -> bool:
        age = (repo.utcnow() - repo.as_utc(row.updated_at)).total_seconds()
        if row.status == repo.SENT:
            return age >= self.resend_after
        return row.attempts == 0 or age >= min(MAX_BACKOFF_SECONDS, 2.0**row.attempts)

    def _send(self, row: SubmissionRow) -> int:
        registration = Registration(row.content_hash, row.pixel_hash, row.pdq_hash, row.manifest_hash, row.parent)
        try:
            tx = self.client.register(self.load_key(row.publisher), registration)
        except ContractRevert as exc:
            if exc.error_name == "MediaRegistryAlreadyRegistered":
                # Sent before a crash, or by another relayer: it is on chain; the indexer will mark it.
                self._update(row.uid, status=repo.SENT, last_error=None)
                return 0
            log.warning("registration %s refused by the contract: %s (will retry)", row.uid, exc.message)
            self._update(row.uid, attempts=row.attempts + 1, last_error=exc.message)
            return 0
        self._update(row.uid, status=repo.SENT, tx_hash=tx.tx_hash, attempts=row.attempts + 1, last_error=None)
        log.info("sent registration %s in tx %s", row.uid, tx.tx_hash)
        return 1

    def _check_sent(self, row: SubmissionRow) -> None:
        """A row sent long ago and not yet mirrored: find out whether its transaction still exists."""
        receipt = self.client.receipt(row.tx_hash) if row.tx_hash else None
        if receipt is not None and receipt.get("status") == 1:
            self._update(row.uid)  # mined; the indexer is behind or confirming. Look again later.
            return
        reason = "transaction reverted" if receipt else "transaction not found on the chain"
        log.warning("registration %s: %s; sending again", row.uid, reason)
        self._update(row.uid, status=repo.PENDING, tx_hash=None, last_error=reason)

    def _update(self, uid: str, **values: object) -> None:
        with self.db.write() as session:
            row = repo.submission(session, uid)
            if row is None or row.status == repo.ANCHORED:
                return  # the indexer got there first
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = repo.utcnow()

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        log.info("anchorer sending registrations to %s", self.client.address)
        backoff = poll_seconds
        while not stop.is_set():
            try:
                sent = self.step()
                backoff = poll_seconds
            except (OSError, TimeoutError, Web3Exception, ChainError) as exc:
                log.warning("chain node unavailable (%s); retrying in %.1f s", exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            except LedgerError as exc:
                log.error("anchorer: %s", exc.message)
                sent = 0
            if not sent:
                stop.wait(poll_seconds)
