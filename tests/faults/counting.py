"""What a fault test counts: registrations on chain (from the contract's own events, read with web3's decoder, not
the indexer's) and in the mirror, per content hash, so a lost one (0) and a doubled one (2) both show."""

from __future__ import annotations

import json
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


def batched_on_chain(client: Any, db: Database, from_block: int) -> dict[str, int]:
    """Content hash -> number of Merkle roots anchored on chain (``BatchAnchored``, read with web3's decoder) whose
    tree holds it. The trees come from the outbox (the chain has only roots), each checked to hash up to its root,
    so an item in two anchored roots (doubled) or in none (lost) shows."""
    from ledger.adapters.store.models import BatchRow
    from ledger.core.merkle import MerkleTree

    found: Counter[str] = Counter()
    events = client.contract.events.BatchAnchored().get_logs(from_block=from_block, to_block="latest")
    with db.read() as session:
        for event in events:
            root = "0x" + bytes(event["args"]["root"]).hex()
            batch = session.scalars(select(BatchRow).where(BatchRow.root == root)).first()
            if batch is None:
                continue
            tree = MerkleTree.load(json.loads(batch.tree))
            assert str(tree.root).lower() == root, f"the stored tree of {root} hashes to {tree.root}"
            found.update(str(value[0]).lower() for value in tree.values)
    return dict(found)


def revoked_events(client: Any, from_block: int) -> dict[str, int]:
    """Record uid -> number of ``Revoked`` events the contract emitted for it."""
    logs = client.contract.events.Revoked().get_logs(from_block=from_block, to_block="latest")
    return dict(Counter("0x" + bytes(log["args"]["uid"]).hex() for log in logs))
