"""Retrieval for the wild path: a faiss binary index over every registered image's ORB descriptors; each query
descriptor's nearest neighbours vote for their images; the top-K images go on to geometric verification.

Why: a copy shares tens of near-identical descriptors (hamming <= ~50 of 256 bits) with its original, a distinct
picture only a few chance neighbours. Votes are weighted by closeness and each query descriptor gives at most one
vote per image (so repeated texture does not stuff the ballot). Ids are image_number * ID_STRIDE + descriptor
number, so the side table (descriptor geometry) needs no extra id map.

Index choice by size (docs/matching.md):
- < FLAT_LIMIT (32) images: IndexBinaryFlat (exact; 32 B per descriptor, 6.4 KB per image).
- larger: IndexBinaryIVF (rebuilt each time the count doubles: shared_index.py) over centroids sampled from the data
  (binary k-means on one core is too slow and gains little for ORB), found by an exact flat scan of the centroids
  up to FLAT_QUANTIZER_UP_TO lists and by an HNSW above; nprobe small; 32 B code + 8 B id = 40 B per descriptor
  = 8,000 B per image at 200 descriptors.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

ID_STRIDE = 256  # ids: image_number * 256 + descriptor number (<= 200 descriptors per image)
K_NEIGHBOURS = 2  # neighbours per query descriptor (4 gave the same ranks, NOTES.md)
VOTE_MAX_HAMMING = 32  # a neighbour farther than this does not vote. 64 let UI-text neighbours outvote the photo
# in screenshots (true photo rank 1: 12-15 %); 40: 48-61 %; 32: 85-88 % (NOTES.md, 33 photos + 300 distractors)
TOP_K = 12  # candidates passed to geometric verification
FLAT_LIMIT = 32  # images; from here an IVF index, rebuilt as it doubles (shared_index.py). A flat vote costs
# ~0.7 ms per picture (27 ms at 32, 635 at 1,000), the IVF 4.5-23 ms from 32 to 1,000 (bench_match.py, part "vote");
# from 32 on, the wild benchmark found the same copies with the IVF as with the flat index (docs/matching.md)
NPROBE = 6
# The HNSW quantizer's search breadth. It finds each query descriptor's NPROBE lists, and with 1,500 descriptors a
# vote it cost more than scanning the lists: 62 of 107 ms at 100,000 pictures with 32 (scripts/bench_match.py's
# wild index part); 12: ~25 ms, the same true photos among the candidates (86.7%) and named (81.7%). 8 and 4
# (2026-12-02, that part with its PDQ index padded, scratch ef.py): the vote 34-35 and 33 ms median against 40-41
# at 12, the true photo among the candidates (88.3%) and named (86.7%) unchanged at both.
QUANTIZER_EF_SEARCH = 8
# Up to this many lists the quantizer is an exact flat scan of the centroids. Every vote, every picture added and
# every rebuild assigns descriptors to lists, and below a few thousand pictures the HNSW was most of their cost:
# a vote took 11.3 -> 4.5 ms at 32 pictures, 16.2 -> 7.6 at 256, 36.7 -> 22.8 at 1,000 (bench_match.py part
# "vote", runs of 2026-12-01 03:33 and 04:38, docs/matching.md).
FLAT_QUANTIZER_UP_TO = 2048


VOTE_DESCRIPTORS = 1500  # query descriptors per orientation used for voting (spread-selected); all go to verification. 1,000: the same detections on the small benchmark registry, but the true photo among the candidates at 100,000 registered fell from 86.7% to 85.0% (1 MP copies)


def vote_descriptors(features) -> np.ndarray:  # noqa: ANN001
    """The query descriptors that vote: up to VOTE_DESCRIPTORS of one orientation, spread over the image (the
    strongest ORB responses sit on UI text in screenshots)."""
    from ledger.core.wild.local_features import spread_indices

    if features is None or len(features) == 0:
        return np.zeros((0, 32), np.uint8)
    return features.descriptors[spread_indices(features, VOTE_DESCRIPTORS)]


@dataclass(frozen=True, slots=True)
class Candidate:
    image: int  # image number (the caller maps it to a content hash)
    votes: float


class LocalIndex:
    """Binary descriptor index with per-image voting. ``add`` takes the image number and its (n, 32) descriptors."""

    def __init__(self, index: faiss.IndexBinary) -> None:
        self.index = index
        self._quantizer = None

    @classmethod
    def flat(cls) -> LocalIndex:
        return cls(faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(256)))

    @classmethod
    def ivf(cls, training: np.ndarray, nlist: int, seed: int = 0) -> LocalIndex:
        """IVF whose centroids are ``nlist`` descriptors sampled from ``training`` (no k-means), found by a flat scan
        up to FLAT_QUANTIZER_UP_TO lists, by an HNSW above."""
        rng = np.random.default_rng(seed)
        cent = training[rng.choice(len(training), nlist, replace=False)]
        if nlist <= FLAT_QUANTIZER_UP_TO:
            quantizer = faiss.IndexBinaryFlat(256)
        else:
            quantizer = faiss.IndexBinaryHNSW(256, 16)
            quantizer.hnsw.efSearch = QUANTIZER_EF_SEARCH
        quantizer.add(cent)
        ivf = faiss.IndexBinaryIVF(quantizer, 256, nlist)
        ivf.is_trained = True
        ivf.nprobe = NPROBE
        out = cls(ivf)
        out._quantizer = quantizer  # keep the quantizer alive (faiss does not own it)
        return out

    def quantizer_assign(self, descriptors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest IVF list of each descriptor (distances, list numbers)."""
        D, I = self.index.quantizer.search(np.ascontiguousarray(descriptors, dtype=np.uint8), 1)
        return D[:, 0], I[:, 0]

    def add_precomputed(self, images: np.ndarray, descriptors: np.ndarray, numbers: np.ndarray, lists: np.ndarray) -> None:
        """Add with known IVF lists (benchmark filling only)."""
        ids = images.astype(np.int64) * ID_STRIDE + numbers.astype(np.int64)
        x = np.ascontiguousarray(descriptors, dtype=np.uint8)
        self.index.add_core(len(x), faiss.swig_ptr(x), faiss.swig_ptr(ids), faiss.swig_ptr(np.ascontiguousarray(lists, dtype=np.int64)))

    def set_nprobe(self, nprobe: int) -> None:
        self.index.nprobe = nprobe

    def add(self, image: int, descriptors: np.ndarray) -> None:
        self.add_many(np.full(len(descriptors), image, np.int64), descriptors, np.arange(len(descriptors)))

    def add_many(self, images: np.ndarray, descriptors: np.ndarray, numbers: np.ndarray) -> None:
        ids = images.astype(np.int64) * ID_STRIDE + numbers.astype(np.int64)
        self.index.add_with_ids(np.ascontiguousarray(descriptors, dtype=np.uint8), ids)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, descriptors: np.ndarray, top_k: int = TOP_K, k: int = K_NEIGHBOURS) -> list[Candidate]:
        """Top ``top_k`` images by weighted votes of the query descriptors' ``k`` nearest neighbours."""
        if len(descriptors) == 0 or self.ntotal == 0:
            return []
        D, I = self.index.search(np.ascontiguousarray(descriptors, dtype=np.uint8), k)
        ok = (I >= 0) & (D <= VOTE_MAX_HAMMING)
        img = np.where(ok, I // ID_STRIDE, -1)
        w = np.where(ok, (VOTE_MAX_HAMMING + 1 - D) / (VOTE_MAX_HAMMING + 1.0), 0.0)  # closer counts more
        # at most one vote per (query descriptor, image): the closest (neighbours come sorted by distance)
        rows = np.repeat(np.arange(len(img)), img.shape[1])
        flat_img, flat_w = img.ravel(), w.ravel()
        keep = flat_img >= 0
        rows, flat_img, flat_w = rows[keep], flat_img[keep], flat_w[keep]
        if len(flat_img) == 0:
            return []
        key = rows * (int(flat_img.max()) + 1) + flat_img
        _, first = np.unique(key, return_index=True)
        votes_img, votes_w = flat_img[first], flat_w[first]
        uniq, inv = np.unique(votes_img, return_inverse=True)
        score = np.bincount(inv, weights=votes_w)
        top = np.argsort(-score)[:top_k]
        return [Candidate(int(uniq[i]), float(score[i])) for i in top]

    def bytes_used(self) -> int:
        """Bytes of the serialised index (what a shard holds in RAM)."""
        return int(faiss.serialize_index_binary(self.index).nbytes)
