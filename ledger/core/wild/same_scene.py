"""Same picture or same scene? After the best homography, a 2D transform of one picture (a copy, even an edited
one) leaves no residual misalignment anywhere except inside confined edited regions; a different photograph of the
same scene (parallax, another burst frame, another photo of the same flat object under other light) leaves
residual motion spread over the whole overlap.

Measure: on a grid of cells of the common frame, the local shift between the reference and the warped copy by
phase correlation (sub-pixel). A homography is refitted to the confident cells' shifts (removing any small global
error of the keypoint estimate); the residual of each confident cell after that refit is its misalignment.
Statistic: the share of confident cells misaligned by more than MISALIGNED_PX; and a structure correlation of the
aligned pictures (a different exposure of a flat object aligns perfectly but its fine structure differs everywhere).
With too few confident cells to measure motion (small, soft or low-texture pictures), the band-pass correlation of
the aligned pictures decides alone (``FEW_CELLS_STRUCTURE``).

Pure: numpy + cv2.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ledger.core.wild.warp import Aligned, luma


def refine(al: Aligned, Hr: np.ndarray | None) -> Aligned:
    """Re-align the warped copy with the cell-shift homography (removes the keypoint estimate's residual error,
    which otherwise shows up as thin "changes" along edges and borders)."""
    if Hr is None or not np.all(np.isfinite(Hr)):
        return al
    # only small corrections: a large one means the cell fit is unreliable
    h, w = al.valid.shape
    c = np.float32([[[0, 0], [w, 0], [w, h], [0, h]]])
    if np.abs(cv2.perspectiveTransform(c, Hr)[0] - c[0]).max() > 0.05 * max(h, w):
        return al
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    q = cv2.warpPerspective(al.query, Hr, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    v = cv2.warpPerspective(al.valid.astype(np.uint8), Hr, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP) > 0
    w2q = al.work_to_query @ Hr
    return Aligned(al.ref, q, v, w2q / w2q[2, 2], al.factor)

CELLS = 10  # grid cells on the long side of the work frame
MIN_CELL_PX = 24
CORNERNESS = 0.1  # structure-tensor eigenvalue ratio: cells with one dominant edge direction are not measured
TEXTURE_STD = 6.0  # a cell needs this luma std (levels) in both pictures to be measured
CONFIDENT_RESPONSE = 0.2  # phase-correlation peak needed to trust a cell's shift
MISALIGNED_PX = 2.5  # residual (work px) above which a cell is misaligned
# Calibration half (exp_scene.py seed 3, 2 copies x 11 families x 17 photos) vs stereo_motorcycle (both directions,
# jpeg / resize / crop / rotate / feed / paste): copies' misaligned share <= 0.31 (one feed-screenshot outlier 0.47),
# median residual <= 0.52 px (same outlier 2.48); stereo median residual >= 0.63, misaligned share 0.20-0.62.
SCENE_MISALIGNED_SHARE = 0.35  # >= this share of confident cells misaligned: a different photograph
SCENE_P75_RESIDUAL = 1.2  # work px; 75th-percentile cell residual. Held-out copies (exp_scene_held.log) <= 0.50
# except one 3-step chain (6.98); stereo >= 2.12 in all 12 cases. (Median residual 0.6 was tried first: one stereo
# crop had 0.58 -> would have been called a copy; the 75th percentile separates with a wide gap.)
SCENE_DISAGREE_SHARE = 1.01  # disabled: cells textured in either picture but not aligned; did not separate (NOTES)
MIN_CONFIDENT_CELLS = 6
# Too few confident cells to measure motion (a small, soft or low-texture picture: sea and sky, a page of text;
# rotated and interpolated copies of three held-out photos had 3-5): judge by the band-pass correlation of the
# aligned pictures instead. Another photograph of the same scene does not repeat its fine structure (waves, leaves,
# grain): the stereo pair, both ways under 16 changes, reached at most 0.52; those copies 0.83-0.92.
FEW_CELLS_STRUCTURE = 0.7


@dataclass(frozen=True, slots=True)
class SceneCheck:
    confident_cells: int
    misaligned_share: float  # of the confident cells: residual motion after the refit
    median_residual: float
    same_picture: bool
    textured_cells: int = 0
    disagree_share: float = 0.0  # of the cells textured in either picture: not confidently aligned
    p75_residual: float = float("nan")
    refit: np.ndarray | None = None  # 3x3 work px -> work px: where reference content sits in the warped copy


def _two_dimensional(cell: np.ndarray) -> bool:
    """Structure in two directions (not a lone straight edge, whose shift along itself is undetermined):
    the smaller eigenvalue of the cell's structure tensor is at least CORNERNESS of the larger."""
    gx = cv2.Sobel(cell, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(cell, cv2.CV_32F, 0, 1, ksize=3)
    a, b, c = float((gx * gx).sum()), float((gx * gy).sum()), float((gy * gy).sum())
    tr, det = a + c, a * c - b * b
    disc = max(0.0, tr * tr / 4 - det) ** 0.5
    lo, hi = tr / 2 - disc, tr / 2 + disc
    return hi > 0 and lo / hi >= CORNERNESS


def check(al: Aligned) -> SceneCheck:
    a, b = luma(al.ref), luma(al.query)
    h, w = a.shape
    cell = max(MIN_CELL_PX, int(max(h, w) / CELLS))
    win = cv2.createHanningWindow((cell, cell), cv2.CV_32F)
    src, dst = [], []
    textured = 0
    # Each cell's coverage and texture for the whole grid at once (a loop of ~70 cells x 3 reductions cost 2-4 ms a
    # check, and a verify checks up to three alignments).
    rows, cols = (h - cell) // cell + 1 if h >= cell else 0, (w - cell) // cell + 1 if w >= cell else 0
    grid = (rows, cell, cols, cell)
    inside = al.valid[: rows * cell, : cols * cell].reshape(grid).all(axis=(1, 3))
    std_a = a[: rows * cell, : cols * cell].reshape(grid).std(axis=(1, 3))
    std_b = b[: rows * cell, : cols * cell].reshape(grid).std(axis=(1, 3))
    for i, y in enumerate(range(0, rows * cell, cell)):
        for j, x in enumerate(range(0, cols * cell, cell)):
            if not inside[i, j]:
                continue
            ca, cb = a[y : y + cell, x : x + cell], b[y : y + cell, x : x + cell]
            sa, sb = std_a[i, j], std_b[i, j]
            if max(sa, sb) >= TEXTURE_STD:
                textured += 1
            if min(sa, sb) < TEXTURE_STD or not _two_dimensional(ca):
                continue
            (dx, dy), resp = cv2.phaseCorrelate(ca.astype(np.float32), cb.astype(np.float32), win)
            if resp < CONFIDENT_RESPONSE:
                continue
            c = (x + cell / 2, y + cell / 2)
            src.append(c)
            dst.append((c[0] + dx, c[1] + dy))
    n = len(src)
    if n < MIN_CONFIDENT_CELLS:
        same = structure_correlation(al) >= FEW_CELLS_STRUCTURE
        return SceneCheck(n, 0.0 if same else 1.0, float("nan"), same, textured, 0.0 if same else 1.0)
    src, dst = np.float32(src), np.float32(dst)
    Hr, _ = cv2.findHomography(src, dst, cv2.RANSAC, 1.0, maxIters=500) if n >= 8 else (None, None)
    if Hr is None:
        A, _ = cv2.estimateAffinePartial2D(src, dst)
        pred = src @ A[:, :2].T + A[:, 2] if A is not None else src
        Hr = np.vstack([A, [0, 0, 1]]) if A is not None else None
    else:
        pred = cv2.perspectiveTransform(src[None], Hr)[0]
    res = np.linalg.norm(pred - dst, axis=1)
    share = float((res > MISALIGNED_PX).mean())
    disagree = 1.0 - float((res <= MISALIGNED_PX).sum()) / max(1, textured)
    p75 = float(np.percentile(res, 75))
    same = share < SCENE_MISALIGNED_SHARE and p75 < SCENE_P75_RESIDUAL and disagree < SCENE_DISAGREE_SHARE
    return SceneCheck(n, share, float(np.median(res)), same, textured, disagree, p75, Hr)


def structure_correlation(al: Aligned) -> float:
    """Correlation of the aligned pictures' band-pass luma (1-4 px) over the overlap, away from its border."""
    a, b = luma(al.ref).astype(np.float32), luma(al.query).astype(np.float32)
    inside = cv2.erode(al.valid.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    if inside.sum() < 100:
        return 0.0
    band_a = (cv2.GaussianBlur(a, (0, 0), 1.0) - cv2.GaussianBlur(a, (0, 0), 4.0))[inside]
    band_b = (cv2.GaussianBlur(b, (0, 0), 1.0) - cv2.GaussianBlur(b, (0, 0), 4.0))[inside]
    band_a -= band_a.mean()
    band_b -= band_b.mean()
    denominator = float(np.sqrt((band_a * band_a).sum() * (band_b * band_b).sum()))
    return float((band_a * band_b).sum()) / denominator if denominator > 1e-9 else 0.0
