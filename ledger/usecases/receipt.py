"""A publisher's receipt for one registration: what was signed, and where the chain anchors it.

Everything an auditor needs to check it without us (``provenance audit receipt``): the registration fields,
the EIP-712 signature with nonce and deadline, and either the record's transaction or the Merkle batch root
with the item's proof and the publisher's signature of the root (``BatchAnchor``), which is what the relayer sent
with ``anchorBatchBySig``; the registration's own signature of a batched image is never sent.
"""

from __future__ import annotations

import json
from typing import Any

from ledger.adapters.store import repository as repo
from ledger.adapters.store.outbox import OutboxStatus
from ledger.core.records import record_uid
from ledger.core.types import parse_hash32
from ledger.errors import LedgerValueError, NotFound
from ledger.usecases.context import Context


def receipt(ctx: Context, publisher: str, content_hash: str) -> dict[str, Any]:
    """``publisher``'s receipt for its registration of ``content_hash``."""
    content_hash = parse_hash32(content_hash, "content hash")
    uid = record_uid(publisher, content_hash)
    with ctx.db.read() as session:
        found = build_receipt(session, uid, ctx.chain_id, ctx.contract)
    if found is None:
        raise NotFound(f"this publisher has no registration of {content_hash}")
    return found


MAX_RECEIPTS = 200  # one lookup request: 200 hashes are ~14 KB of JSON, within the API's JSON body limit


def receipts(ctx: Context, publisher: str, content_hashes: list[str]) -> list[dict[str, Any] | None]:
    """``publisher``'s receipts for several images at once (None where it registered none), in one read: how
    ``provenance register`` skips what is already registered without one request per file."""
    if len(content_hashes) > MAX_RECEIPTS:
        raise LedgerValueError(f"at most {MAX_RECEIPTS} hashes a request; {len(content_hashes)} were sent")
    hashes = [parse_hash32(h, "content hash") for h in content_hashes]
    with ctx.db.read() as session:
        return [build_receipt(session, record_uid(publisher, h), ctx.chain_id, ctx.contract) for h in hashes]


def build_receipt(session: Any, uid: str, chain_id: int, contract: str) -> dict[str, Any] | None:
    submission = repo.submission(session, uid)
    record = repo.record(session, uid)
    if submission is None and record is None:
        return None
    source: Any = submission or record
    receipt: dict[str, Any] = {
        "uid": uid,
        "content_hash": source.content_hash,
        "publisher": source.publisher,
        "status": OutboxStatus.ANCHORED if record is not None else submission.status,  # type: ignore[union-attr]
        "pixel_hash": source.pixel_hash,
        "pdq_hash": source.pdq_hash,
        "manifest_hash": source.manifest_hash,
        "parent": source.parent,
        "chain_id": chain_id,
        "contract": contract,
        "nonce": submission.nonce if submission else None,
        "deadline": submission.deadline if submission else None,
        "signature": submission.signature if submission else None,
        "sent_tx_hash": submission.tx_hash if submission else None,
        "last_error": submission.last_error if submission else None,
        "batch_root": source.batch_root,
        "leaf_index": source.leaf_index,
        "proof": json.loads(submission.proof) if submission and submission.proof else None,
        "batch_uri": None,
        "batch_count": None,
        "batch_nonce": None,
        "batch_deadline": None,
        "batch_signature": None,
        "tx_hash": None,
        "block_number": None,
        "log_index": None,
        "registered_at": None,
        "revoked_at": None,
        "revoke_code": None,
        "revoke_reason": None,
        "revoked_by_admin": None,
        "retraction_status": None,
    }
    retraction = repo.retraction(session, uid)
    if retraction is not None:
        receipt["retraction_status"] = retraction.status
    if source.batch_root:
        batch = repo.batch(session, source.publisher, source.batch_root)
        if batch is not None:  # the root's BatchAnchor signature is what went on chain for this image
            receipt.update(batch_uri=batch.uri, batch_count=batch.count, batch_nonce=batch.nonce,
                           batch_deadline=batch.deadline, batch_signature=batch.signature)  # fmt: skip
    if record is not None:
        receipt.update(
            tx_hash=record.tx_hash, block_number=record.block_number, log_index=record.log_index,
            registered_at=record.registered_at, revoked_at=record.revoked_at, revoke_code=record.revoke_code,
            revoke_reason=record.revoke_reason, revoked_by_admin=record.revoked_by_admin,
        )  # fmt: skip
    return receipt
