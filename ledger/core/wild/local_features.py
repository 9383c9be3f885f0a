"""Local features for the wild path: ORB binary descriptors (32 B each) with keypoint geometry.

Why ORB: binary 32-byte descriptors fit the index budget (200 x 32 B = 6.4 KB per registered image; with faiss'
int64 ids 200 x 40 B = 8,000 B) and cost ~3-5 ms at 512 px on one core, while SIFT costs ~4x the time and 4x-16x
the bytes (see NOTES.md, "features").

Registration works on the hash image (the canonical picture box-reduced to 512 px on its long side, which the
registration pipeline already computes for PDQ and the reference copy), so the added cost is the ORB call only.
Keypoints are chosen for spread, not only strength: the strongest ORB responses cluster on one textured object,
and a crop or a screenshot viewport that cuts that object away would leave nothing. We keep the best keypoints per
cell of a 4x4 grid first, then fill by response.

Queries are extracted at a larger size (up to QUERY_SIDE on the long side) with many more keypoints, because in a
feed screenshot the registered photo covers only 15-40 % of the query, and a mirrored copy of the query keypoints
(ORB is not flip invariant) is described in the mirrored image.

Pure: numpy + cv2. Coordinates are normalised to [0, 1] of the image's width/height.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import cv2
import numpy as np

REGISTER_SIDE = 512  # the hash image's long side; the reference copy has the same size
REGISTER_KEEP = 200  # descriptors stored per image (index budget: 200 x (32 B code + 8 B id) = 8,000 B)
REGISTER_CANDIDATES = 600  # ORB keypoints detected before the spread selection (1200: 2x the time, no gain)
SPREAD_GRID = 4  # 4x4 cells: each cell first gets up to REGISTER_KEEP / 16 / 2 of its strongest keypoints
QUERY_SIDE = 1280  # queries up to 1 MP-ish are used at (nearly) full resolution: a small photo inside a screenshot
QUERY_KEEP = 5000  # query keypoints per orientation: feed/web screenshots spend thousands on UI text (2500 lost 12/33 AugLy screenshots)
QUERY_MIN_SIDE = 640  # smaller queries are enlarged first: ORB's pyramid only goes down, tiny copies then still match
ORB_LEVELS = 8
ORB_SCALE = 1.25  # 1.25^7 = 4.8x scale range within one pyramid
ORB_MIN_SIDE = math.ceil(ORB_SCALE ** (ORB_LEVELS - 1))  # 5: the smallest side whose every pyramid level is >= 1 px
ORB_FAST = 12  # FAST threshold; lower finds more corners on soft/JPEG'd pictures
# A query with fewer corners than this at ORB_FAST is soft (sea, sky, an enlarged small copy) or mostly flat with a
# text overlay: it is detected again at QUERY_FAST_SOFT. Held-out 256 px sea photo: a 50% crop had 6 corners at 12
# (no match) and 618 at 5 (20 inliers); a text overlay 1,783 corners, all on the letters, at 12 and 39 inliers at 5.
QUERY_FEW_CORNERS = 2500
QUERY_FAST_SOFT = 5
DESCRIPTOR_BYTES = 32

_RECORD = struct.Struct("<HH")  # version, count


@dataclass(frozen=True, slots=True)
class Features:
    """An image's local features. ``xy`` normalised to [0, 1] (x / width, y / height) of the image it came from."""

    descriptors: np.ndarray = field(repr=False)  # (n, 32) uint8
    xy: np.ndarray = field(repr=False)  # (n, 2) float32, normalised
    size: np.ndarray = field(repr=False)  # (n,) float32, keypoint diameter / long side
    angle: np.ndarray = field(repr=False)  # (n,) float32 degrees
    width: int  # pixel size of the image the features were extracted from
    height: int

    def __len__(self) -> int:
        return int(self.descriptors.shape[0])

    def pixels(self) -> np.ndarray:
        """Keypoint coordinates in pixels of the extraction frame."""
        return self.xy * np.array([self.width, self.height], np.float32)

    # Storage: descriptors go to the index AND the side table; geometry only to the side table.
    # Layout: header (version, n, width, height) + n*32 B descriptors + n*2 float16 xy + n float16 size + n uint8 angle.
    def to_bytes(self) -> bytes:
        n = len(self)
        head = struct.pack("<HHHH", 1, n, self.width, self.height)
        ang = np.round(self.angle / 360.0 * 255.0).astype(np.uint8)
        return b"".join((head, self.descriptors.astype(np.uint8).tobytes(), self.xy.astype(np.float16).tobytes(),
                         self.size.astype(np.float16).tobytes(), ang.tobytes()))

    @classmethod
    def from_bytes(cls, data: bytes) -> Features:
        version, n, width, height = struct.unpack_from("<HHHH", data, 0)
        if version != 1:
            raise ValueError(f"unknown features version {version}")
        o = 8
        desc = np.frombuffer(data, np.uint8, n * 32, o).reshape(n, 32)
        o += n * 32
        xy = np.frombuffer(data, np.float16, n * 2, o).reshape(n, 2).astype(np.float32)
        o += n * 4
        size = np.frombuffer(data, np.float16, n, o).astype(np.float32)
        o += n * 2
        angle = np.frombuffer(data, np.uint8, n, o).astype(np.float32) * (360.0 / 255.0)
        return cls(desc.copy(), xy, size, angle, width, height)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def reduce_to(gray: np.ndarray, side: int, min_side: int = 0) -> np.ndarray:
    """Area-reduce so the long side is at most ``side``; enlarge (linear) if it is below ``min_side``."""
    h, w = gray.shape[:2]
    scale = side / max(h, w)
    if max(h, w) < min_side:
        scale = min_side / max(h, w)
        return cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_LINEAR)
    if scale >= 1:
        return gray
    return cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _orb(n: int, edge: int = 19, fast: int = ORB_FAST) -> cv2.ORB:
    return cv2.ORB_create(nfeatures=n, scaleFactor=ORB_SCALE, nlevels=ORB_LEVELS, edgeThreshold=edge,
                          patchSize=31, fastThreshold=fast)


def _detect(gray: np.ndarray, n: int, fast: int = ORB_FAST) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, tuple]:  # type: ignore[type-arg]
    """ORB keypoints as arrays (points, response), descriptors, and the keypoint objects (for ``_shape``); arrays,
    not cv2.KeyPoint lists, because the Python loops over 5,000 keypoint objects cost more than half of the
    detection itself."""
    if min(gray.shape) < ORB_MIN_SIDE:  # OpenCV's pyramid would resize a side to 0 and fail an assertion
        kps, desc = (), None
    else:
        kps, desc = _orb(n, fast=fast).detectAndCompute(gray, None)
    if desc is None or len(kps) == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32), None, ()
    pts = cv2.KeyPoint_convert(kps).astype(np.float32).reshape(-1, 2)
    resp = np.fromiter((k.response for k in kps), np.float32, len(kps))
    return pts, resp, desc, kps


def _shape(kps: tuple, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    """Size and angle of the selected keypoints: stored for registered pictures but not used in matching, so read
    only for the ones kept (each attribute read over all candidates cost ~0.3 ms a registration)."""
    return (np.fromiter((kps[i].size for i in sel), np.float32, len(sel)),
            np.fromiter((kps[i].angle for i in sel), np.float32, len(sel)))  # fmt: skip


def _spread_select(pts: np.ndarray, resp: np.ndarray, shape: tuple[int, int], keep: int) -> np.ndarray:
    """Indices of ``keep`` keypoints: first the strongest per grid cell (half the budget), then by response;
    strongest first."""
    n = len(pts)
    if n <= keep:
        return np.argsort(-resp, kind="stable")
    h, w = shape
    cell = (np.minimum(pts[:, 1] * SPREAD_GRID / h, SPREAD_GRID - 1).astype(int) * SPREAD_GRID
            + np.minimum(pts[:, 0] * SPREAD_GRID / w, SPREAD_GRID - 1).astype(int))
    order = np.argsort(-resp, kind="stable")
    per_cell = max(1, keep // (SPREAD_GRID * SPREAD_GRID) // 2)
    c = cell[order]
    # rank of each keypoint within its cell (order is by response): stable sort by cell keeps response order
    by_cell = np.argsort(c, kind="stable")
    starts = np.searchsorted(c[by_cell], np.arange(SPREAD_GRID * SPREAD_GRID))
    rank = np.empty(len(c), int)
    rank[by_cell] = np.arange(len(c)) - starts[c[by_cell]]
    chosen = np.zeros(n, bool)
    chosen[order[rank < per_cell]] = True
    rest = order[~chosen[order]]
    chosen[rest[: keep - int(chosen.sum())]] = True
    sel = np.nonzero(chosen)[0]
    return sel[np.argsort(-resp[sel], kind="stable")]


def spread_indices(f: Features, keep: int) -> np.ndarray:
    """Spread selection on stored features (response order = storage order, strongest first)."""
    n = len(f)
    if n <= keep:
        return np.arange(n)
    response = np.arange(n, 0, -1, dtype=np.float32)
    return np.sort(_spread_select(f.pixels(), response, (f.height, f.width), keep))


def _pack(detected: tuple, sel: np.ndarray, shape: tuple[int, int], shape_too: bool = False) -> Features:  # type: ignore[type-arg]
    """The selected keypoints as Features; size and angle zero unless ``shape_too`` (registered pictures)."""
    h, w = shape
    pts, _resp, desc, kps = detected
    if desc is None or len(sel) == 0:
        return empty_features(w, h)
    xy = pts[sel] / np.array([w, h], np.float32)
    size, angle = _shape(kps, sel) if shape_too else (np.zeros(len(sel), np.float32),) * 2
    return Features(np.ascontiguousarray(desc[sel]), xy, size / max(h, w), angle, w, h)


def empty_features(width: int = 1, height: int = 1) -> Features:
    z = np.zeros
    return Features(z((0, 32), np.uint8), z((0, 2), np.float32), z(0, np.float32), z(0, np.float32), width, height)


def extract_register(rgb: np.ndarray, keep: int = REGISTER_KEEP) -> Features:
    """Features stored for a registered picture: ``keep`` spread ORB keypoints of the 512 px hash image."""
    gray = reduce_to(to_gray(rgb), REGISTER_SIDE)
    detected = _detect(gray, REGISTER_CANDIDATES)
    return _pack(detected, _spread_select(detected[0], detected[1], gray.shape, keep), gray.shape, shape_too=True)


def extract_query(rgb: np.ndarray, side: int = QUERY_SIDE, keep: int = QUERY_KEEP, mirrored: bool = True
                  ) -> tuple[Features, Features | None]:
    """Features of a reader's image at up to ``side`` px, and of its horizontal mirror (coordinates are given in
    the MIRRORED frame; ``unmirror_x`` maps them back)."""
    gray = reduce_to(to_gray(rgb), side, QUERY_MIN_SIDE)
    fast = ORB_FAST
    detected = _detect(gray, keep, fast)
    if len(detected[0]) < QUERY_FEW_CORNERS:
        fast = QUERY_FAST_SOFT
        detected = _detect(gray, keep, fast)
    plain = _pack(detected, np.argsort(-detected[1], kind="stable"), gray.shape)
    if not mirrored:
        return plain, None
    detected = _mirrored(gray, detected, keep, fast)
    return plain, _pack(detected, np.argsort(-detected[1], kind="stable"), gray.shape)


def _mirrored(gray: np.ndarray, detected: tuple, keep: int, fast: int) -> tuple:  # type: ignore[type-arg]
    """``_detect`` of the mirror image, from the plain image's keypoints: each mirrored at its own pyramid level
    (x -> level width - 1 - x there) with its orientation mirrored (180 - angle), then only described. FAST,
    the Harris ranking and the pyramid are mirror-symmetric, so this is the mirror image's own detection: over
    24 extractions (six sizes from 427 to 1,280 px, both FAST thresholds, scratch check) the keypoints and levels
    were the same sets, and the descriptors too but for an orientation on a rounding boundary (one descriptor in
    ~5,000, a few bits: test_the_mirrored_features_are_the_mirror_images_own). It skips the detection: 0-18 ms
    less a 1 MP query, ~8 on average over six scikit-image photos (scratch, one core)."""
    pts, resp, _desc, kps = detected
    if not kps:
        return detected
    width = gray.shape[1]
    octave = np.fromiter((k.octave for k in kps), np.int32, len(kps))
    angle = np.fromiter((k.angle for k in kps), np.float32, len(kps))
    scale = ORB_SCALE**octave
    # ORB's level sizes are cvRound(side / scale); a level's keypoints sit at integer level px times its scale
    x = (np.round(width / scale) - 1 - pts[:, 0] / scale) * scale
    # built from plain lists (reading a cv2.KeyPoint's attributes one by one costs more); class_id = the keypoint's
    # number, so what ``compute`` keeps is mapped back without reading it again; size is not used by ORB's compute
    turned = [cv2.KeyPoint(xi, yi, 31.0, a, 0.0, o, i) for i, (xi, yi, a, o) in
              enumerate(zip(x.tolist(), pts[:, 1].tolist(), ((180.0 - angle) % 360.0).tolist(), octave.tolist()))]  # fmt: skip
    kept, desc = _orb(keep, fast=fast).compute(np.ascontiguousarray(gray[:, ::-1]), turned)
    if desc is None or len(kept) == 0:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32), None, ()
    number = np.fromiter((k.class_id for k in kept), np.int64, len(kept))
    mirrored_pts = np.stack([x[number], pts[number, 1]], axis=1).astype(np.float32)
    return mirrored_pts, resp[number], desc, kept
