"""Retract: a publisher's retraction of its own registration, validated, durable in the outbox before the reply,
sent by the anchorer. The chain keeps the record and adds when and why.

A service-held publisher asks (``retract``); a newsroom that holds its key signs an EIP-712 ``Revocation``
(``provenance retract``) and sends it (``retract_signed``): checked here as a signed registration is
(publisher, chain and contract, deadline, signature by key or ERC-1271 wallet, nonce), and relayed by the anchorer
with ``revokeBySig``. Either way the retraction on chain is the publisher's own (``revokedBy`` is its address)."""

from __future__ import annotations

from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import RetractionRow  # the outbox row the caller is told about
from ledger.adapters.store.outbox import OutboxStatus
from ledger.core.eip712 import revocation_digest
from ledger.core.records import RevocationReason, record_uid
from ledger.core.signed import SignedRetraction, parse_retraction
from ledger.core.types import ZERO_HASH, parse_hash32
from ledger.errors import (
    AlreadyRetracted,
    InvalidSignature,
    LedgerValueError,
    NonceInUse,
    NotFound,
    NotRecordPublisher,
    PublisherHoldsKey,
    UnknownRecord,
)
from ledger.usecases.context import Context
from ledger.usecases.register import check_known
from ledger.usecases.signed import check_envelope, check_nonce_unused

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
            raise PublisherHoldsKey("this publisher keeps its own key, so the service cannot sign its retraction: "
                                    f"sign it with `provenance retract {uid}` and send it to POST "
                                    "/v1/retractions")  # fmt: skip
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


def retract_signed(ctx: Context, publisher: str, document: object) -> RetractionRow:
    """Queue a retraction the publisher signed itself; the anchorer relays it with ``revokeBySig`` as signed."""
    signed = parse_retraction(document)
    check_envelope(ctx, signed, publisher)
    code, text = parse_reason(signed.reason_code, signed.reason)
    if text != signed.reason:
        raise LedgerValueError("reason must not begin or end with spaces (it is signed as it is)")
    _check_retraction_signature(ctx, signed)
    check_nonce_unused(ctx, signed, "retraction")
    follower = check_known(ctx.db, signed.successor, "successor")
    if follower == signed.uid:
        raise LedgerValueError("a retracted image cannot be its own successor")
    now = repo.utcnow()
    with ctx.db.write() as session:
        submission, record = repo.submission(session, signed.uid), repo.record(session, signed.uid)
        owner = record.publisher if record is not None else submission.publisher if submission is not None else None
        if owner is None:
            raise UnknownRecord(f"no registration {signed.uid} is on chain or queued here")
        if owner.lower() != publisher.lower():
            raise NotRecordPublisher(f"the registration {signed.uid} is another publisher's: a publisher retracts "
                                     "only its own")  # fmt: skip
        if record is not None and record.batch_root:
            raise LedgerValueError("a Merkle batch item is retracted with revokeBatchItem and its proof, which takes "
                                   "no signature: send it from the publisher's account")  # fmt: skip
        existing = repo.retraction(session, signed.uid)
        if (existing is not None and existing.status != OutboxStatus.REFUSED) or (record is not None and record.revoked_at):
            raise AlreadyRetracted("this registration is already retracted or being retracted")
        if repo.open_signature_with_nonce(session, publisher, signed.nonce) is not None:
            raise NonceInUse(f"another queued registration or retraction of this publisher carries nonce {signed.nonce}")
        if existing is not None:  # signed again after a refusal: the new signature replaces the refused one
            session.delete(existing)
            session.flush()
        row = RetractionRow(uid=signed.uid, publisher=publisher, reason_code=code, reason=text,
                            status=OutboxStatus.PENDING, attempts=0, created_at=now, updated_at=now,
                            successor=None if follower == ZERO_HASH else follower, nonce=signed.nonce,
                            deadline=signed.deadline, signature=signed.signature)  # fmt: skip
        session.add(row)
    return row


def _check_retraction_signature(ctx: Context, signed: SignedRetraction) -> None:
    if signed.recovered_signer() == signed.publisher:
        return
    if ctx.contract_signature is not None:  # maybe a contract wallet: ask it (ERC-1271)
        digest = revocation_digest(signed.domain, signed.uid, signed.reason_code, signed.reason, signed.publisher,
                                   signed.nonce, signed.deadline)  # fmt: skip
        if ctx.contract_signature(signed.publisher, digest, signed.signature):
            return
    raise InvalidSignature("the signature is not the publisher's (neither its key's nor, for a contract wallet, "
                           "accepted by its isValidSignature)")  # fmt: skip
