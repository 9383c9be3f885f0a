"""What a fault test counts: registrations on chain (from the contract's own events, read with web3's decoder, not
the indexer's) and in the mirror, per content hash, so a lost one (0) and a doubled one (2) both show."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from ledger.adapters.store.db import Database
from ledger.adapters.store.models import RecordRow


def registered_events(client: Any, from_block: int) -> dict[str, int]:
    """Content hash -> number of ``Registered`` events the contract emitted for it."""
    logs = client.contract.events.Registered().get_logs(from_block=from_block, to_block="latest")
    return dict(Counter("0x" + bytes(log["args"]["contentHash"]).hex() for log in logs))


def mirrored_records(db: Database) -> dict[str, int]:
    """Content hash -> number of records the mirror holds for it."""
    with db.read() as session:
        return dict(Counter(session.scalars(select(RecordRow.content_hash)).all()))
