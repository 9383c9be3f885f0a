"""A Merkle batch's leaves, published at the URI its root was anchored with, so anyone can rebuild the tree."""

from __future__ import annotations

import json
from typing import Any

from eth_utils import is_address, to_checksum_address

from ledger.adapters.store import repository as repo
from ledger.core.types import parse_hash32
from ledger.errors import NotFound
from ledger.usecases.context import Context


def batch_tree(ctx: Context, publisher: str, root: str) -> dict[str, Any]:
    """The OpenZeppelin StandardMerkleTree dump (``standard-v1``) of a batch's registrations, with its status."""
    root = parse_hash32(root, "root")
    if not is_address(publisher):
        raise NotFound(f"{publisher!r} is not an address")
    with ctx.db.read() as session:
        batch = repo.batch(session, to_checksum_address(publisher), root)
    if batch is None:
        raise NotFound(f"no batch {root} of publisher {publisher} here")
    return {"publisher": batch.publisher, "root": batch.root, "count": batch.count, "status": batch.status,
            "tx_hash": batch.tx_hash, "tree": json.loads(batch.tree)}  # fmt: skip
