"""SQLAlchemy 2 models. Two kinds of table share one database:

- the mirror of the chain (``publishers``, ``records``, ``index_checkpoint``): rebuildable from events;
- off-chain state (``publisher_accounts``, ``submissions`` = the outbox, ``manifests``): not on chain,
  never to be lost.

Hashes and addresses are stored as 0x-prefixed lower-case hex text (addresses checksummed), so the same
rows read the same in SQLite and PostgreSQL and in a debugger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

HASH = String(66)
ADDRESS = String(42)


class Base(DeclarativeBase):
    pass


class PublisherRow(Base):
    """Mirror of PublisherAdded / Suspended / Reenabled."""

    __tablename__ = "publishers"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(Text)
    added_block: Mapped[int] = mapped_column(BigInteger)
    added_tx: Mapped[str] = mapped_column(HASH)
    suspended_block: Mapped[int | None] = mapped_column(BigInteger)


class RecordRow(Base):
    """Mirror of Registered; keyed by uid, and unique by (tx_hash, log_index) so a replay is an upsert."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("tx_hash", "log_index", name="uq_records_tx_log"),
        Index("ix_records_content_hash", "content_hash"),
        Index("ix_records_pixel_hash", "pixel_hash"),
    )

    uid: Mapped[str] = mapped_column(HASH, primary_key=True)
    publisher: Mapped[str] = mapped_column(ADDRESS, index=True)
    content_hash: Mapped[str] = mapped_column(HASH)
    pixel_hash: Mapped[str] = mapped_column(HASH)
    pdq_hash: Mapped[str] = mapped_column(HASH)
    manifest_hash: Mapped[str] = mapped_column(HASH)
    parent: Mapped[str] = mapped_column(HASH)
    registered_at: Mapped[int] = mapped_column(BigInteger)  # unix seconds, from the event
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(HASH)
    tx_hash: Mapped[str] = mapped_column(HASH)
    log_index: Mapped[int] = mapped_column(Integer)


class CheckpointRow(Base):
    """Where the indexer stopped (number + hash) and the head it last saw, committed with each range."""

    __tablename__ = "index_checkpoint"

    contract: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(HASH)
    head_block: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChainEventRow(Base):
    """Every event of the contract, decoded, in chain order: the mirror's ground truth. Derived tables
    (publishers, records, ...) are rebuilt from these rows after a reorg rewind."""

    __tablename__ = "chain_events"

    tx_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_hash: Mapped[str] = mapped_column(HASH)
    name: Mapped[str] = mapped_column(String(64), index=True)
    args: Mapped[str] = mapped_column(Text)  # canonical JSON of the decoded arguments


class IndexedBlockRow(Base):
    """Hashes of recently indexed blocks (range ends and blocks with events), to find a fork point."""

    __tablename__ = "indexed_blocks"

    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    block_hash: Mapped[str] = mapped_column(HASH)


class PublisherAccountRow(Base):
    """A publisher this service signs for: its keystore file and its API key, stored only hashed."""

    __tablename__ = "publisher_accounts"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(Text)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    keystore_file: Mapped[str] = mapped_column(Text)  # relative to the keystore directory
    next_nonce: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ManifestRow(Base):
    """The canonical manifest bytes whose keccak256 is on chain."""

    __tablename__ = "manifests"

    manifest_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class SubmissionRow(Base):
    """The outbox: one row per accepted registration, committed before the 202, retried until anchored."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_status", "status"),)

    uid: Mapped[str] = mapped_column(HASH, primary_key=True)
    publisher: Mapped[str] = mapped_column(ADDRESS, index=True)
    content_hash: Mapped[str] = mapped_column(HASH)
    pixel_hash: Mapped[str] = mapped_column(HASH)
    pdq_hash: Mapped[str] = mapped_column(HASH)
    pdq_quality: Mapped[int] = mapped_column(Integer)
    manifest_hash: Mapped[str] = mapped_column(HASH)
    parent: Mapped[str] = mapped_column(HASH)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    contract: Mapped[str] = mapped_column(ADDRESS)
    nonce: Mapped[int] = mapped_column(BigInteger)
    deadline: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[str] = mapped_column(String(132))
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | anchored
    tx_hash: Mapped[str | None] = mapped_column(HASH)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
