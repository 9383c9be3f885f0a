"""The wild path's descriptor index as a process holds it: searched by request threads while one feeder thread adds
registered pictures, mapped from image numbers to content hashes, and moved from an exact flat index to an IVF
index once it holds ``FLAT_LIMIT`` pictures (the flat scan grows linearly; the IVF scan stays about constant,
measured in docs/matching.md). The IVF is rebuilt whenever the picture count has doubled since its last build, so
its lists stay near ``LIST_SIZE`` descriptors and its centroids come from the pictures it holds (a rebuild reads
the codes back from the index, no second copy is kept; doubling keeps the total rebuild work within twice one
build). The feeder thread adds; a build runs on a thread of its own while the feeder and searches go on with the
old index, which is swapped out when the new one is ready (with what was added meanwhile)."""

from __future__ import annotations

import threading

import faiss
import numpy as np

from ledger.core.wild.local_features import Features
from ledger.core.wild.local_index import FLAT_LIMIT, ID_STRIDE, Candidate, LocalIndex

LIST_SIZE = 256  # descriptors per IVF list on average (nlist = descriptors / LIST_SIZE, a power of two)
CATCH_UP_ROUNDS = 4  # passes over what was added during a build before the feeder is held for the last of it


class SharedLocalIndex:
    def __init__(self, flat_limit: int = FLAT_LIMIT) -> None:
        self._index = LocalIndex.flat()
        self._flat = True
        self._built_at = 0  # pictures the latest IVF build started from
        self._flat_limit = flat_limit
        self._lock = threading.Lock()  # searches and swaps
        self._writing = threading.Lock()  # adds, reading the codes for a build, and a build's last catch-up
        self._numbers: dict[str, int] = {}
        self._contents: list[str] = []
        self._rebuild: threading.Thread | None = None
        self._pending: list[tuple[int, np.ndarray]] = []  # added while a build runs: go into the new index too
        self._retry_at = 0  # after a failed build: the picture count at which to try again
        self.builds = 0  # IVF builds swapped in
        self.failed_builds = 0

    @property
    def ntotal(self) -> int:
        with self._lock:
            return self._index.ntotal

    @property
    def kind(self) -> str:
        return "flat" if self._flat else "ivf"

    @property
    def built_at(self) -> int:
        """Pictures the latest IVF build started from (0 while the index is flat)."""
        return self._built_at if not self._flat else 0

    def __len__(self) -> int:
        return len(self._contents)

    def add(self, content_hash: str, features: Features) -> bool:
        """Index one registered picture's descriptors (idempotent by content hash). Call from one thread."""
        if content_hash in self._numbers or len(features) == 0:
            return False
        with self._writing:
            with self._lock:
                number = len(self._contents)
                self._numbers[content_hash] = number
                self._contents.append(content_hash)
                self._index.add(number, features.descriptors)
            if self._rebuild is not None:
                self._pending.append((number, features.descriptors))
            elif self._due():
                self._start_rebuild()
        return True

    def search(self, descriptors: np.ndarray, top_k: int) -> list[Candidate]:
        with self._lock:
            return self._index.search(descriptors, top_k=top_k)

    def content_of(self, number: int) -> str | None:
        return self._contents[number] if 0 <= number < len(self._contents) else None

    def settle(self, timeout: float | None = None) -> bool:
        """Wait for a running build (and any it made due) to finish; True if none is left running."""
        while (thread := self._rebuild) is not None:
            thread.join(timeout)
            if thread.is_alive():
                return False
        return True

    def _due(self) -> bool:
        pictures = len(self._contents)
        if pictures < self._retry_at:
            return False
        return pictures >= self._flat_limit if self._flat else pictures >= 2 * self._built_at

    def _start_rebuild(self) -> None:
        """Copy the codes (with ``_writing`` held, so nothing is added meanwhile; searches go on) and build the new
        IVF on a thread of its own."""
        codes, ids = _codes_and_ids(self._index.index)
        self._built_at = len(self._contents)
        self._pending = []
        self._rebuild = threading.Thread(target=self._build, args=(codes, ids), name="wild-index-rebuild", daemon=True)
        self._rebuild.start()

    def _build(self, codes: np.ndarray, ids: np.ndarray) -> None:
        try:
            nlist = 1 << max(8, int(np.log2(max(1, len(codes) // LIST_SIZE))))
            ivf = LocalIndex.ivf(codes, min(nlist, len(codes)))
            ivf.add_many(ids // ID_STRIDE, codes, ids % ID_STRIDE)
            for _ in range(CATCH_UP_ROUNDS):  # what the feeder added meanwhile, without stopping it
                with self._writing:
                    caught, self._pending = self._pending, []
                if len(caught) == 0:
                    break
                for number, descriptors in caught:
                    ivf.add(number, descriptors)
            with self._writing:  # the rest with the feeder held (searches still go on), then the swap
                for number, descriptors in self._pending:
                    ivf.add(number, descriptors)
                with self._lock:
                    self._index, self._flat = ivf, False
                self.builds += 1
                self._pending, self._rebuild = [], None
                if self._due():  # the feeder doubled the count during the build
                    self._start_rebuild()
        except BaseException:
            # The old index stays and keeps answering. A failure that lasts (memory, say) must not turn every add
            # into another copy of all codes and another failed build: try again once the count has doubled.
            with self._writing:
                self._pending, self._rebuild = [], None
                self._retry_at = 2 * len(self._contents)
                self.failed_builds += 1
            raise


def _codes_and_ids(index: faiss.IndexBinary) -> tuple[np.ndarray, np.ndarray]:
    """Every (32-byte code, id) an IndexBinaryIDMap2-over-flat or an IndexBinaryIVF holds, as numpy copies."""
    if isinstance(index, faiss.IndexBinaryIVF):
        invlists = index.invlists
        codes, ids = [], []
        for lst in range(index.nlist):
            size = invlists.list_size(lst)
            if size == 0:
                continue
            codes.append(faiss.rev_swig_ptr(invlists.get_codes(lst), size * 32).reshape(size, 32).copy())
            ids.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
        if not codes:
            return np.zeros((0, 32), np.uint8), np.zeros(0, np.int64)
        return np.concatenate(codes), np.concatenate(ids).astype(np.int64)
    flat = faiss.downcast_IndexBinary(index.index)
    return faiss.vector_to_array(flat.xb).reshape(-1, 32), faiss.vector_to_array(index.id_map).astype(np.int64)
