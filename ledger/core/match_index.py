"""The match index: every registered PDQ hash (and its trimmed variant), searched exactly within a Hamming radius.

- **fast path** (``MatchIndex.search_fast``): per registered image its on-chain PDQ hash and, when it has borders,
  the hash of its trimmed picture; the reader's image contributes its own hash, its trimmed hash and the hashes of
  its 7 rotations/flips turned back (``turned_queries``), so a turned copy meets the registered hash.
- **scheme-1 rows** (registered before 2026-11-30) also carry the 7 rotations/flips, centre crops, a 5x5 grid of
  windows at three scales and thirds; they still load into ``turned``, ``crops`` and ``parts`` and are searched by
  ``search_crops`` / ``search_parts``. New registrations leave crops and overlays to the wild path
  (``ledger.core.wild``), which finds them by local features.

All are ``faiss.IndexBinaryFlat`` (exact, brute force in C++ with popcount). Note that faiss's binary
``range_search`` returns distances strictly below the radius: ``_range`` passes ``radius + 1``.

Pure core: numpy, faiss and the fingerprint module; no database. Thread-safe: one lock around faiss calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import faiss
import numpy as np

from ledger.core import pdq_matrix
from ledger.core.fingerprint import Dihedral, crop, pdq_array, trim_box

# PDQ's own match threshold ("31" in the reference docs and ThreatExchange's PdqSignal). Measured here: distinct
# photos were never closer than 102 bits, and 95-100% of recompressions and rescales fall within 31 (DESIGN.md).
MATCH_DISTANCE = 31
# Candidates for the second stage: crops, overlays and screenshots land between 32 and 63 (DESIGN.md: 84% of
# 90%-area crops and 96% of 5% logo boxes within 63). Never a match on the hash alone.
CANDIDATE_DISTANCE = 63
# Last resort for hashes PDQ itself moves a lot (flat seascapes, a bright box over a dark photo): the few nearest
# whole-picture hashes up to this distance go to the second stage, which alone decides. Random 256-bit hashes sit
# at 128 +- 8, so 96 is 4 sigma out; the closest distinct pair measured here was 80 (bench/results/match.json), and
# the second stage confirmed none of 6,630 distinct pairs forced through it.
EXTENDED_DISTANCE = 96

HASH_BYTES = 32
VARIANT_SCHEME = 2  # 2: the trimmed hash only (see index_variants); 1: also rotations, crops, windows, thirds

# Variant codes (stored with each registered image; see ``index_variants``).
FULL = 0  # the on-chain PDQ hash; 1-7 are the other ``Dihedral`` values of the whole picture
TRIMMED = 8
CENTRE_90 = 9
CENTRE_80 = 10
THIRDS = (11, 12, 13, 14)  # left, right, top, bottom third: an overlay anywhere leaves one of them untouched
REGION_BASE = 100  # 100 + scale * 25 + row * 5 + col
REGION_SCALES = (0.95, 0.9, 0.85)  # window side as a share of the picture's side
REGION_GRID = 5
CENTRE_SIDES = {CENTRE_90: 0.9**0.5, CENTRE_80: 0.8**0.5}  # side share keeping 90% / 80% of the area
THIRD_BOXES = {11: (0.0, 0.0, 1 / 3, 1.0), 12: (2 / 3, 0.0, 1.0, 1.0), 13: (0.0, 0.0, 1.0, 1 / 3), 14: (0.0, 2 / 3, 1.0, 1.0)}

FAST_VARIANTS = frozenset(range(0, 9))


def is_fast(variant: int) -> bool:
    return variant in FAST_VARIANTS


def variant_dihedral(variant: int) -> Dihedral:
    return Dihedral(variant) if 0 <= variant <= 7 else Dihedral.IDENTITY


def is_part(variant: int) -> bool:
    return variant in THIRD_BOXES


def variant_box(variant: int) -> tuple[float, float, float, float] | None:
    """The window of the original (shares of its width and height) that a crop-path variant hashed (None for the
    whole picture; thirds are compared as whole pictures: only the reader's matching third was hashed)."""
    if variant in CENTRE_SIDES:
        side = CENTRE_SIDES[variant]
        margin = (1 - side) / 2
        return (margin, margin, margin + side, margin + side)
    if variant >= REGION_BASE:
        index = variant - REGION_BASE
        scale, rest = divmod(index, REGION_GRID * REGION_GRID)
        row, col = divmod(rest, REGION_GRID)
        side = REGION_SCALES[scale]
        step = (1 - side) / (REGION_GRID - 1)
        return (col * step, row * step, col * step + side, row * step + side)
    return None


def variant_name(variant: int) -> str:
    if variant == FULL:
        return "full"
    if 1 <= variant <= 7:
        return Dihedral(variant).name.lower()
    if variant == TRIMMED:
        return "trimmed"
    if variant == CENTRE_90:
        return "centre_crop_90"
    if variant == CENTRE_80:
        return "centre_crop_80"
    if variant in THIRD_BOXES:
        return "third"
    return "region"


@dataclass(frozen=True, slots=True)
class IndexedHash:
    variant: int
    pdq: str  # 0x-prefixed hex
    quality: int


def _window(array: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    height, width = array.shape[:2]
    x0, y0, x1, y1 = box
    return array[round(y0 * height) : round(y1 * height), round(x0 * width) : round(x1 * width)]


def index_variants(image: np.ndarray) -> list[IndexedHash]:
    """The hashes a registered image adds to the index besides its on-chain PDQ, from its hash image: the hash of
    its border-trimmed picture, when it has borders (scheme 2).

    Scheme 1 also stored the 7 rotations/flips, centre crops, grid windows and thirds (84 hashes, ~160 ms a
    registration). Rotations and flips are now hashed on the reader's side (``turned_queries``: the same
    comparison, paid once per verify instead of once per registration), and crops and overlays are the wild
    path's (``ledger.core.wild``). Rows stored under scheme 1 still load and are still searched."""
    trim = trim_box(image)
    if trim is None:
        return []
    pdq, quality = pdq_array(crop(image, trim.box))
    return [IndexedHash(TRIMMED, pdq, quality)]


def turned_queries(grey: np.ndarray) -> list[tuple[int, str]]:
    """(variant, PDQ) of the reader's hash image (its luma, ``pdq_matrix.luma``) turned back by each of the 7
    rotations/flips: if the reader holds ``Dihedral(variant)`` applied to a registered picture, the hash for that
    variant is near the registered one."""
    return pdq_matrix.turned_hashes(grey)


def third_hashes(grey: np.ndarray) -> list[tuple[int, str, int]]:
    """(code, PDQ, quality) of the picture's left, right, top and bottom thirds (of its luma)."""
    return [(code, *pdq_matrix.pdq_luma(_window(grey, box))) for code, box in THIRD_BOXES.items()]


# -- packing variants for storage -------------------------------------------------------------------------------
_PACKED = np.dtype([("variant", "<u2"), ("quality", "u1"), ("hash", "u1", (HASH_BYTES,))])


def pack_variants(variants: Sequence[IndexedHash]) -> bytes:
    """35 bytes per variant: code (uint16 LE), quality (uint8), hash (32 bytes)."""
    rows = np.zeros(len(variants), dtype=_PACKED)
    for i, v in enumerate(variants):
        rows[i] = (v.variant, v.quality, np.frombuffer(bytes.fromhex(v.pdq[2:]), dtype=np.uint8))
    return rows.tobytes()


def unpack_variants(blob: bytes) -> np.ndarray:
    """A structured array with fields variant, quality, hash (as written by ``pack_variants``)."""
    return np.frombuffer(blob, dtype=_PACKED)


def hex_code(pdq: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(pdq[2:] if pdq.startswith("0x") else pdq), dtype=np.uint8)


def code_hex(code: np.ndarray) -> str:
    return "0x" + bytes(code).hex()


# -- the indexes ------------------------------------------------------------------------------------------------
class _Column:
    """A growable numpy column (capacity doubling), read by position."""

    def __init__(self, dtype: str) -> None:
        self._data = np.zeros(1024, dtype=dtype)
        self._size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self._size + len(values)
        if need > len(self._data):
            grown = np.zeros(max(need, 2 * len(self._data)), dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : need] = values
        self._size = need

    def take(self, positions: np.ndarray) -> np.ndarray:
        return self._data[positions]

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)


class HashIndex:
    """One exact binary index with, per entry, the image it belongs to, the variant code and the quality."""

    def __init__(self) -> None:
        self._faiss = faiss.IndexBinaryFlat(HASH_BYTES * 8)
        self._content = _Column("int32")
        self._variant = _Column("int16")
        self._quality = _Column("int8")  # -1: not known (an image registered elsewhere, only its on-chain hash)

    def __len__(self) -> int:
        return int(self._faiss.ntotal)

    @property
    def nbytes(self) -> int:
        return len(self) * HASH_BYTES + self._content.nbytes + self._variant.nbytes + self._quality.nbytes

    def add(self, codes: np.ndarray, content: np.ndarray, variant: np.ndarray, quality: np.ndarray) -> None:
        if len(codes) == 0:
            return
        self._faiss.add(np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, HASH_BYTES))
        self._content.extend(content)
        self._variant.extend(variant)
        self._quality.extend(quality)

    def range(self, queries: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every entry within ``radius`` (inclusive) of each query: (query row, content, variant, quality, distance)."""
        if len(self) == 0 or len(queries) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty, empty
        lims, distances, ids = self._faiss.range_search(np.ascontiguousarray(queries, dtype=np.uint8), radius + 1)
        rows = np.repeat(np.arange(len(queries)), np.diff(lims).astype(np.int64))
        return rows, self._content.take(ids), self._variant.take(ids), self._quality.take(ids), distances


@dataclass(frozen=True, slots=True)
class Hit:
    """One registered image near the reader's image: through which of its variants, from which query hash."""

    content_hash: str
    variant: int
    distance: int
    quality: int | None  # the registered hash's quality, when known
    query: str  # "full" (the reader's image as sent) or "trimmed" (its borders/bars removed)

    @property
    def fast(self) -> bool:
        return is_fast(self.variant)


class MatchIndex:
    """The fast-path and crop-path indexes over registered images, keyed by the file's SHA-256."""

    def __init__(self) -> None:
        self.upright = HashIndex()  # full + trimmed hashes
        self.turned = HashIndex()  # the 7 other rotations/flips
        self.crops = HashIndex()  # centre crops and grid windows
        self.parts = HashIndex()  # thirds (overlays)
        self._contents: list[str] = []
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._contents)

    def __contains__(self, content_hash: object) -> bool:
        return content_hash in self._ids

    def sizes(self) -> dict[str, int]:
        return {
            "images": len(self._contents),
            "fast_entries": len(self.upright) + len(self.turned),
            "crop_entries": len(self.crops) + len(self.parts),
            "fast_bytes": self.upright.nbytes + self.turned.nbytes,
            "crop_bytes": self.crops.nbytes + self.parts.nbytes,
        }

    def add(
        self, content_hash: str, pdq: str, quality: int | None, variants: Iterable[IndexedHash] | np.ndarray | None = None
    ) -> bool:
        """Index one image (idempotent by content hash). ``variants``: ``IndexedHash`` values or the structured
        array ``unpack_variants`` returns; without them only the on-chain hash is searched."""
        return self.add_many([(content_hash, pdq, quality, variants)]) == 1

    def add_many(self, items: Iterable[tuple[str, str, int | None, Iterable[IndexedHash] | np.ndarray | None]]) -> int:
        batches: dict[str, list[tuple[np.ndarray, int, int, int]]] = {"upright": [], "turned": [], "crops": [], "parts": []}
        added = 0
        with self._lock:
            for content_hash, pdq, quality, variants in items:
                if content_hash in self._ids:
                    continue
                cid = len(self._contents)
                self._ids[content_hash] = cid
                self._contents.append(content_hash)
                added += 1
                batches["upright"].append((hex_code(pdq), cid, FULL, -1 if quality is None else quality))
                for code, variant, q in _iter_variants(variants):
                    if variant in THIRD_BOXES:
                        target = "parts"
                    elif variant > TRIMMED:
                        target = "crops"
                    else:
                        target = "upright" if variant in (FULL, TRIMMED) else "turned"
                    batches[target].append((code, cid, variant, q))
            for name, rows in batches.items():
                if rows:
                    getattr(self, name).add(
                        np.stack([r[0] for r in rows]),
                        np.array([r[1] for r in rows], dtype=np.int32),
                        np.array([r[2] for r in rows], dtype=np.int16),
                        np.array([r[3] for r in rows], dtype=np.int8),
                    )
        return added

    def bulk_load(self, content_hashes: Sequence[str], **parts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
        """Load many images at once (benchmarks): ``parts`` maps "upright"/"turned"/"crops" to (codes, content
        positions into ``content_hashes``, variants, qualities). The index must be empty."""
        with self._lock:
            if self._contents:
                raise ValueError("bulk_load needs an empty index")
            self._contents = list(content_hashes)
            self._ids = {c: i for i, c in enumerate(self._contents)}
            for name, (codes, content, variant, quality) in parts.items():
                getattr(self, name).add(codes, content, variant, quality)

    def _search(self, indexes: Sequence[HashIndex], queries: list[tuple[str, str]], radius: int) -> list[Hit]:
        codes = np.stack([hex_code(pdq) for _, pdq in queries])
        hits: list[Hit] = []
        with self._lock:
            for index in indexes:
                rows, content, variant, quality, distance = index.range(codes, radius)
                for r, c, v, q, d in zip(rows.tolist(), content.tolist(), variant.tolist(), quality.tolist(), distance.tolist()):
                    hits.append(Hit(self._contents[c], int(v), int(d), None if q < 0 else int(q), queries[r][0]))
        hits.sort(key=lambda h: (h.distance, h.query != "full", h.variant))
        return hits

    def search_fast(self, pdq: str, trimmed_pdq: str | None = None, radius: int = CANDIDATE_DISTANCE,
                    turned: Sequence[tuple[int, str]] = ()) -> list[Hit]:  # fmt: skip
        """The reader's hash against every registered hash (and the rotations scheme 1 stored); its trimmed hash
        against upright ones; its turned hashes (``turned_queries``) against whole-picture hashes, each hit
        labelled with the rotation/flip that makes the registered picture the reader's."""
        hits = self._search([self.upright, self.turned], [("full", pdq)], radius)
        if trimmed_pdq is not None:
            hits += self._search([self.upright], [("trimmed", trimmed_pdq)], radius)
        hits += self.search_turned(turned, radius)
        hits.sort(key=lambda h: (h.distance, h.query != "full", h.variant))
        return hits

    def search_turned(self, turned: Sequence[tuple[int, str]], radius: int = CANDIDATE_DISTANCE) -> list[Hit]:
        """The reader's turned hashes (``turned_queries``) against whole-picture hashes, each hit labelled with the
        rotation/flip that makes the registered picture the reader's."""
        hits = []
        for variant, code in turned:
            hits += [replace(h, variant=variant) for h in self._search([self.upright], [("full", code)], radius)
                     if h.variant == FULL]  # fmt: skip
        hits.sort(key=lambda h: (h.distance, h.variant))
        return hits

    def search_upright(self, queries: Sequence[tuple[str, str]], radius: int = CANDIDATE_DISTANCE) -> list[Hit]:
        """Labelled query hashes (other trims of the reader's picture) against whole-picture and trimmed hashes."""
        return self._search([self.upright], list(queries), radius)

    def search_crops(self, pdq: str, trimmed_pdq: str | None = None, radius: int = CANDIDATE_DISTANCE) -> list[Hit]:
        queries = [("full", pdq)] + ([("trimmed", trimmed_pdq)] if trimmed_pdq else [])
        return self._search([self.crops], queries, radius)

    def search_parts(self, thirds: Sequence[str], radius: int = CANDIDATE_DISTANCE) -> list[Hit]:
        """The reader's picture's thirds against registered thirds (a copy with an overlay somewhere)."""
        if not thirds:
            return []
        return self._search([self.parts], [("full", pdq) for pdq in thirds], radius)


def _iter_variants(variants: Iterable[IndexedHash] | np.ndarray | None) -> Iterable[tuple[np.ndarray, int, int]]:
    if variants is None:
        return
    if isinstance(variants, np.ndarray):
        for row in variants:
            yield np.asarray(row["hash"], dtype=np.uint8), int(row["variant"]), int(row["quality"])
        return
    for v in variants:
        yield hex_code(v.pdq), v.variant, v.quality


def best_per_image(hits: Iterable[Hit]) -> list[Hit]:
    """The closest hit of each registered image, closest first."""
    best: dict[str, Hit] = {}
    for hit in hits:
        current = best.get(hit.content_hash)
        if current is None or (hit.distance, hit.query != "full") < (current.distance, current.query != "full"):
            best[hit.content_hash] = hit
    return sorted(best.values(), key=lambda h: (h.distance, h.query != "full", h.variant))


def brute_force(codes: np.ndarray, queries: np.ndarray, radius: int) -> set[tuple[int, int, int]]:
    """Reference for tests: every (query row, entry, distance) within ``radius``, by numpy popcount."""
    words = np.ascontiguousarray(codes).view(np.uint64)
    out: set[tuple[int, int, int]] = set()
    for row, query in enumerate(np.ascontiguousarray(queries).view(np.uint64)):
        distances = np.bitwise_count(words ^ query).sum(axis=1)
        for entry in np.nonzero(distances <= radius)[0]:
            out.add((row, int(entry), int(distances[entry])))
    return out
