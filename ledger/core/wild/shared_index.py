"""The wild path's descriptor index as a process holds it: searched by request threads while one feeder thread adds
registered pictures, mapped from image numbers to content hashes, and moved from an exact flat index to an IVF
index once it holds ``FLAT_LIMIT`` pictures (the flat scan grows linearly; the IVF scan stays about constant,
measured in docs/matching.md). Adding and the move happen on the feeder's thread; searches are never blocked for
longer than a swap."""

from __future__ import annotations

import threading

import faiss
import numpy as np

from ledger.core.wild.local_features import Features
from ledger.core.wild.local_index import FLAT_LIMIT, ID_STRIDE, Candidate, LocalIndex

LIST_SIZE = 256  # descriptors per IVF list on average (nlist = descriptors / LIST_SIZE, a power of two)


class SharedLocalIndex:
    def __init__(self, flat_limit: int = FLAT_LIMIT) -> None:
        self._index = LocalIndex.flat()
        self._flat = True
        self._flat_limit = flat_limit
        self._lock = threading.Lock()
        self._numbers: dict[str, int] = {}
        self._contents: list[str] = []

    @property
    def ntotal(self) -> int:
        with self._lock:
            return self._index.ntotal

    @property
    def kind(self) -> str:
        return "flat" if self._flat else "ivf"

    def __len__(self) -> int:
        return len(self._contents)

    def add(self, content_hash: str, features: Features) -> bool:
        """Index one registered picture's descriptors (idempotent by content hash). Call from one thread."""
        if content_hash in self._numbers or len(features) == 0:
            return False
        with self._lock:
            number = len(self._contents)
            self._numbers[content_hash] = number
            self._contents.append(content_hash)
            self._index.add(number, features.descriptors)
        if self._flat and len(self._contents) >= self._flat_limit:
            self._move_to_ivf()
        return True

    def search(self, descriptors: np.ndarray, top_k: int) -> list[Candidate]:
        with self._lock:
            return self._index.search(descriptors, top_k=top_k)

    def content_of(self, number: int) -> str | None:
        return self._contents[number] if 0 <= number < len(self._contents) else None

    def _move_to_ivf(self) -> None:
        """Rebuild as IVF from the flat index's own codes, outside the lock, then swap."""
        flat_map = self._index.index  # IndexBinaryIDMap2 over IndexBinaryFlat
        ids = faiss.vector_to_array(flat_map.id_map).astype(np.int64)
        codes = faiss.vector_to_array(faiss.downcast_IndexBinary(flat_map.index).xb).reshape(-1, 32)
        nlist = 1 << max(8, int(np.log2(max(1, len(codes) // LIST_SIZE))))
        ivf = LocalIndex.ivf(codes, min(nlist, len(codes)))
        ivf.add_many(ids // ID_STRIDE, codes, ids % ID_STRIDE)
        with self._lock:
            self._index, self._flat = ivf, False
