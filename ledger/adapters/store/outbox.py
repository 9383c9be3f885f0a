"""The outbox: work accepted from publishers and not yet on chain (registrations, Merkle batches, retractions).

One concept over three tables that share ``OutboxColumns``. Status moves

    pending --send--> sent --indexer mirrors the event--> anchored
     ^  ^               |
     |  +--- vanished ---+   (the transaction is not on chain, or reverted: send again, with backoff)
     |
     +-- re-enabled -- held  <-- the publisher is suspended on chain (from pending, with the reason in last_error)

A suspended publisher's work is held rather than retried forever: the contract refuses it until the admin
re-enables the publisher, and then it goes back to pending and is sent as before.

The anchorer decides what to send and when; every transition and query lives here. The indexer moves rows to
``anchored`` (and back to ``sent`` on a reorg) in ``ledger.adapters.indexer.mirror`` with the same names.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ledger.adapters.store.db import Database
from ledger.adapters.store.inserts import insert_new
from ledger.adapters.store.models import (
    BatchRow,
    ManifestRow,
    PublisherRow,
    RecordRow,
    RetractionRow,
    SubmissionRow,
)
from ledger.adapters.store.repository import as_utc, utcnow
from ledger.core.records import Registration


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ANCHORED = "anchored"
    HELD = "held"  # the publisher is suspended on chain; sent again when it is re-enabled
    REFUSED = "refused"  # a newsroom's own signature that cannot be used (nonce used, deadline passed, rejected)


OPEN = (OutboxStatus.PENDING, OutboxStatus.SENT)
OutboxRow = SubmissionRow | BatchRow | RetractionRow


def key_of(row: OutboxRow) -> Any:
    if isinstance(row, BatchRow):
        return (row.publisher, row.root)
    return row.uid


def age_seconds(row: OutboxRow) -> float:
    return (utcnow() - as_utc(row.updated_at)).total_seconds()


@dataclass(frozen=True, slots=True)
class Open:
    """Everything not yet anchored, as the anchorer's next step sees it."""

    singles: list[SubmissionRow]  # registrations sent one by one (a batch's items travel with their batch)
    batches: list[BatchRow]
    retractions: list[RetractionRow]


_ADD_SUBMISSION = insert(SubmissionRow.__table__)  # Core, not the ORM's unit of work: see ledger.adapters.store.inserts


def add_registration(session: Session, uid: str, publisher: str, registration: Registration, pdq_quality: int,
                     chain_id: int, contract: str, nonce: int, deadline: int, signature: str,
                     manifest: bytes, custody: str = "service") -> None:  # fmt: skip
    """A signed registration, pending, and its manifest, inside the caller's write transaction."""
    now = utcnow()
    # A manifest is keyed by its hash, so one already there has these very bytes.
    insert_new(session, ManifestRow, {"manifest_hash": registration.manifest_hash, "body": manifest.decode()})
    session.connection().execute(_ADD_SUBMISSION, dict(
        uid=uid, publisher=publisher, content_hash=registration.content_hash, pixel_hash=registration.pixel_hash,
        pdq_hash=registration.pdq_hash, pdq_quality=pdq_quality, manifest_hash=registration.manifest_hash,
        parent=registration.parent, chain_id=chain_id, contract=contract, nonce=nonce, deadline=deadline,
        signature=signature, custody=custody, status=OutboxStatus.PENDING, attempts=0, created_at=now, updated_at=now,
    ))  # fmt: skip


def open_work(db: Database, limit: int = 50) -> Open:
    with db.read() as session:
        singles = session.scalars(
            select(SubmissionRow)
            .where(SubmissionRow.status.in_(OPEN), SubmissionRow.batch_root.is_(None))
            .order_by(SubmissionRow.created_at)
            .limit(limit)
        ).all()
        batches = session.scalars(select(BatchRow).where(BatchRow.status.in_(OPEN))).all()
        retractions = session.scalars(select(RetractionRow).where(RetractionRow.status.in_(OPEN))).all()
        return Open(list(singles), list(batches), list(retractions))


def unbatched(db: Database) -> list[SubmissionRow]:
    """Pending registrations not yet in a Merkle batch, per publisher, oldest first."""
    with db.read() as session:
        return list(session.scalars(
            select(SubmissionRow)
            .where(SubmissionRow.status == OutboxStatus.PENDING, SubmissionRow.batch_root.is_(None),
                   SubmissionRow.custody == "service")
            .order_by(SubmissionRow.publisher, SubmissionRow.created_at)
        ))  # fmt: skip


def add_batch(db: Database, publisher: str, root: str, uri: str, tree_dump: dict[str, Any],
              items: Sequence[tuple[str, list[str]]]) -> None:  # fmt: skip
    """A new batch (pending) and its items' places in the tree: ``items`` are (uid, proof) in leaf order."""
    now = utcnow()
    with db.write() as session:
        session.add(BatchRow(publisher=publisher, root=root, count=len(items), uri=uri, tree=json.dumps(tree_dump),
                             status=OutboxStatus.PENDING, attempts=0, created_at=now, updated_at=now))  # fmt: skip
        for index, (uid, proof) in enumerate(items):
            session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.uid == uid)
                .values(batch_root=root, leaf_index=index, proof=json.dumps(proof), updated_at=now)
            )


def mark_sent(db: Database, row: OutboxRow, tx_hash: str) -> None:
    transition(db, row, status=OutboxStatus.SENT, tx_hash=tx_hash, attempts=row.attempts + 1, last_error=None)
    if isinstance(row, BatchRow):  # its registrations travel with it
        with db.write() as session:
            session.execute(
                update(SubmissionRow)
                .where(SubmissionRow.batch_root == row.root, SubmissionRow.publisher == row.publisher,
                       SubmissionRow.status != OutboxStatus.ANCHORED)
                .values(status=OutboxStatus.SENT, tx_hash=tx_hash, updated_at=utcnow())
            )  # fmt: skip


def mark_mined(db: Database, row: OutboxRow) -> None:
    """Still on chain, not yet mirrored (the indexer is behind or confirming): check again later."""
    transition(db, row)


def mark_vanished(db: Database, row: OutboxRow, problem: str) -> None:
    transition(db, row, status=OutboxStatus.PENDING, tx_hash=None, last_error=problem)


def mark_on_chain_already(db: Database, row: OutboxRow) -> None:
    """Sent before a crash, or by another relayer: it is on chain; the indexer will mark it anchored."""
    transition(db, row, status=OutboxStatus.SENT, last_error=None)


def mark_refused(db: Database, row: OutboxRow, problem: str) -> None:
    transition(db, row, attempts=row.attempts + 1, last_error=problem)


OUTBOX_TABLES = (SubmissionRow, BatchRow, RetractionRow)


def highest_sent_nonce(db: Database, publisher: str) -> int | None:
    """The highest nonce among ``publisher``'s registrations, batch anchors and signed retractions sent and not yet
    mirrored (in flight, or mined and not yet indexed)."""
    with db.read() as session:
        registrations = session.scalar(
            select(func.max(SubmissionRow.nonce))
            .where(SubmissionRow.publisher == publisher, SubmissionRow.status == OutboxStatus.SENT,
                   SubmissionRow.tx_hash.is_not(None), SubmissionRow.batch_root.is_(None))
        )  # fmt: skip
        batches = session.scalar(
            select(func.max(BatchRow.nonce))
            .where(BatchRow.publisher == publisher, BatchRow.status == OutboxStatus.SENT, BatchRow.tx_hash.is_not(None))
        )  # fmt: skip
        retractions = session.scalar(
            select(func.max(RetractionRow.nonce))
            .where(RetractionRow.publisher == publisher, RetractionRow.status == OutboxStatus.SENT,
                   RetractionRow.tx_hash.is_not(None), RetractionRow.signature.is_not(None))
        )  # fmt: skip
    sent = [n for n in (registrations, batches, retractions) if n is not None]
    return max(sent) if sent else None


def send_later_nonces_again(db: Database, publisher: str, nonce: int, problem: str) -> int:
    """``publisher``'s registrations sent one by one, batches and signed retractions sent with a nonce above
    ``nonce``, back to pending: once the transaction of ``nonce`` is lost, the contract (whose nonces are strictly
    sequential, shared by all three) refuses every later one."""
    with db.write() as session:
        singles = session.execute(
            update(SubmissionRow)
            .where(SubmissionRow.publisher == publisher, SubmissionRow.status == OutboxStatus.SENT,
                   SubmissionRow.nonce > nonce, SubmissionRow.batch_root.is_(None))
            .values(status=OutboxStatus.PENDING, tx_hash=None, last_error=problem, updated_at=utcnow())
        )  # fmt: skip
        batches = session.execute(
            update(BatchRow)
            .where(BatchRow.publisher == publisher, BatchRow.status == OutboxStatus.SENT, BatchRow.nonce > nonce)
            .values(status=OutboxStatus.PENDING, tx_hash=None, last_error=problem, updated_at=utcnow())
        )  # fmt: skip
        retractions = session.execute(
            update(RetractionRow)
            .where(RetractionRow.publisher == publisher, RetractionRow.status == OutboxStatus.SENT,
                   RetractionRow.signature.is_not(None), RetractionRow.nonce > nonce)
            .values(status=OutboxStatus.PENDING, tx_hash=None, last_error=problem, updated_at=utcnow())
        )  # fmt: skip
        return sum(int(r.rowcount or 0) for r in (singles, batches, retractions))  # type: ignore[attr-defined]


def store_signature(db: Database, row: SubmissionRow | BatchRow, nonce: int, deadline: int, signature: str) -> None:
    """A service-held key signed ``row`` (again) with the contract's next nonce: the receipt shows what is sent."""
    transition(db, row, nonce=nonce, deadline=deadline, signature=signature)


def mark_unusable(db: Database, row: SubmissionRow | RetractionRow, problem: str) -> None:
    """A newsroom's signature the contract cannot accept: kept, with the reason, until it is signed again."""
    transition(db, row, status=OutboxStatus.REFUSED, last_error=problem)


def held_reason(block: int | None) -> str:
    where = f" in block {block}" if block is not None else ""
    return f"held: the publisher was suspended on chain{where}; sent once the admin re-enables it"


def mark_held(db: Database, row: OutboxRow, block: int | None = None) -> None:
    """The contract refused ``row`` because its publisher is suspended (the mirror may not know yet)."""
    transition(db, row, status=OutboxStatus.HELD, last_error=held_reason(block))


def hold_and_release(db: Database) -> tuple[int, int]:
    """Hold the pending work of publishers the mirror shows suspended; release held work of publishers that are
    active again (back to pending, attempts reset). Returns (held, released)."""
    held = released = 0
    now = utcnow()
    with db.read() as session:  # the usual case (nobody suspended, nothing held) writes nothing
        suspended_any = session.scalar(select(PublisherRow.address).where(PublisherRow.suspended_block.is_not(None)).limit(1))
        held_any = any(session.scalar(select(table.publisher).where(table.status == OutboxStatus.HELD).limit(1))
                       for table in OUTBOX_TABLES)  # fmt: skip
    if suspended_any is None and not held_any:
        return 0, 0
    with db.write() as session:
        suspended = dict(session.execute(
            select(PublisherRow.address, PublisherRow.suspended_block).where(PublisherRow.suspended_block.is_not(None))
        ).tuples().all())  # fmt: skip
        for table in OUTBOX_TABLES:
            for address, block in suspended.items():
                held += session.execute(
                    update(table).where(table.publisher == address, table.status == OutboxStatus.PENDING)
                    .values(status=OutboxStatus.HELD, last_error=held_reason(block), updated_at=now)
                ).rowcount or 0  # fmt: skip
            released += session.execute(
                update(table).where(table.status == OutboxStatus.HELD, table.publisher.not_in(list(suspended) or [""]))
                .values(status=OutboxStatus.PENDING, attempts=0, last_error=None, updated_at=now)
            ).rowcount or 0  # fmt: skip
    return held, released


def transition(db: Database, row: OutboxRow, **values: object) -> None:
    """Apply ``values`` and touch ``updated_at``, unless the indexer anchored the row meanwhile."""
    with db.write() as session:
        current = session.get(type(row), key_of(row))
        if current is None or current.status == OutboxStatus.ANCHORED:
            return
        for name, value in values.items():
            setattr(current, name, value)
        current.updated_at = utcnow()


def retraction_target(db: Database, uid: str) -> tuple[RecordRow | None, list[str]]:
    """The mirrored record a retraction applies to (None until its registration is on chain) and, for a batch
    item, its Merkle proof."""
    with db.read() as session:
        record = session.get(RecordRow, uid)
        submission = session.get(SubmissionRow, uid)
        proof = json.loads(submission.proof) if submission is not None and submission.proof else []
        return record, proof


def not_anchored_count(db: Database) -> int:
    with db.read() as session:
        count = session.scalar(
            select(func.count()).select_from(SubmissionRow).where(SubmissionRow.status != OutboxStatus.ANCHORED)
        )
        return int(count or 0)


def send_again_to_new_contract(session: Session, problem: str) -> int:
    """The contract everything was sent to is gone with its chain (a redeploy on a node that keeps no state): every
    row goes back to pending, to be sent to the new contract. Returns how many rows."""
    total = 0
    for model in (SubmissionRow, BatchRow, RetractionRow):
        query = update(model).where(model.status != OutboxStatus.PENDING)
        if model is SubmissionRow:  # items of a Merkle batch go on chain with their batch's root
            query = query.where(SubmissionRow.batch_root.is_(None))
        values = {"status": OutboxStatus.PENDING, "tx_hash": None, "last_error": problem, "attempts": 0, "updated_at": utcnow()}
        total += session.execute(query.values(**values)).rowcount or 0
    return total


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Registrations and retractions accepted and not yet anchored: how many, and the oldest one's age."""

    registrations: int
    retractions: int
    oldest_seconds: float | None


def queue_stats(db: Database) -> QueueStats:
    with db.read() as session:
        registrations, oldest = session.execute(
            select(func.count(), func.min(SubmissionRow.created_at)).where(SubmissionRow.status.in_(OPEN))
        ).one()
        retractions, oldest_retraction = session.execute(
            select(func.count(), func.min(RetractionRow.created_at)).where(RetractionRow.status.in_(OPEN))
        ).one()
    times = [as_utc(t) for t in (oldest, oldest_retraction) if t is not None]
    age = (utcnow() - min(times)).total_seconds() if times else None
    return QueueStats(int(registrations or 0), int(retractions or 0), age)
