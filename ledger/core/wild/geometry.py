"""Geometric verification of one candidate: do the query's keypoints and a registered image's stored keypoints
agree on one plane-to-plane mapping (a homography)? And what does that mapping say in words?

Why this shape:
- Matching direction reference -> query with Lowe's ratio test: the reference has few (<= 200) spread keypoints,
  the query many (up to 2 x 2,500, plain + mirrored), so a reference keypoint's two nearest query descriptors tell
  whether its best match is distinctive.
- Mirrored copies: ORB is not flip invariant, so the query is also described mirrored (local_features.extract_query)
  and the better of the two orientations wins; the mirror is folded into the returned homography (det < 0).
- RANSAC runs in the REFERENCE frame (512 px long side): the reprojection threshold is then the same for every
  query size, be it a 300 px photo inside a screenshot or a 12 MP original.
- The inlier threshold MIN_INLIERS is calibrated so that no distinct pair passes (NOTES.md, "calibration").
  Inliers are counted on distinct query points and distinct reference points (one-to-one), and a plausibility test
  on the homography (scale range, no fold-over, bounded perspective) drops degenerate fits.

Pure: numpy + cv2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import cv2
import faiss
import numpy as np

from ledger.core.wild.local_features import Features

RATIO = 0.85  # Lowe ratio (reference -> query); untuned guess (not swept for lack of time); distinct pairs stay <= 7 inliers
MAX_HAMMING = 80  # of 256 bits: beyond this a nearest neighbour is noise for ORB
RANSAC_PX = 4.0  # reprojection threshold in reference px (512 px frame)
RANSAC_ITERS = 2000
MIN_INLIERS = 14  # distinct pairs (all 33 photos, exp_calib.py run 1 + eval_quick exhaustive pass): max 7; margin 2x
MIN_SCALE, MAX_SCALE = 1 / 16, 16  # query px per reference px
INSIDE_OCCUPIES = 0.6  # the registered picture covers less of the reader's image: inside a screenshot or a larger picture
MAX_PERSPECTIVE = 0.6  # |h20|, |h21| x reference size: bounded foreshortening (8 % corner moves ~ 0.15)
AXIS_KEEP = 0.9  # a map with fewer parameters is offered beside the homography if it keeps this share of its inliers


@dataclass(frozen=True, slots=True)
class Verification:
    """A verified geometric match. ``H`` maps reference NORMALISED coords (x/w, y/h) -> query normalised coords."""

    H: np.ndarray = field(repr=False)  # 3x3 float64
    H_px: np.ndarray = field(repr=False)  # reference px (feature frame) -> query px (query feature frame)
    inliers: int
    matches: int
    flipped: bool
    ref_pts: np.ndarray = field(repr=False)  # inlier points, reference px
    query_pts: np.ndarray = field(repr=False)  # inlier points, query px (unmirrored)
    words: tuple[str, ...] = ()
    rotation: float = 0.0  # degrees, counter-clockwise as seen in the query
    scale: float = 1.0  # query px per reference px
    covered: float = 1.0  # share of the reference picture visible in the query
    occupies: float = 1.0  # share of the query taken by the (visible part of the) reference picture
    affine: bool = False  # the homography was implausible and an affine map was fitted instead (see ``verify``)
    # Maps with fewer parameters (scales and shifts; a similarity) fitted to the same inliers that keep AXIS_KEEP
    # of them: the alignment that fits the pixels best is chosen among these and ``H`` (``search.examine``).
    alternatives: tuple[Verification, ...] = ()


class QuerySet:
    """The query's descriptors (plain + mirrored) in one faiss binary index, built once per query: a candidate's
    200 descriptors then find their 2 nearest query descriptors in ~2-5 ms (cv2.BFMatcher: 4-5x slower here)."""

    def __init__(self, plain: Features, mirror: Features | None) -> None:
        self.plain, self.mirror = plain, mirror
        parts = [plain.descriptors] + ([mirror.descriptors] if mirror is not None and len(mirror) else [])
        self.n_plain = len(plain)
        self.index = faiss.IndexBinaryFlat(256)
        if sum(len(p) for p in parts):
            self.index.add(np.ascontiguousarray(np.concatenate(parts)))

    def knn2(self, ref: Features) -> tuple[np.ndarray, np.ndarray]:
        if self.index.ntotal < 2 or len(ref) == 0:
            return np.zeros((0, 2), np.int32), np.zeros((0, 2), np.int64)
        return self.index.search(np.ascontiguousarray(ref.descriptors), 2)


def _ratio_matches(D: np.ndarray, I: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-to-one ratio-tested matches into query descriptors [lo, hi): (ref idx, query idx - lo, distance).
    The ratio is against the second neighbour over BOTH orientations (a pattern matching both is not distinctive)."""
    if len(D) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)
    d1, d2, i1 = D[:, 0].astype(float), D[:, 1].astype(float), I[:, 0]
    ok = (d1 <= MAX_HAMMING) & (d1 < RATIO * d2) & (i1 >= lo) & (i1 < hi)
    ri = np.nonzero(ok)[0]
    qi, dist = i1[ok] - lo, d1[ok]
    if len(ri) == 0:
        return ri, qi, dist
    order = np.argsort(dist, kind="stable")
    _, first = np.unique(qi[order], return_index=True)
    keep = order[first]
    return ri[keep], qi[keep], dist[keep]


def _plausible(H: np.ndarray, ref_size: tuple[int, int]) -> bool:
    if H is None or not np.all(np.isfinite(H)) or abs(H[2, 2]) < 1e-12:
        return False
    H = H / H[2, 2]
    w, h = ref_size
    det = H[0, 0] * H[1, 1] - H[0, 1] * H[1, 0]
    if det <= 0:  # fold-over (mirrors are handled by the mirrored query features)
        return False
    s = math.sqrt(det)
    if not (MIN_SCALE <= s <= MAX_SCALE):
        return False
    if max(abs(H[2, 0]) * w, abs(H[2, 1]) * h) > MAX_PERSPECTIVE:
        return False
    # anisotropy of the affine part (aspect-ratio changes up to ~2.5x are fine, more is a degenerate fit)
    sv = np.linalg.svd(H[:2, :2], compute_uv=False)
    if sv[1] <= 0 or sv[0] / sv[1] > 3.0:
        return False
    # the reference corners must map to a convex quadrilateral
    c = cv2.perspectiveTransform(np.float32([[[0, 0], [w, 0], [w, h], [0, h]]]), H)[0]
    def _cross(u: np.ndarray, v: np.ndarray) -> float:
        return float(u[0] * v[1] - u[1] * v[0])

    cross = [_cross(c[(i + 1) % 4] - c[i], c[(i + 2) % 4] - c[(i + 1) % 4]) for i in range(4)]
    return all(x > 0 for x in cross) or all(x < 0 for x in cross)


Fit = tuple[np.ndarray, np.ndarray, np.ndarray, int]  # (H_q2r, ref inlier pts, query inlier pts, matches)


def _fit(ref: Features, query: Features, matches: tuple, affine: bool = False) -> list[Fit]:
    """RANSAC homography (or, ``affine``, an affine map) query px -> reference px, followed by the maps with fewer
    parameters refitted to its inliers that keep AXIS_KEEP of them (see ``_axis_aligned``); [] if none."""
    ri, qi, _ = matches
    if len(ri) < 6:
        return []
    rp = ref.pixels()[ri].astype(np.float32)
    qp = query.pixels()[qi].astype(np.float32)
    if affine:
        A, mask = cv2.estimateAffine2D(qp, rp, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX,
                                       maxIters=RANSAC_ITERS, confidence=0.999)  # fmt: skip
        H = None if A is None else np.vstack([A, [0.0, 0.0, 1.0]])
    else:
        H, mask = cv2.findHomography(qp, rp, cv2.RANSAC, RANSAC_PX, maxIters=RANSAC_ITERS, confidence=0.999)
    if H is None or mask is None:
        return []
    inl = mask.ravel().astype(bool)
    simpler: list[Fit] = []
    # Refit on inliers and recount once (stabilises the count and the transform).
    if inl.sum() >= 6 and not affine:  # (estimateAffine2D refines on its inliers itself)
        near: np.ndarray | None = None  # every match within RANSAC_PX of the final H: the simpler maps start from it
        H2, _ = cv2.findHomography(qp[inl], rp[inl], 0)
        if H2 is not None:
            err = np.linalg.norm(cv2.perspectiveTransform(qp[None], H2)[0] - rp, axis=1)
            inl2 = err < RANSAC_PX
            if inl2.sum() >= inl.sum():
                H, inl, near = H2, inl2, inl2
        if near is None:
            near = np.linalg.norm(cv2.perspectiveTransform(qp[None], H)[0] - rp, axis=1) < RANSAC_PX
        kept = len(_one_to_one(ri, inl))
        for model in (_axis_aligned, _similarity):
            refit = model(ri, qp, rp, near)
            if refit is not None and len(refit[1]) >= AXIS_KEEP * kept:
                A, idx = refit
                simpler.append((A, rp[idx], qp[idx], len(ri)))
    idx = _one_to_one(ri, inl)
    return [(H, rp[idx], qp[idx], len(ri)), *simpler]


def _one_to_one(ri: np.ndarray, inl: np.ndarray) -> np.ndarray:
    """Indices of the inliers, one per reference point (the query side is one-to-one already)."""
    _, uniq = np.unique(ri[inl], return_index=True)
    return np.nonzero(inl)[0][uniq]


def _axis_aligned(ri: np.ndarray, qp: np.ndarray, rp: np.ndarray, inl: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A map query px -> reference px with scales and shifts only (x' = a x + b, y' = c y + d), fitted to the
    homography's inliers and refitted once to its own: (the map as a 3x3 matrix, one-to-one inlier indices).

    Why: screenshots, crops, resizes and aspect changes, the commonest copies, are exactly this map, and a
    homography's eight parameters fitted to keypoints of a small or low-textured picture bend it into a spurious
    rotation and perspective (a web screenshot of a 640 px photo came out rotated 3 degrees with perspective, and
    its residues looked like edits). An affine preference was tried and not kept (its shear absorbs the same noise)."""
    A = None
    for _ in range(2):
        if inl.sum() < 6:
            return None
        (a, b), (c, d) = np.polyfit(qp[inl, 0], rp[inl, 0], 1), np.polyfit(qp[inl, 1], rp[inl, 1], 1)
        A = np.array([[a, 0.0, b], [0.0, c, d], [0.0, 0.0, 1.0]])
        inl = np.hypot(a * qp[:, 0] + b - rp[:, 0], c * qp[:, 1] + d - rp[:, 1]) < RANSAC_PX
    return (A, _one_to_one(ri, inl)) if A is not None else None


def _similarity(ri: np.ndarray, qp: np.ndarray, rp: np.ndarray, inl: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A rotation, one scale and a shift (x' = a x - b y + e, y' = b x + a y + f), fitted by least squares to the
    homography's inliers and refitted once to its own, as ``_axis_aligned``: a copy turned by a few degrees is
    exactly this map, and the homography's spare parameters had added a perspective and several degrees of
    rotation to rotated copies (held-out: a 5 degree turn came out 12 degrees with perspective, then
    similar_scene)."""
    S = None
    for _ in range(2):
        if inl.sum() < 6:
            return None
        x, y = qp[inl, 0].astype(np.float64), qp[inl, 1].astype(np.float64)
        ones, zeros = np.ones_like(x), np.zeros_like(x)
        rows = np.empty((2 * len(x), 4))
        rows[0::2], rows[1::2] = np.c_[x, -y, ones, zeros], np.c_[y, x, zeros, ones]
        target = np.empty(2 * len(x))
        target[0::2], target[1::2] = rp[inl, 0], rp[inl, 1]
        (a, b, e, f), *_ = np.linalg.lstsq(rows, target, rcond=None)
        S = np.array([[a, -b, e], [b, a, f], [0.0, 0.0, 1.0]])
        inl = np.hypot(a * qp[:, 0] - b * qp[:, 1] + e - rp[:, 0], b * qp[:, 0] + a * qp[:, 1] + f - rp[:, 1]) < RANSAC_PX
    return (S, _one_to_one(ri, inl)) if S is not None else None


def _inverse(H: np.ndarray) -> np.ndarray | None:
    try:
        return np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return None


def verify(ref: Features, query: Features | QuerySet, mirror: Features | None = None, min_inliers: int = MIN_INLIERS
           ) -> Verification | None:
    """Best verified mapping of ``ref`` into the query (plain or mirrored), or None below ``min_inliers``.
    ``query``: a QuerySet (reuse it across candidates) or the plain Features (then ``mirror`` too)."""
    qs = query if isinstance(query, QuerySet) else QuerySet(query, mirror)
    query, mirror = qs.plain, qs.mirror
    D, I = qs.knn2(ref)
    best = None
    for flipped, q in ((False, query), (True, mirror)):
        if q is None or len(q) < 6:
            continue
        lo, hi = (0, qs.n_plain) if not flipped else (qs.n_plain, qs.n_plain + len(q))
        matches = _ratio_matches(D, I, lo, hi)
        if len(matches[0]) < min_inliers:  # inliers are matches: no fit could pass (RANSAC ~5 ms per fit saved)
            continue
        for affine in (False, True):
            plausible = []
            for H_q2r, rp, qp, n in _fit(ref, q, matches, affine):
                H_r2q = _inverse(H_q2r)
                if H_r2q is not None and _plausible(H_r2q, (ref.width, ref.height)):
                    plausible.append((H_r2q, rp, qp, n))
            if plausible:
                break
        else:
            continue
        if best is None or len(plausible[0][1]) > best[0]:
            best = (len(plausible[0][1]), flipped, plausible, q, affine)
    if best is None or best[0] < min_inliers:
        return None
    _, flipped, plausible, q, affine = best
    first, *others = [_verification(ref, q, flipped, fit, affine) for fit in plausible]
    return replace(first, alternatives=tuple(v for v in others if v.inliers >= min_inliers))


def _verification(ref: Features, q: Features, flipped: bool, fit: Fit, affine: bool) -> Verification:
    H_r2q, rp, qp, n = fit
    W, Hh = q.width, q.height
    if flipped:  # mirrored-query px -> query px: x -> W - x
        M = np.array([[-1.0, 0, W], [0, 1, 0], [0, 0, 1]])
        H_r2q = M @ H_r2q
        qp = qp.copy()
        qp[:, 0] = W - qp[:, 0]
    H_r2q = H_r2q / H_r2q[2, 2]
    Sr = np.diag([ref.width, ref.height, 1.0])
    Sq_inv = np.diag([1.0 / W, 1.0 / Hh, 1.0])
    Hn = Sq_inv @ H_r2q @ Sr
    v = Verification(Hn / Hn[2, 2], H_r2q, len(rp), n, flipped, rp, qp, affine=affine)
    return describe(v, (ref.width, ref.height), (W, Hh))


# -- words ------------------------------------------------------------------------------------------------------
def _poly_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _clip_area(poly: np.ndarray, w: float, h: float) -> float:
    """Area of a convex polygon clipped to the rectangle [0, w] x [0, h] (Sutherland-Hodgman)."""
    pts = [tuple(p) for p in poly]
    for axis, bound, keep_less in ((0, 0.0, False), (0, w, True), (1, 0.0, False), (1, h, True)):
        out = []
        for i in range(len(pts)):
            a, b = pts[i], pts[(i + 1) % len(pts)]
            ina = (a[axis] <= bound) if keep_less else (a[axis] >= bound)
            inb = (b[axis] <= bound) if keep_less else (b[axis] >= bound)
            if ina:
                out.append(a)
            if ina != inb:
                t = (bound - a[axis]) / (b[axis] - a[axis])
                out.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
        pts = out
        if not pts:
            return 0.0
    return _poly_area(np.array(pts))


def describe(v: Verification, ref_size: tuple[int, int], query_size: tuple[int, int]) -> Verification:
    """Rotation, mirror, crop, screenshot/frame, resize, perspective, in words."""
    rw, rh = ref_size
    qw, qh = query_size
    H = v.H_px
    A = H[:2, :2].copy()
    if v.flipped:
        A = A @ np.diag([-1.0, 1.0])  # undo the mirror to read the rotation
    # rotation as seen in the query: image y points down, so counter-clockwise on screen is -atan2
    rot = -math.degrees(math.atan2(A[1, 0] - A[0, 1], A[0, 0] + A[1, 1]))
    scale = math.sqrt(abs(np.linalg.det(A)))
    corners = np.float32([[[0, 0], [rw, 0], [rw, rh], [0, rh]]])
    in_q = cv2.perspectiveTransform(corners, H)[0].astype(np.float64)
    visible = _clip_area(in_q, qw, qh)
    full = _poly_area(in_q)
    covered = visible / full if full > 0 else 0.0
    occupies = visible / (qw * qh)
    words = []
    if v.flipped:
        words.append("flipped")
    r = (rot + 180) % 360 - 180
    turn = round(r / 90) * 90
    if turn != 0 and abs(r - turn) < 1.5:
        words.append(f"turned {abs(turn)} degrees" + ("" if abs(turn) == 180 else (" left" if turn > 0 else " right")))
    elif abs(r) >= 1.5:
        words.append(f"rotated {abs(r):.0f} degrees " + ("counter-clockwise" if r > 0 else "clockwise"))
    if covered < 0.92:
        words.append(f"cropped to {100 * covered:.0f}% of the picture")
    if occupies < INSIDE_OCCUPIES:
        words.append(f"inside a screenshot or larger picture ({100 * occupies:.0f}% of it)")
    elif occupies < 0.95 and covered > 0.92 and abs(r) < 1.5:
        words.append("framed or padded")
    sv = np.linalg.svd(A, compute_uv=False)
    if sv[0] / sv[1] > 1.06:
        words.append("aspect ratio changed")
    # perspective: how far the homography's corners are from the best affine through the same corners
    aff = cv2.getAffineTransform(corners[0, :3], in_q[:3].astype(np.float32))
    fourth = aff @ np.array([0.0, rh, 1.0])
    dev = float(np.linalg.norm(fourth - in_q[3])) / max(1e-6, math.sqrt(full))
    if dev > 0.04:
        words.append("perspective")
    words.append(f"resized x{scale:.2f} of the 512 px reference")
    return Verification(v.H, v.H_px, v.inliers, v.matches, v.flipped, v.ref_pts, v.query_pts, tuple(words), r, scale,
                        covered, occupies, v.affine)
