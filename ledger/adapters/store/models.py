"""SQLAlchemy 2 models. Two kinds of table share one database:

- the mirror of the chain (``publishers``, ``records``, ``index_checkpoint``): rebuildable from events;
- off-chain state (``publisher_accounts``, ``submissions`` = the outbox, ``manifests``): not on chain,
  never to be lost.

Hashes and addresses are stored as 0x-prefixed lower-case hex text (addresses checksummed), so the same
rows read the same in SQLite and PostgreSQL and in a debugger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

HASH = String(66)
ADDRESS = String(42)


class Base(DeclarativeBase):
    pass


class OutboxColumns:
    """What every outbox table shares (registrations, Merkle batches, retractions): a status that moves
    pending -> sent -> anchored (``ledger.adapters.store.outbox``), the transaction last sent, attempts, the last
    error, and when the row was created and last touched."""

    status: Mapped[str] = mapped_column(String(16))  # an ``OutboxStatus``
    tx_hash: Mapped[str | None] = mapped_column(HASH)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
    """Mirror of Registered (and of BatchAnchored for the batch items this service anchored); keyed by uid.
    Rows keyed by (tx_hash, log_index) live in chain_events; a batch's items share its event."""

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_content_hash", "content_hash"),
        Index("ix_records_pixel_hash", "pixel_hash"),
        Index("ix_records_parent", "parent"),
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
    # A record of a Merkle batch: the BatchAnchored event above, and the item's place in the tree.
    batch_root: Mapped[str | None] = mapped_column(HASH)
    leaf_index: Mapped[int | None] = mapped_column(Integer)
    # Retraction (Revoked event): when, why, by whom; the record itself is never deleted.
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revoke_code: Mapped[int | None] = mapped_column(Integer)
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by: Mapped[str | None] = mapped_column(ADDRESS)
    revoked_by_admin: Mapped[bool | None] = mapped_column(Boolean)
    revoked_block: Mapped[int | None] = mapped_column(BigInteger)


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


class BatchRow(OutboxColumns, Base):
    """A Merkle batch of one publisher's registrations, anchored by one root (the anchorer's outbox for it)."""

    __tablename__ = "batches"

    publisher: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    root: Mapped[str] = mapped_column(HASH, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str] = mapped_column(Text)
    tree: Mapped[str] = mapped_column(Text)  # StandardMerkleTree dump ("standard-v1"), served at `uri`
    anchored_block: Mapped[int | None] = mapped_column(BigInteger)
    # The publisher's EIP-712 BatchAnchor signature that the relayer sends (anchorBatchBySig), signed with the
    # contract's next nonce just before it is sent; None until then.
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    deadline: Mapped[int | None] = mapped_column(BigInteger)
    signature: Mapped[str | None] = mapped_column(String(132))


class RetractionRow(OutboxColumns, Base):
    """A publisher's request to retract one of its registrations: the outbox of ``revoke`` transactions."""

    __tablename__ = "retractions"
    __table_args__ = (Index("ix_retractions_status", "status"),)

    uid: Mapped[str] = mapped_column(HASH, primary_key=True)
    publisher: Mapped[str] = mapped_column(ADDRESS)
    reason_code: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    # The corrected image that replaces the retracted one (its uid): readers of the retracted image are pointed to
    # it. Off chain (the contract's revoke has no such field), kept with the retraction.
    successor: Mapped[str | None] = mapped_column(HASH)
    # A newsroom that holds its key signs its retraction (EIP-712 Revocation, `provenance retract`): the
    # relayer sends it with revokeBySig in the publisher's nonce order. None for a service-held publisher (revoke).
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    deadline: Mapped[int | None] = mapped_column(BigInteger)
    signature: Mapped[str | None] = mapped_column(Text)


class PublisherAccountRow(Base):
    """A publisher this service signs for: its keystore file (its API keys are in ``api_keys``)."""

    __tablename__ = "publisher_accounts"

    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(Text)
    # Relative to the keystore directory; None when the newsroom keeps its key (it sends signed registrations).
    keystore_file: Mapped[str | None] = mapped_column(Text)
    next_nonce: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """One named API key of a publisher, stored only hashed. A publisher may hold several (one per tool, rotated by
    adding the new one and revoking the old); a revoked key stays, with when, so the list shows what happened.
    Checked in the database on every request, so a revocation holds at once in every API process."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("publisher", "name", name="uq_api_keys_publisher_name"),)

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # shown in lists; not a secret
    publisher: Mapped[str] = mapped_column(ADDRESS, index=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ManifestRow(Base):
    """The canonical manifest bytes whose keccak256 is on chain."""

    __tablename__ = "manifests"

    manifest_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class SubmissionRow(OutboxColumns, Base):
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
    # Who holds the key that signed: "service" (the anchorer may sign again with the contract's next nonce) or
    # "publisher" (a newsroom's own signature: relayed as it is, in nonce order, never re-signed).
    custody: Mapped[str] = mapped_column(String(16), default="service", server_default="service")
    batch_root: Mapped[str | None] = mapped_column(HASH, index=True)  # set when put in a Merkle batch
    leaf_index: Mapped[int | None] = mapped_column(Integer)
    proof: Mapped[str | None] = mapped_column(Text)  # JSON list of 0x hashes


# -- matching (issue 4): off-chain data kept at registration for the match index and the second stage ----------
from sqlalchemy import LargeBinary  # noqa: E402  (kept with the classes that use it)


class MatchFingerprintRow(Base):
    """The hashes a registered picture adds to the match index besides its on-chain PDQ: its 7 other
    rotations/flips, its trimmed picture, centre crops and grid windows (``ledger.core.match_index.pack_variants``,
    35 bytes each). Keyed by the file's SHA-256 like the records it belongs to; written with the outbox row."""

    __tablename__ = "match_fingerprints"

    content_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    scheme: Mapped[int] = mapped_column(Integer)  # layout of `variants` (ledger.core.match_index.VARIANT_SCHEME)
    pdq_quality: Mapped[int] = mapped_column(Integer)  # of the on-chain PDQ hash
    width: Mapped[int] = mapped_column(Integer)  # canonical size of the registered picture
    height: Mapped[int] = mapped_column(Integer)
    variants: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The registered file's `query` as verify by upload answers it (``ledger.core.answer.Query`` as JSON), so an
    # upload of exactly these bytes is answered without decoding them. NULL: kept before revision 0012.
    upload_query: Mapped[str | None] = mapped_column(Text)


class ReferenceCopyRow(Base):
    """A reduced copy of a registered picture (512 px WebP) for the second stage; absent when the publisher
    opted out. Pixels the publisher published, never a reader's upload."""

    __tablename__ = "reference_copies"

    content_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    source_width: Mapped[int] = mapped_column(Integer)
    source_height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LocalFeatureRow(Base):
    """Keypoints and binary descriptors of a registered picture (``ledger.core.local_features``): the wild path's
    index holds the descriptors; the keypoints are read from here for the candidates it verifies. Computed at
    registration, or afterwards from the reference copy (``provenance index local-features``)."""

    __tablename__ = "local_features"

    content_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    scheme: Mapped[int] = mapped_column(Integer)  # layout of `data` (ledger.core.local_features.FEATURE_SCHEME)
    count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HeatmapRow(Base):
    """The change heatmap of a recent `edited` answer (a transparent PNG, 512 px on its long side), served at
    ``/v1/verify/{verification_id}/diff.png`` by whichever API process or host the page's request reaches. Derived
    from the reader's upload (where it differs from the registered picture), never the upload itself; expires after
    minutes and the table is bounded (``ledger.adapters.store.heatmaps``)."""

    __tablename__ = "heatmaps"
    __table_args__ = (Index("ix_heatmaps_expires_at", "expires_at"),)

    verification_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- Content Credentials (issue 13) -------------------------------------------------------------------------------
class ContentCredentialsRow(Base):
    """The summary (``ledger.core.content_credentials.ContentCredentials`` as JSON) of the C2PA manifest a
    registered file carried, keyed by the file's SHA-256: what a reader of a stripped copy is told the original
    carried. Read from the file at registration; off-chain, like the manifest body."""

    __tablename__ = "content_credentials"

    content_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    summary: Mapped[str] = mapped_column(Text)
    # The active manifest's id (``urn:c2pa:...``) and the manifest store's bytes (``application/c2pa``), served by
    # the soft-binding resolution API (``/v1/c2pa/manifests/{id}``); bytes kept for JPEG files and files signed here.
    manifest_id: Mapped[str | None] = mapped_column(String(300), index=True)
    manifest_store: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PublishedFileRow(Base):
    """A file this service signed with Content Credentials for a publisher (``c2pa=true``): the exact bytes it
    registered, kept so the publisher can fetch them (``GET /v1/media/{content_hash}/file``) even if the reply to
    the registration was lost."""

    __tablename__ = "published_files"

    content_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    publisher: Mapped[str] = mapped_column(ADDRESS, index=True)
    media_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
