"""Writing decoded events into the mirror, and rewinding it to a fork point. Runs inside the caller's
transaction so rows and checkpoint commit together.

``chain_events`` holds every event; the other mirror tables are projections of it. Inserts ignore rows
that already exist, so replaying a range after a crash is an idempotent upsert.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.store.inserts import insert_ignore
from ledger.adapters.store.models import (
    BatchRow,
    ChainEventRow,
    CheckpointRow,
    IndexedBlockRow,
    PublisherRow,
    RecordRow,
    RetractionRow,
    SubmissionRow,
)
from ledger.adapters.store.outbox import OutboxStatus

PUBLISHER_EVENTS = ("PublisherAdded", "PublisherSuspended", "PublisherReenabled")
KEPT_BLOCK_HASHES = 512  # how far back a fork point can be found without a full re-index
CHUNK = 500  # rows per IN (...) list; SQLite allows 999 bound parameters per statement by default


def canonical_args(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, separators=(",", ":"), default=str)


def apply_events(session: Session, events: Sequence[DecodedEvent]) -> None:
    if not events:
        return
    insert_ignore(
        session,
        ChainEventRow,
        [
            {"tx_hash": e.tx_hash, "log_index": e.log_index, "block_number": e.block_number,
             "block_hash": e.block_hash, "name": e.name, "args": canonical_args(e.args)}
            for e in events
        ],  # fmt: skip
        ["tx_hash", "log_index"],
    )
    registered = [e for e in events if e.name == "Registered"]
    insert_ignore(session, RecordRow, [_record(e) for e in registered], ["uid"])
    for chunk in _chunks([e.args["uid"] for e in registered]):
        session.execute(
            update(SubmissionRow)
            .where(SubmissionRow.uid.in_(chunk), SubmissionRow.status != OutboxStatus.ANCHORED)
            .values(status=OutboxStatus.ANCHORED, last_error=None)
        )
    for event in events:
        if event.name in PUBLISHER_EVENTS:
            _apply_publisher_event(session, event.name, event.args, event.block_number, event.tx_hash)
        elif event.name == "BatchAnchored":
            _apply_batch(session, event)
        elif event.name == "Revoked":
            _apply_revocation(session, event)
    hashes = {e.block_number: e.block_hash for e in events}
    insert_ignore(session, IndexedBlockRow, [{"block_number": n, "block_hash": h} for n, h in hashes.items()], ["block_number"])


# Key of the PostgreSQL advisory lock that every writer of the mirror's checkpoint takes (an arbitrary constant:
# "prov" in ASCII). SQLite needs none: its write transactions begin IMMEDIATE and so run one at a time.
INDEXER_LOCK_KEY = 0x70726F76


def lock_for_indexing(session: Session) -> None:
    """Serialise this write transaction with every other writer of the mirror (the running indexer, `provenance
    reindex`, a second indexer by mistake) until it commits; then re-read the checkpoint before writing on it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INDEXER_LOCK_KEY})


def checkpoint_is(session: Session, contract: str, block: int | None, block_hash: str | None) -> bool:
    """Whether the checkpoint is still the one a step read (``block`` None: no checkpoint): a step writes only on
    the checkpoint it started from, so two indexers never apply ranges out of order or move it backwards."""
    row = session.get(CheckpointRow, contract)
    if row is None or block is None:
        return row is None and block is None
    return row.block_number == block and (row.block_hash or "").lower() == (block_hash or "").lower()


def remember_block(session: Session, number: int, block_hash: str) -> None:
    insert_ignore(session, IndexedBlockRow, [{"block_number": number, "block_hash": block_hash}], ["block_number"])
    oldest_kept = session.scalar(
        select(IndexedBlockRow.block_number).order_by(IndexedBlockRow.block_number.desc()).offset(KEPT_BLOCK_HASHES).limit(1)
    )
    if oldest_kept is not None:
        session.execute(delete(IndexedBlockRow).where(IndexedBlockRow.block_number <= oldest_kept))


def recent_blocks(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(select(IndexedBlockRow.block_number, IndexedBlockRow.block_hash).order_by(IndexedBlockRow.block_number.desc()))
    return [(int(n), h) for n, h in rows]


def rewind(session: Session, fork_block: int) -> int:
    """Drop everything above ``fork_block``; returns how many events were dropped. Registrations that were
    anchored only on the dropped branch go back to ``sent`` so the anchorer checks and re-sends them."""
    dropped = session.execute(delete(ChainEventRow).where(ChainEventRow.block_number > fork_block)).rowcount
    session.execute(delete(RecordRow).where(RecordRow.block_number > fork_block))
    session.execute(delete(IndexedBlockRow).where(IndexedBlockRow.block_number > fork_block))
    session.execute(update(RecordRow).where(RecordRow.revoked_block > fork_block).values(**_NOT_REVOKED))
    session.execute(
        update(RetractionRow)
        .where(RetractionRow.status == OutboxStatus.ANCHORED,
               RetractionRow.uid.not_in(select(RecordRow.uid).where(RecordRow.revoked_at.is_not(None))))
        .values(status=OutboxStatus.SENT)
    )  # fmt: skip
    session.execute(
        update(BatchRow).where(BatchRow.anchored_block > fork_block).values(status=OutboxStatus.SENT, anchored_block=None)
    )
    _rebuild_publishers(session)
    session.execute(
        update(SubmissionRow)
        .where(SubmissionRow.status == OutboxStatus.ANCHORED, SubmissionRow.uid.not_in(select(RecordRow.uid)))
        .values(status=OutboxStatus.SENT, last_error="its block was dropped by a chain reorganisation")
    )
    return int(dropped or 0)


def clear(session: Session) -> None:
    """Empty the mirror and its checkpoint (for a full re-index); the outbox keeps its rows. Takes the indexing lock,
    so a running indexer's step that read the old checkpoint writes nothing on the emptied mirror."""
    lock_for_indexing(session)
    for model in (ChainEventRow, RecordRow, IndexedBlockRow, PublisherRow, CheckpointRow):
        session.execute(delete(model))
    session.execute(update(SubmissionRow).where(SubmissionRow.status == OutboxStatus.ANCHORED).values(status=OutboxStatus.SENT))
    session.execute(update(BatchRow).where(BatchRow.status == OutboxStatus.ANCHORED).values(status=OutboxStatus.SENT, anchored_block=None))


_NOT_REVOKED: dict[str, Any] = dict(
    revoked_at=None, revoke_code=None, revoke_reason=None, revoked_by=None, revoked_by_admin=None, revoked_block=None
)


def _apply_batch(session: Session, event: DecodedEvent) -> None:
    """A root of ours: its items become records (we hold their leaves); another operator's root is only an event."""
    a = event.args
    batch = session.get(BatchRow, (a["publisher"], a["root"]))
    if batch is None:
        return
    batch.status, batch.anchored_block, batch.tx_hash = OutboxStatus.ANCHORED, event.block_number, event.tx_hash
    items = session.scalars(
        select(SubmissionRow).where(SubmissionRow.batch_root == a["root"], SubmissionRow.publisher == a["publisher"])
    ).all()
    insert_ignore(session, RecordRow, [
        {"uid": s.uid, "publisher": s.publisher, "content_hash": s.content_hash, "pixel_hash": s.pixel_hash,
         "pdq_hash": s.pdq_hash, "manifest_hash": s.manifest_hash, "parent": s.parent,
         "registered_at": int(a["anchoredAt"]), "block_number": event.block_number, "block_hash": event.block_hash,
         "tx_hash": event.tx_hash, "log_index": event.log_index, "batch_root": a["root"], "leaf_index": s.leaf_index}
        for s in items
    ], ["uid"])  # fmt: skip
    for item in items:
        item.status, item.tx_hash, item.last_error = OutboxStatus.ANCHORED, event.tx_hash, None
    session.flush()


def _apply_revocation(session: Session, event: DecodedEvent) -> None:
    a = event.args
    session.execute(
        update(RecordRow)
        .where(RecordRow.uid == a["uid"])
        .values(revoked_at=int(a["revokedAt"]), revoke_code=int(a["reasonCode"]), revoke_reason=a["reason"],
                revoked_by=a["revokedBy"], revoked_by_admin=bool(a["byAdmin"]), revoked_block=event.block_number)
    )  # fmt: skip
    session.execute(
        update(RetractionRow).where(RetractionRow.uid == a["uid"]).values(status=OutboxStatus.ANCHORED, tx_hash=event.tx_hash)
    )


def _rebuild_publishers(session: Session) -> None:
    session.execute(delete(PublisherRow))
    events = session.execute(
        select(ChainEventRow.name, ChainEventRow.args, ChainEventRow.block_number, ChainEventRow.tx_hash)
        .where(ChainEventRow.name.in_(PUBLISHER_EVENTS))
        .order_by(ChainEventRow.block_number, ChainEventRow.log_index)
    )
    for name, args, block, tx in events:
        _apply_publisher_event(session, name, json.loads(args), block, tx)


def _apply_publisher_event(session: Session, name: str, args: dict[str, Any], block: int, tx: str) -> None:
    if name == "PublisherAdded":
        session.merge(PublisherRow(address=args["publisher"], name=args["name"], domain=args["domain"],
                                   added_block=block, added_tx=tx, suspended_block=None))  # fmt: skip
    elif name == "PublisherSuspended":
        session.execute(update(PublisherRow).where(PublisherRow.address == args["publisher"]).values(suspended_block=block))
    elif name == "PublisherReenabled":
        session.execute(update(PublisherRow).where(PublisherRow.address == args["publisher"]).values(suspended_block=None))
    session.flush()


def _record(e: DecodedEvent) -> dict[str, Any]:
    a = e.args
    return {
        "uid": a["uid"], "publisher": a["publisher"], "content_hash": a["contentHash"], "pixel_hash": a["pixelHash"],
        "pdq_hash": a["pdqHash"], "manifest_hash": a["manifestHash"], "parent": a["parent"],
        "registered_at": int(a["registeredAt"]), "block_number": e.block_number, "block_hash": e.block_hash,
        "tx_hash": e.tx_hash, "log_index": e.log_index,
    }  # fmt: skip


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
