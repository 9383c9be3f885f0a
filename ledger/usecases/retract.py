"""Accepting a publisher's retraction: validated, durable in the outbox before the reply, sent by the anchorer."""

from __future__ import annotations

from ledger.errors import AlreadyRetracted, LedgerValueError, NotFound
from ledger.core.records import RevocationReason
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import RetractionRow

MAX_REASON = 500


def parse_reason(code: int, text: str) -> tuple[int, str]:
    try:
        RevocationReason(code)
    except ValueError:
        known = ", ".join(f"{r.value} ({r.name.lower()})" for r in RevocationReason)
        raise LedgerValueError(f"reason_code must be one of {known}") from None
    reason = text.strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise LedgerValueError(f"reason must have 1 to {MAX_REASON} characters")
    return code, reason


def request_retraction(db: Database, publisher: str, uid: str, reason_code: int, reason: str) -> RetractionRow:
    code, text = parse_reason(reason_code, reason)
    now = repo.utcnow()
    with db.write() as session:
        submission, record = repo.submission(session, uid), repo.record(session, uid)
        if (submission is None or submission.publisher != publisher) and (record is None or record.publisher != publisher):
            raise NotFound("this publisher has no registration of that image")
        if session.get(RetractionRow, uid) is not None or (record is not None and record.revoked_at):
            raise AlreadyRetracted("this registration is already retracted or being retracted")
        row = RetractionRow(uid=uid, publisher=publisher, reason_code=code, reason=text, status=repo.PENDING,
                            attempts=0, created_at=now, updated_at=now)  # fmt: skip
        session.add(row)
    return row
