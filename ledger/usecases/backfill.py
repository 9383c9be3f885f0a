"""Give pictures registered before the wild path existed their local features, computed from their stored
reference copies (the same 512 px picture registration extracts them from). Pictures registered without a
reference copy cannot gain them: they stay findable by their whole-picture hashes only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ledger.adapters.store import matching_data
from ledger.adapters.store.db import Database
from ledger.core.reference import load_reference
from ledger.core.wild.local_features import extract_register

CHUNK = 200  # reference copies per read and write


@dataclass(frozen=True, slots=True)
class Backfilled:
    added: int
    left: int  # still without features (0 unless stopped early)


def backfill_local_features(db: Database, progress: Callable[[int, int], None] | None = None) -> Backfilled:
    """Compute and store local features for every reference copy that has none; ``progress(done, total)``."""
    total = matching_data.count_references_without_features(db)
    done = 0
    while True:
        rows = matching_data.references_without_features(db, CHUNK)
        if not rows:
            break
        items = []
        for content_hash, data in rows:
            image: np.ndarray = load_reference(content_hash, data, 0, 0).image
            items.append((content_hash, extract_register(image).to_bytes()))
        matching_data.keep_local_features(db, items)
        done += len(items)
        if progress is not None:
            progress(done, total)
    return Backfilled(done, matching_data.count_references_without_features(db))
