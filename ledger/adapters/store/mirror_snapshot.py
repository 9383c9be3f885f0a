"""The mirror as plain rows, for ``provenance audit mirror`` to compare with what it recomputes from the chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ledger.adapters.store.db import Database
from ledger.adapters.store.models import BatchRow, ChainEventRow, CheckpointRow, PublisherRow, RecordRow

Row = dict[str, Any]
# table -> (model, primary key columns)
MIRROR_TABLES: dict[str, tuple[type, tuple[str, ...]]] = {
    "chain_events": (ChainEventRow, ("tx_hash", "log_index")),
    "records": (RecordRow, ("uid",)),
    "publishers": (PublisherRow, ("address",)),
}


@dataclass(frozen=True, slots=True)
class MirrorSnapshot:
    checkpoint_block: int | None
    tables: dict[str, list[Row]]  # rows as of the checkpoint
    keys: dict[str, tuple[str, ...]]
    trees: dict[tuple[str, str], dict[str, Any]]  # (publisher, root) -> Merkle tree dump


def snapshot(db: Database, contract: str, deploy_block: int) -> MirrorSnapshot:
    with db.read() as session:
        checkpoint = session.get(CheckpointRow, contract)
        up_to = checkpoint.block_number if checkpoint else deploy_block - 1
        tables = {}
        for name, (model, _keys) in MIRROR_TABLES.items():
            columns = [c.name for c in model.__table__.columns]  # type: ignore[attr-defined]
            query = select(model)
            if "block_number" in columns:
                query = query.where(model.block_number <= up_to)  # type: ignore[attr-defined]
            tables[name] = [{c: getattr(obj, c) for c in columns} for obj in session.scalars(query)]
        trees = {(b.publisher, b.root): json.loads(b.tree) for b in session.scalars(select(BatchRow))}
    return MirrorSnapshot(up_to, tables, {name: keys for name, (_m, keys) in MIRROR_TABLES.items()}, trees)
