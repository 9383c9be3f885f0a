"""Second stage through the homography: where does the copy differ from the registered picture?

The copy is warped into the reference copy's frame (warp.align), so rotation, perspective, mirror, crop and
screenshot surroundings are undone before comparing; only the overlap is compared.

1. Colour: a per-channel linear fit copy -> reference on the overlap, refitted on the pixels that agree (global
   brightness / contrast / colour casts and JPEG-level shifts cancel, pasted content does not drive the fit).
2. Difference on a blurred copy of both (sigma ~ 1 work px: resampling and JPEG noise), shift tolerant: each pixel
   takes the smallest difference over the reference shifted by up to 1 px (residual alignment error).
   Colour difference = max over channels, so a coloured box on a similar-luma background still shows.
3. Threshold: above CHANGE_LEVEL and above NOISE_SIGMAS x the robust noise (MAD) of the overlap; opened (drops
   isolated pixels and thin edge residue), closed (fills text into a block), connected components of at least
   MIN_REGION_SHARE of the overlap are changed regions. ``edited`` needs EDITED_MIN_SHARE of the overlap changed.

Boxes and the heatmap are returned in the QUERY's frame (boxes as shares of the query's width/height).
Pure: numpy + cv2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ledger.core.boxes import merge_boxes
from ledger.core.wild.warp import Aligned

BLUR_SIGMA = 1.2  # work px
CHANGE_LEVEL = 40.0  # 8-bit levels after colour fit (max over channels); calibrated: geometry-only copies stay below
NOISE_SIGMAS = 5.0
MIN_REGION_SHARE = 0.004  # components smaller than 0.4 % of the overlap are noise
EDITED_MIN_SHARE = 0.012  # 1.2 % of the overlap changed -> edited (pasted boxes are >= 4 %)
OPEN_PX = 3
CLOSE_PX = 7
HEAT_SIDE = 512  # heatmap long side (query frame)


@dataclass(frozen=True, slots=True)
class Diff:
    changed_share: float  # of the compared overlap
    regions: tuple[tuple[float, float, float, float], ...]  # boxes (x0, y0, x1, y1) as shares of the QUERY image
    heat: np.ndarray = field(repr=False)  # (h, w) float32 in the query frame (long side <= HEAT_SIDE), NaN = not compared
    overlap_px: int = 0

    @property
    def edited(self) -> bool:
        return self.changed_share >= EDITED_MIN_SHARE and bool(self.regions)


FIT_SAMPLE = 20_000  # pixels the colour fit and the noise level are estimated from (a fixed stride through the overlap)


def _sample(values: np.ndarray) -> np.ndarray:
    return values[:: max(1, len(values) // FIT_SAMPLE)]


def _colour_fit(q: np.ndarray, r: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per channel, a robust linear map of the copy's levels onto the reference's (brightness, contrast, colour)."""
    out = np.empty_like(q)
    m = valid
    for c in range(3):
        x, y = _sample(q[..., c][m]), _sample(r[..., c][m])
        keep = np.ones(len(x), bool)
        a, b = 1.0, 0.0
        for _ in range(2):
            if keep.sum() < 50:
                break
            xs, ys = x[keep], y[keep]
            vx = xs.var()
            a = float(((xs - xs.mean()) * (ys - ys.mean())).mean() / vx) if vx > 1e-3 else 1.0
            a = min(max(a, 0.3), 3.0)
            b = float(ys.mean() - a * xs.mean())
            res = np.abs(a * x + b - y)
            keep = res < max(12.0, 2.5 * np.median(res))
        out[..., c] = a * q[..., c] + b
    return out


def diff(al: Aligned, query_size: tuple[int, int]) -> Diff:
    """Changed regions of the aligned copy. ``query_size``: (width, height) of the query image ``al`` came from."""
    valid = al.valid
    qw, qh = query_size
    hs = HEAT_SIDE / max(qw, qh)
    heat_size = (max(1, round(qw * min(1.0, hs))), max(1, round(qh * min(1.0, hs))))
    if valid.sum() < 500:
        return Diff(0.0, (), np.full((heat_size[1], heat_size[0]), np.nan, np.float32), int(valid.sum()))
    r = cv2.GaussianBlur(al.ref, (0, 0), BLUR_SIGMA)
    q = cv2.GaussianBlur(_colour_fit(al.query, al.ref, valid), (0, 0), BLUR_SIGMA)
    best = None
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            # max over channels with OpenCV on contiguous planes: numpy's max(axis=2) took ~100 ms of 9 shifts here
            c0, c1, c2 = cv2.split(cv2.absdiff(q, np.roll(r, (dy, dx), axis=(0, 1))))
            d = cv2.max(cv2.max(c0, c1), c2)
            best = d if best is None else np.minimum(best, d)
    best[~valid] = 0
    vals = _sample(best[valid])
    centre = float(np.median(vals))
    noise = centre + 1.4826 * float(np.median(np.abs(vals - centre)))
    level = max(CHANGE_LEVEL, NOISE_SIGMAS * noise)
    mask = ((best > level) & valid).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((OPEN_PX, OPEN_PX), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((CLOSE_PX, CLOSE_PX), np.uint8)) & valid.astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    area_valid = float(valid.sum())
    boxes_work, changed = [], 0
    for i in range(1, n):
        x, y, w, h, a = stats[i]
        if a < MIN_REGION_SHARE * area_valid:
            continue
        changed += a
        boxes_work.append((x, y, x + w, y + h))
    # regions in the query frame: map the box corners, take their bounding box, clip
    regions = []
    H = al.work_to_query
    for x0, y0, x1, y1 in boxes_work:
        pts = cv2.perspectiveTransform(np.float32([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]), H)[0]
        bx0, by0 = np.clip(pts.min(0) / (qw, qh), 0, 1)
        bx1, by1 = np.clip(pts.max(0) / (qw, qh), 0, 1)
        regions.append((float(bx0), float(by0), float(bx1), float(by1)))
    regions = merge_boxes(regions, 0.01)
    # heatmap: difference over the level, warped into the (reduced) query frame; NaN outside the overlap
    heat_work = np.where(valid, best / level, np.nan).astype(np.float32)
    S = np.diag([heat_size[0] / qw, heat_size[1] / qh, 1.0]) @ H
    heat = cv2.warpPerspective(np.nan_to_num(heat_work, nan=-1.0), S, heat_size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
    heat[heat < 0] = np.nan
    return Diff(changed / area_valid, tuple(regions), heat, int(area_valid))
