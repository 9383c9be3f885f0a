"""A Merkle batch's leaves, published at the URI its root was anchored with, so anyone can rebuild the tree."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import StateDep
from ledger.usecases.batches import batch_tree

router = APIRouter(prefix="/v1/batches", tags=["audit"])


@router.get("/{publisher}/{root}")
def batch_tree_route(publisher: str, root: str, state: StateDep) -> dict[str, Any]:
    """The OpenZeppelin StandardMerkleTree dump (``standard-v1``) of the batch's registrations."""
    return batch_tree(state.context, publisher, root)
