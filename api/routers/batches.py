"""A Merkle batch's leaves, published at the URI its root was anchored with, so anyone can rebuild the tree."""

from __future__ import annotations

import json
from typing import Any

from eth_utils import is_address, to_checksum_address
from fastapi import APIRouter

from api.deps import StateDep
from ledger.errors import NotFound
from ledger.adapters.store.models import BatchRow
from ledger.core.types import parse_hash32

router = APIRouter(prefix="/v1/batches", tags=["audit"])


@router.get("/{publisher}/{root}")
def batch_tree(publisher: str, root: str, state: StateDep) -> dict[str, Any]:
    """The OpenZeppelin StandardMerkleTree dump (``standard-v1``) of the batch's registrations."""
    root = parse_hash32(root, "root")
    if not is_address(publisher):
        raise NotFound(f"{publisher!r} is not an address")
    with state.db.read() as session:
        batch = session.get(BatchRow, (to_checksum_address(publisher), root))
    if batch is None:
        raise NotFound(f"no batch {root} of publisher {publisher} here")
    return {"publisher": batch.publisher, "root": batch.root, "count": batch.count, "status": batch.status,
            "tx_hash": batch.tx_hash, "tree": json.loads(batch.tree)}  # fmt: skip
