"""Second stage through the homography: where does the copy differ from the registered picture?

The copy is warped into the reference copy's frame (warp.align), so rotation, perspective, mirror, crop and
screenshot surroundings are undone before comparing; only the overlap is compared.

1. Colour: a per-channel linear fit copy -> reference on the overlap, refitted on the pixels that agree, from
   three starts, keeping the line most pixels agree with (global brightness / contrast / colour casts and
   JPEG-level shifts cancel; pasted content and a screenshot's bars do not drive the fit).
2. Difference on a blurred copy of both (sigma ~ 1 work px: resampling and JPEG noise), shift tolerant: each pixel
   takes the smallest difference over the reference shifted by up to 1 px (residual alignment error).
   Colour difference = max over channels, so a coloured box on a similar-luma background still shows.
3. Threshold: above CHANGE_LEVEL and above NOISE_SIGMAS x the robust noise (MAD) of the overlap; opened (drops
   isolated pixels and thin edge residue), closed (fills text into a block); components within GROUP_PX of one
   another are grouped (the letters of a caption), and groups whose changed pixels are at least MIN_REGION_SHARE
   of the overlap are changed regions. ``edited`` needs EDITED_MIN_SHARE of the overlap changed.

Boxes and the heatmap are returned in the QUERY's frame (boxes as shares of the query's width/height).
Pure: numpy + cv2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ledger.core.boxes import merge_boxes
from ledger.core.second_stage import GRAY_CHROMA
from ledger.core.wild.warp import Aligned, luma

BLUR_SIGMA = 1.2  # work px
CHANGE_LEVEL = 40.0  # 8-bit levels after colour fit (max over channels); calibrated: geometry-only copies stay below
NOISE_SIGMAS = 5.0
MIN_REGION_SHARE = 0.004  # components smaller than 0.4 % of the overlap are noise
EDITED_MIN_SHARE = 0.012  # 1.2 % of the overlap changed -> edited (pasted boxes are >= 4 %)
OPEN_PX = 3
CLOSE_PX = 7
GROUP_PX = 15  # changed components this close (work px) are one region: the letters of a caption
HEAT_SIDE = 512  # heatmap long side (query frame)
# A picture inside a screenshot runs under the phone's status and navigation bars where the viewport cuts it:
# those bars differ from the picture but are the screen's, not an edit. With ``inside=True`` a changed component
# whose box reaches the reader's image border (within this share) is left out of the regions, the changed share
# and the heatmap (feed screenshots of scripts/matchbench: 27 of 36 such copies were called edited for the bars).
SCREEN_EDGE = 0.01


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
QUICK_FIT_SAMPLE = 4_000  # for the look at every whole-picture copy (search.changed_through), which only decides
# whether the full examination runs


def median(values: np.ndarray) -> float:
    """``float(np.median(values))`` from one partition: numpy's median partitions at the two middle positions and the
    last (its NaN check), which on quantised levels (the residuals here take a few dozen values) costs 4-8 times one
    partition; the colour fit takes ~40 medians of 20,000 samples per candidate. No NaN reaches these values."""
    flat = values.ravel()
    if flat.size == 0:
        return float("nan")  # as numpy's, without its warning
    k = flat.size // 2
    part = np.partition(flat, k)
    if flat.size % 2:
        return float(part[k])
    low, high = part[:k].max(), part[k]
    if np.issubdtype(flat.dtype, np.integer):
        return (float(low) + float(high)) / 2
    return float((low + high) / 2)  # in the array's precision, as numpy's mean of the two


def _sample(values: np.ndarray, n: int = FIT_SAMPLE) -> np.ndarray:
    # contiguous: the fit's ~30 passes over the sample run several times faster than over a strided view
    return np.ascontiguousarray(values[:: max(1, len(values) // n)])


def _line_fit(x: np.ndarray, y: np.ndarray, a: float, b: float) -> tuple[float, float, float]:
    """Refit y ~ a x + b on the samples that agree with the current line; returns (a, b, median residual)."""
    for _ in range(3):
        res = np.abs(a * x + b - y)
        keep = res < max(12.0, 2.5 * median(res))
        if keep.sum() < 50:
            break
        xs, ys = x[keep], y[keep]
        vx = xs.var()
        a = float(((xs - xs.mean()) * (ys - ys.mean())).mean() / vx) if vx > 1e-3 else 1.0
        a = min(max(a, 0.3), 3.0)
        b = float(ys.mean() - a * xs.mean())
    return a, b, median(np.abs(a * x + b - y))


def _colour_fit(q: np.ndarray, r: np.ndarray, valid: np.ndarray, sample: int = FIT_SAMPLE) -> np.ndarray:
    """Per channel, a robust linear map of the copy's levels onto the reference's (brightness, contrast, colour).
    Refitted from three starts (no change; matched quartiles; least squares on everything), keeping the line that
    most of the picture agrees with: a screenshot's bars and a pasted box can cover a third of the overlap, and a
    least-squares start alone then lands between picture and paste, where no pixel agrees."""
    out = np.empty_like(q)
    # The same samples as ``_sample(q[..., c][valid])`` for each channel, picked once by position: six masked
    # copies of the whole frame cost ~5 ms a candidate.
    inside = np.flatnonzero(valid)
    picked = inside[:: max(1, len(inside) // sample)]
    q_picked, r_picked = q.reshape(-1, q.shape[-1])[picked], r.reshape(-1, r.shape[-1])[picked]
    for c in range(3):
        x, y = np.ascontiguousarray(q_picked[:, c]), np.ascontiguousarray(r_picked[:, c])
        if len(x) < 50:
            out[..., c] = q[..., c]
            continue
        (x25, x50, x75), (y25, y50, y75) = np.percentile(x, (25, 50, 75)), np.percentile(y, (25, 50, 75))
        a_q = min(max(float((y75 - y25) / (x75 - x25)), 0.3), 3.0) if x75 - x25 > 1 else 1.0
        vx = x.var()
        a_ls = min(max(float(((x - x.mean()) * (y - y.mean())).mean() / vx), 0.3), 3.0) if vx > 1e-3 else 1.0
        starts = ((1.0, 0.0), (a_q, float(y50 - a_q * x50)), (a_ls, float(y.mean() - a_ls * x.mean())))
        a, b, _ = min((_line_fit(x, y, a0, b0) for a0, b0 in starts), key=lambda fit: fit[2])
        out[..., c] = a * q[..., c] + b
    return out


LIGHT_GRID = 6  # cells per side for the lighting test
LIGHT_MIN_CELLS = 9  # cells at least 70% inside the overlap needed to judge
LIGHT_CELL_AGREE = 8.0  # levels (median absolute deviation within a cell): the cell's content agrees up to an offset
LIGHT_CELL_LOOSE = 16.0  # the same, when too few cells agree at LIGHT_CELL_AGREE (light varying within cells)
LIGHT_MAX_SPREAD = 3.0  # levels: copies <= 0.8 (matchbench held-out), the two coaster photographs 3.9-9.4


def colour_fit(al: Aligned, sample: int = FIT_SAMPLE) -> np.ndarray:
    """The copy's colours mapped onto the reference's (``_colour_fit`` over the overlap): computed once per
    candidate and given to both ``lighting_spread`` and ``diff``. ``sample``: pixels the fit is estimated from
    (its cost grows with them: ~23 ms at 20,000, ~14 ms at 8,000 on a 512x384 pair; 8,000 was tried and lost one
    held-out text edit of the benchmark, on a page of text: it came out `copy`)."""
    return _colour_fit(al.query, al.ref, al.valid, sample)


def lighting_spread(al: Aligned, fitted: np.ndarray) -> float | None:
    """How unevenly the copy's light differs from the reference's, after the best global colour map: the median,
    over a grid of cells, of each cell's median luminance residual (levels). A copy's colour changes are global
    (brightness, contrast, colour casts, re-encoding), so every cell agrees once the map is applied (<= 0.8
    levels on the copies of scripts/matchbench that reach this test); another photograph of the same flat object
    (a print, a coaster, a page) maps exactly through a homography, but the light falls differently across it
    (3.9-9.4 levels on the benchmark's two photographs of one coaster). A pasted box moves only the cells it
    covers, not the median, and a cell whose content differs (a pasted box, a phone's bar) is not counted. None:
    too little overlap to judge."""
    residual = luma(fitted) - luma(al.ref)  # luminance: a grayscale or desaturated copy mixes channels, not light
    h, w = residual.shape
    cells, loose = [], []
    for i in range(LIGHT_GRID):
        for j in range(LIGHT_GRID):
            rows, cols = slice(i * h // LIGHT_GRID, (i + 1) * h // LIGHT_GRID), slice(j * w // LIGHT_GRID, (j + 1) * w // LIGHT_GRID)
            inside = al.valid[rows, cols]
            if inside.mean() < 0.7:
                continue
            values = residual[rows, cols][inside]
            offset = median(values)
            spread = median(np.abs(values - offset))
            # Only cells whose content agrees up to that offset say something about light: a phone's bar or a
            # pasted box over the picture differs by its content, not by an offset.
            if spread <= LIGHT_CELL_AGREE:
                cells.append(abs(offset))
            if spread <= LIGHT_CELL_LOOSE:
                loose.append(abs(offset))
    if len(cells) >= LIGHT_MIN_CELLS:
        return float(np.median(cells))
    # Too few cells agree: glare and shading that vary within a cell make it disagree by more than an offset (the
    # coaster photographed again under a lamp: 7 of 24 cells agreed, 18 loosely, median offset 11 levels).
    return float(np.median(loose)) if len(loose) >= LIGHT_MIN_CELLS else None


def _gray(rgb: np.ndarray, valid: np.ndarray) -> bool:
    pixels = rgb[::4, ::4][valid[::4, ::4]]  # a sixteenth is plenty for a mean
    if len(pixels) == 0:
        return False
    y = luma(pixels)
    return float((np.abs(pixels[:, 0] - y) + np.abs(pixels[:, 2] - y)).mean()) / 2 < GRAY_CHROMA


def _group_stats(labels: np.ndarray, n: int) -> np.ndarray:
    """(x, y, w, h, area) of each label's pixels (0 = none), as OpenCV's component statistics."""
    stats = np.zeros((n, 5), np.int64)
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs]
    stats[:, 4] = np.bincount(ids, minlength=n)[:n]
    for k, coords in enumerate((xs, ys)):
        low, high = np.full(n, np.iinfo(np.int64).max), np.full(n, -1)
        np.minimum.at(low, ids, coords)
        np.maximum.at(high, ids, coords)
        present = stats[:, 4] > 0
        stats[present, k] = low[present]
        stats[present, k + 2] = high[present] - low[present] + 1
    return stats


def diff(al: Aligned, query_size: tuple[int, int], fitted: np.ndarray, inside: bool = False) -> Diff:
    """Changed regions of the aligned copy. ``query_size``: (width, height) of the query image ``al`` came from.
    ``fitted``: ``colour_fit(al)``. ``inside``: the picture is a part of the reader's image (a screenshot): changes
    at that image's border are the screen's bars (SCREEN_EDGE)."""
    valid = al.valid
    qw, qh = query_size
    hs = HEAT_SIDE / max(qw, qh)
    heat_size = (max(1, round(qw * min(1.0, hs))), max(1, round(qh * min(1.0, hs))))
    if valid.sum() < 500:
        return Diff(0.0, (), np.full((heat_size[1], heat_size[0]), np.nan, np.float32), int(valid.sum()))
    reference = al.ref
    if _gray(al.query, valid) and not _gray(al.ref, valid):
        # A grayscale copy of a colour picture: no colour map can bring the colour back, so compare luminance.
        reference, fitted = (np.repeat(luma(a)[..., None], 3, axis=2) for a in (al.ref, fitted))
    r = cv2.GaussianBlur(reference, (0, 0), BLUR_SIGMA)
    q = cv2.GaussianBlur(fitted, (0, 0), BLUR_SIGMA)
    # Each shift is a window of the reference padded by one pixel (wrapping, as np.roll would), compared plane by
    # plane with OpenCV: numpy's max(axis=2) took ~100 ms of the 9 shifts, rolled copies and a split per shift ~6.
    height, width = valid.shape
    padded = cv2.split(np.pad(r, ((1, 1), (1, 1), (0, 0)), mode="wrap"))
    planes = cv2.split(q)
    best = None
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            d = None
            for plane, wider in zip(planes, padded):
                e = cv2.absdiff(plane, wider[1 - dy : 1 - dy + height, 1 - dx : 1 - dx + width])
                d = e if d is None else cv2.max(d, e)
            best = d if best is None else cv2.min(best, d)
    best[~valid] = 0
    vals = _sample(best[valid])
    centre = median(vals)
    noise = centre + 1.4826 * median(np.abs(vals - centre))
    level = max(CHANGE_LEVEL, NOISE_SIGMAS * noise)
    mask = ((best > level) & valid).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((OPEN_PX, OPEN_PX), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((CLOSE_PX, CLOSE_PX), np.uint8)) & valid.astype(np.uint8)
    # Letters of a caption are separate components, each under MIN_REGION_SHARE: components are grouped by
    # proximity (GROUP_PX) and a group's changed pixels are counted together.
    groups = cv2.dilate(mask, np.ones((GROUP_PX, GROUP_PX), np.uint8)) if GROUP_PX > 1 else mask
    n, labels, _, _ = cv2.connectedComponentsWithStats(groups, connectivity=8)
    labels = np.where(mask > 0, labels, 0)
    stats = _group_stats(labels, n)
    area_valid = float(valid.sum())
    H = al.work_to_query
    regions, changed, at_edge = [], 0, []
    for i in range(1, n):
        x, y, w, h, a = stats[i]
        if a < MIN_REGION_SHARE * area_valid:
            continue
        # the region in the query frame: map the box corners, take their bounding box, clip
        pts = cv2.perspectiveTransform(np.float32([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]]), H)[0]
        bx0, by0 = np.clip(pts.min(0) / (qw, qh), 0, 1)
        bx1, by1 = np.clip(pts.max(0) / (qw, qh), 0, 1)
        if inside and (min(bx0, by0) <= SCREEN_EDGE or max(bx1, by1) >= 1 - SCREEN_EDGE):
            at_edge.append(i)
            continue
        changed += a
        regions.append((float(bx0), float(by0), float(bx1), float(by1)))
    regions = merge_boxes(regions, 0.01)
    if at_edge:
        valid = valid & ~np.isin(labels, at_edge)
    # heatmap: difference over the level, warped into the (reduced) query frame; NaN outside the overlap
    heat_work = np.where(valid, best / level, np.nan).astype(np.float32)
    S = np.diag([heat_size[0] / qw, heat_size[1] / qh, 1.0]) @ H
    heat = cv2.warpPerspective(np.nan_to_num(heat_work, nan=-1.0), S, heat_size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
    heat[heat < 0] = np.nan
    return Diff(changed / area_valid, tuple(regions), heat, int(area_valid))
