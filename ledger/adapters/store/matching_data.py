"""What the match index and the second stage read from the store: registered hashes and variants in mirror
order, and a registered picture's reference copy."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ledger.adapters.store.db import Database
from ledger.adapters.store.models import MatchFingerprintRow, RecordRow, ReferenceCopyRow
from ledger.adapters.store.repository import utcnow
from ledger.core.fingerprint import Fingerprint
from ledger.core.match_index import VARIANT_SCHEME, unpack_variants
from ledger.core.matcher import Registered
from ledger.core.reference import ReferenceCopy, load_reference

IndexRow = tuple[str, str, int | None, np.ndarray | None]  # content hash, PDQ, quality, variants


def indexed_after(db: Database, start: tuple[int, int], limit: int) -> tuple[list[IndexRow], tuple[int, int] | None]:
    """Records after ``start`` with their matching data, and the position of the last one. Positions are
    (rowid, 0) on SQLite and (block number, log index) elsewhere."""
    columns = (RecordRow.content_hash, RecordRow.pdq_hash, MatchFingerprintRow.pdq_quality, MatchFingerprintRow.variants)
    if db.is_sqlite:
        query = select(*columns, text("records.rowid"), RecordRow.log_index).where(text("records.rowid > :start"))
        query = query.order_by(text("records.rowid")).params(start=start[0])
    else:
        block, log_index = start
        after = (RecordRow.block_number > block) | ((RecordRow.block_number == block) & (RecordRow.log_index > log_index))
        query = select(*columns, RecordRow.block_number, RecordRow.log_index).where(after)
        query = query.order_by(RecordRow.block_number, RecordRow.log_index)
    query = query.outerjoin(MatchFingerprintRow, MatchFingerprintRow.content_hash == RecordRow.content_hash)
    with db.read() as session:
        rows = session.execute(query.limit(limit)).all()
    if not rows:
        return [], None
    batch = [(c, p, q, unpack_variants(v) if v else None) for c, p, q, v, _, _ in rows]
    last = rows[-1]
    return batch, ((int(last[4]), 0) if db.is_sqlite else (int(last[4]), int(last[5])))


def registered(session: Session, content_hash: str) -> Registered:
    """The reference copy and canonical size of a registered picture, as far as this database knows them."""
    copy = session.get(ReferenceCopyRow, content_hash)
    if copy is not None:
        reference = load_reference(content_hash, copy.data, copy.source_width, copy.source_height)
        return Registered(reference, (copy.source_width, copy.source_height))
    fingerprints = session.get(MatchFingerprintRow, content_hash)
    return Registered(None, (fingerprints.width, fingerprints.height) if fingerprints else None)


def keep_matching_data(session: Session, fingerprint: Fingerprint, variants: bytes, copy: ReferenceCopy | None) -> None:
    """Same content registered twice (two publishers): the first rows stay; a reference copy is added if missing."""
    now = utcnow()
    if session.get(MatchFingerprintRow, fingerprint.sha256) is None:
        session.add(MatchFingerprintRow(content_hash=fingerprint.sha256, scheme=VARIANT_SCHEME,
                                        pdq_quality=fingerprint.pdq_quality, width=fingerprint.width,
                                        height=fingerprint.height, variants=variants, created_at=now))  # fmt: skip
    if copy is not None and session.get(ReferenceCopyRow, fingerprint.sha256) is None:
        session.add(ReferenceCopyRow(content_hash=fingerprint.sha256, media_type=copy.media_type, width=copy.width,
                                     height=copy.height, source_width=copy.source_width,
                                     source_height=copy.source_height, data=copy.data, created_at=now))  # fmt: skip
