"""Retract: a publisher's retraction of its own registration, validated, durable in the outbox before the reply,
sent by the anchorer. The chain keeps the record and adds when and why."""

from __future__ import annotations

from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import RetractionRow  # the outbox row the caller is told about
from ledger.adapters.store.outbox import OutboxStatus
from ledger.core.records import RevocationReason, record_uid
from ledger.core.types import ZERO_HASH, parse_hash32
from ledger.errors import AlreadyRetracted, LedgerValueError, NotFound, PublisherHoldsKey
from ledger.usecases.context import Context
from ledger.usecases.register import check_known

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


def retract(ctx: Context, publisher: str, content_hash: str, reason_code: int, reason: str,
            successor: str | None = None) -> RetractionRow:  # fmt: skip
    """Queue the retraction of ``publisher``'s registration of ``content_hash``; ``successor``: the uid of the
    corrected image readers are pointed to."""
    uid = record_uid(publisher, parse_hash32(content_hash, "content hash"))
    return request_retraction(ctx.db, publisher, uid, reason_code, reason, successor)


def request_retraction(db: Database, publisher: str, uid: str, reason_code: int, reason: str,
                       successor: str | None = None) -> RetractionRow:  # fmt: skip
    code, text = parse_reason(reason_code, reason)
    follower = check_known(db, successor, "successor")
    if follower == uid:
        raise LedgerValueError("a retracted image cannot be its own successor")
    now = repo.utcnow()
    with db.write() as session:
        account = repo.account(session, publisher)
        if account is not None and account.keystore_file is None:
            raise PublisherHoldsKey("this publisher keeps its own key, and the contract takes no signed retraction: "
                                    f"send revoke({uid}, code, reason) on chain from the publisher's address or wallet")  # fmt: skip
        submission, record = repo.submission(session, uid), repo.record(session, uid)
        if (submission is None or submission.publisher != publisher) and (record is None or record.publisher != publisher):
            raise NotFound("this publisher has no registration of that image")
        if repo.retraction(session, uid) is not None or (record is not None and record.revoked_at):
            raise AlreadyRetracted("this registration is already retracted or being retracted")
        row = RetractionRow(uid=uid, publisher=publisher, reason_code=code, reason=text, status=OutboxStatus.PENDING,
                            attempts=0, created_at=now, updated_at=now,
                            successor=None if follower == ZERO_HASH else follower)  # fmt: skip
        session.add(row)
    return row
