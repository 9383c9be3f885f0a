"""What the match index and the second stage read from the store: registered hashes and variants in mirror
order, and a registered picture's reference copy."""

from __future__ import annotations

import numpy as np
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from ledger.adapters.store.db import Database
from ledger.adapters.store.inserts import insert_new
from ledger.adapters.store.models import LocalFeatureRow, MatchFingerprintRow, RecordRow, ReferenceCopyRow
from ledger.adapters.store.repository import utcnow
from ledger.core.answer import Query
from ledger.core.fingerprint import Fingerprint
from ledger.core.match_index import VARIANT_SCHEME, unpack_variants
from ledger.core.matcher import Registered
from ledger.core.reference import ReferenceCopy, load_reference
from ledger.core.wild.local_features import Features
from ledger.core.wild.stored import FEATURE_SCHEME, feature_count

IndexRow = tuple[str, str, int | None, np.ndarray | None]  # content hash, PDQ, quality, variants
LocalRow = tuple[str, bytes]  # content hash, local features (Features.to_bytes)
FEATURES_PER_READ = 500  # content hashes per IN (...) when reading local features


def indexed_after(db: Database, start: tuple[int, int], limit: int
                  ) -> tuple[list[IndexRow], list[str], tuple[int, int] | None]:  # fmt: skip
    """Records after ``start`` with their hashes, the content hashes among them that have local features kept (read
    their bytes with ``local_features``), and the position of the last one. Positions are (rowid, 0) on SQLite and
    (block number, log index) elsewhere."""
    columns = (RecordRow.content_hash, RecordRow.pdq_hash, MatchFingerprintRow.pdq_quality, MatchFingerprintRow.variants,
               LocalFeatureRow.content_hash.is_not(None))  # fmt: skip
    if db.is_sqlite:
        query = select(*columns, text("records.rowid"), RecordRow.log_index).where(text("records.rowid > :start"))
        query = query.order_by(text("records.rowid")).params(start=start[0])
    else:
        block, log_index = start
        after = (RecordRow.block_number > block) | ((RecordRow.block_number == block) & (RecordRow.log_index > log_index))
        query = select(*columns, RecordRow.block_number, RecordRow.log_index).where(after)
        query = query.order_by(RecordRow.block_number, RecordRow.log_index)
    query = query.outerjoin(MatchFingerprintRow, MatchFingerprintRow.content_hash == RecordRow.content_hash)
    query = query.outerjoin(LocalFeatureRow, LocalFeatureRow.content_hash == RecordRow.content_hash)
    with db.read() as session:
        rows = session.execute(query.limit(limit)).all()
    if not rows:
        return [], [], None
    batch = [(c, p, q, unpack_variants(v) if v else None) for c, p, q, v, _, _, _ in rows]
    with_features = [c for c, _, _, _, kept, _, _ in rows if kept]
    last = rows[-1]
    return batch, with_features, ((int(last[5]), 0) if db.is_sqlite else (int(last[5]), int(last[6])))


def local_features(db: Database, content_hashes: list[str]) -> list[LocalRow]:
    """The local features kept of these pictures, in the order given (those without any are left out)."""
    found: dict[str, bytes] = {}
    with db.read() as session:
        for first in range(0, len(content_hashes), FEATURES_PER_READ):
            chunk = content_hashes[first : first + FEATURES_PER_READ]
            query = select(LocalFeatureRow.content_hash, LocalFeatureRow.data).where(LocalFeatureRow.content_hash.in_(chunk))
            found.update(session.execute(query).tuples().all())
    return [(c, found[c]) for c in content_hashes if c in found]


def registered(session: Session, content_hash: str) -> Registered:
    """The reference copy and canonical size of a registered picture, as far as this database knows them."""
    copy = session.get(ReferenceCopyRow, content_hash)
    if copy is not None:
        reference = load_reference(content_hash, copy.data, copy.source_width, copy.source_height)
        local = session.get(LocalFeatureRow, content_hash)
        features = Features.from_bytes(local.data) if local is not None else None
        return Registered(reference, (copy.source_width, copy.source_height), features)
    fingerprints = session.get(MatchFingerprintRow, content_hash)
    return Registered(None, (fingerprints.width, fingerprints.height) if fingerprints else None)


def upload_query(session: Session, content_hash: str) -> Query | None:
    """What registration measured of the file with this SHA-256 (``Query``), if this database kept it: None for a
    picture registered elsewhere (mirrored from the chain) or kept before revision 0012."""
    stored = session.scalar(select(MatchFingerprintRow.upload_query).where(MatchFingerprintRow.content_hash == content_hash))
    return Query.model_validate_json(stored) if stored is not None else None


def keep_matching_data(session: Session, fingerprint: Fingerprint, variants: bytes, copy: ReferenceCopy | None,
                       features: bytes | None = None, query: Query | None = None) -> None:  # fmt: skip
    """Same content registered twice (two publishers): the first rows stay; a reference copy, and the file's
    ``query`` (``upload_query``) on a row kept before revision 0012, are added if missing."""
    now = utcnow()
    upload_query = query.model_dump_json() if query is not None else None
    added = insert_new(session, MatchFingerprintRow, dict(
        content_hash=fingerprint.sha256, scheme=VARIANT_SCHEME, pdq_quality=fingerprint.pdq_quality,
        width=fingerprint.width, height=fingerprint.height, variants=variants, created_at=now,
        upload_query=upload_query))  # fmt: skip
    if not added and upload_query is not None:
        session.connection().execute(_ADD_UPLOAD_QUERY, {"key": fingerprint.sha256, "query": upload_query})
    if copy is not None:
        insert_new(session, ReferenceCopyRow, dict(
            content_hash=fingerprint.sha256, media_type=copy.media_type, width=copy.width, height=copy.height,
            source_width=copy.source_width, source_height=copy.source_height, data=copy.data, created_at=now))  # fmt: skip
    if features is not None:
        add_local_features(session, fingerprint.sha256, features)


_ADD_UPLOAD_QUERY = (
    update(MatchFingerprintRow.__table__)
    .where(MatchFingerprintRow.content_hash == bindparam("key"), MatchFingerprintRow.upload_query.is_(None))
    .values(upload_query=bindparam("query"))
)


def add_local_features(session: Session, content_hash: str, features: bytes) -> None:
    insert_new(session, LocalFeatureRow, dict(content_hash=content_hash, scheme=FEATURE_SCHEME,
                                              count=feature_count(features), data=features, created_at=utcnow()))  # fmt: skip


def references_without_features(db: Database, limit: int) -> list[tuple[str, bytes]]:
    """Reference copies of pictures registered before local features were kept (content hash, encoded copy)."""
    query = (
        select(ReferenceCopyRow.content_hash, ReferenceCopyRow.data)
        .outerjoin(LocalFeatureRow, LocalFeatureRow.content_hash == ReferenceCopyRow.content_hash)
        .where(LocalFeatureRow.content_hash.is_(None))
        .order_by(ReferenceCopyRow.content_hash)
        .limit(limit)
    )
    with db.read() as session:
        return [(c, d) for c, d in session.execute(query).all()]


def count_references_without_features(db: Database) -> int:
    query = (
        select(func.count())
        .select_from(ReferenceCopyRow)
        .outerjoin(LocalFeatureRow, LocalFeatureRow.content_hash == ReferenceCopyRow.content_hash)
        .where(LocalFeatureRow.content_hash.is_(None))
    )
    with db.read() as session:
        return int(session.scalar(query) or 0)


def keep_local_features(db: Database, items: list[tuple[str, bytes]]) -> None:
    with db.write() as session:
        for content_hash, features in items:
            add_local_features(session, content_hash, features)
