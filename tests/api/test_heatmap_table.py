"""The heatmaps table: found until it expires, bounded in rows, cleaned as rows are added (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from ledger.adapters.store.db import Database
from ledger.adapters.store.heatmaps import find_heatmap, keep_heatmap
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import HeatmapRow
from ledger.adapters.store.repository import utcnow


def rows(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(HeatmapRow)) or 0)


def test_heatmaps_expire_are_bounded_and_cleaned(database_url: str) -> None:
    db = Database(database_url)
    upgrade(db.engine)
    try:
        for i in range(5):
            keep_heatmap(db, f"v_{i}", b"png%d" % i, ttl_seconds=600 + i, max_rows=3)
        assert rows(db) == 3
        assert [find_heatmap(db, f"v_{i}") for i in range(5)] == [None, None, b"png2", b"png3", b"png4"]

        with db.write() as session:  # v_2 expired a moment ago
            session.execute(update(HeatmapRow).where(HeatmapRow.verification_id == "v_2").values(expires_at=utcnow()))
        assert find_heatmap(db, "v_2") is None
        keep_heatmap(db, "v_5", b"png5", ttl_seconds=600, max_rows=3)
        with db.read() as session:
            assert sorted(session.scalars(select(HeatmapRow.verification_id))) == ["v_3", "v_4", "v_5"]
    finally:
        db.dispose()
