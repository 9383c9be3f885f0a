"""Change heatmaps of recent `edited` answers in a table, so any API process or host serves them: kept for
``ttl_seconds``, at most ``max_rows`` (the soonest to expire dropped first); expired rows are deleted whenever one is
added, so the table cleans itself without a separate job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from ledger.adapters.store.db import Database
from ledger.adapters.store.models import HeatmapRow
from ledger.adapters.store.repository import as_utc, utcnow


def keep_heatmap(db: Database, verification_id: str, png: bytes, ttl_seconds: float, max_rows: int) -> None:
    now = utcnow()
    with db.write() as session:
        session.execute(delete(HeatmapRow).where(HeatmapRow.expires_at <= now))
        session.add(HeatmapRow(verification_id=verification_id, png=png, created_at=now,
                               expires_at=now + timedelta(seconds=ttl_seconds)))  # fmt: skip
        session.flush()
        beyond = select(HeatmapRow.verification_id).order_by(HeatmapRow.expires_at.desc()).offset(max_rows)
        session.execute(delete(HeatmapRow).where(HeatmapRow.verification_id.in_(beyond.scalar_subquery())))


def find_heatmap(db: Database, verification_id: str) -> bytes | None:
    with db.read() as session:
        row = session.get(HeatmapRow, verification_id)
        if row is None or as_utc(row.expires_at) <= utcnow():
            return None
        return row.png
