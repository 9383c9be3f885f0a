"""Second stage: align a reader's copy with a registered image's reference copy, confirm or reject the match,
and measure where the copy differs (changed regions and a heatmap).

1. Undo what the hash match says was done: crop to the trimmed box, turn back by the matched rotation/flip.
2. Align: the copy is a scaled, shifted window of the reference (a whole-picture copy is the window that covers
   it). Normalised cross-correlation of luminance (invariant to brightness and contrast), computed with numpy FFTs
   over all shifts, at 11 scales around the one the hash match implies on a 128 px grid, then refined at 256 px.
3. Compare on a grid of 96 cells on the long side: map the copy's colours onto the reference's (histogram
   matching per channel, so global colour, brightness, contrast and gamma changes cancel), take each cell's
   difference to the closest of the 3x3 reference cells around it (alignment errors below a cell vanish), smooth,
   and call a cell changed when it differs by more than ``CHANGE_LEVEL`` and by more than the picture's own noise,
   or when its texture (the spread of luminance inside it) differs from the reference's by more than
   ``TEXTURE_LEVEL`` (a flat box over grass in the grass's own colour). A grayscale original is compared in
   luminance, plus the colour the copy has in places. Connected changed cells are the changed regions.

Confirmation asks, outside the changed cells, for a high correlation of the aligned pictures and of their fine
structure (high-pass), and for most of the picture to agree: unrelated pictures that a hash brought close fail the
structure test (forced on 6,630 distinct pairs by scripts/bench_match.py, it confirmed none).

Pure: numpy, Pillow and OpenCV (the correlation in ``ncc_map``). Everything here runs on the <= 512 px hash image
and reference copy.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from ledger.core.boxes import merge_boxes
from ledger.core.fingerprint import Dihedral, Trim, trim_box
from ledger.core.match_index import TRIMMED, variant_box, variant_dihedral

COARSE_SIDE = 128  # alignment search grid (long side of the reference, px)
FINE_SIDE = 256  # refinement grid
GRID_SIDE = 96  # comparison grid (cells on the long side of the copy)
SCALE_SPAN = 0.16  # search scales within +-16% of the one the hash match implies
SCALE_STEPS = 11
# Below this correlation at the best coarse place nothing is confirmed, so the fine search and the measure (~70% of
# a comparison, ~24 of ~34 ms) are skipped. Over both halves of scripts/matchbench (one case per photo and family,
# 1,185 confirmed comparisons) the lowest coarse correlation of a confirmed one was 0.277 (1st percentile 0.43);
# chance neighbours (crops of other photos against rotated and cropped copies, 456 pairs) had a median of 0.10 and
# 60% below this floor. It matters at scale: the nearest-hash step meets chance neighbours (see matcher).
ALIGN_FLOOR = 0.15
TEMPLATE_SHARE = 0.9  # the copy's centre part slid over the reference (room for shifts of 5% each way)

# Confirmation (calibrated by scripts/bench_match.py on real photos: see docs/matching.md).
CONFIRM_NCC = 0.6  # correlation of the aligned luminance
CONFIRM_STRUCTURE = 0.35  # correlation of the aligned high-pass (fine structure)
CONFIRM_AGREEMENT = 0.6  # share of the compared area that is unchanged

# Change detection on the comparison grid, in 8-bit levels after colour matching and a 3x3 smoothing.
CHANGE_LEVEL = 28.0
NOISE_SIGMAS = 6.0
MIN_REGION_CELLS = 6  # smaller blobs are noise (6 cells of a 96 grid: ~0.1% of the picture)
EDITED_MIN_SHARE = 0.004  # at least 0.4% of the picture changed to call it edited
# Texture: a flat box pasted over grass or gravel in the texture's own mean colour hardly moves a cell's mean, but
# its spread of luminance collapses (and a caption over a flat sky raises it). A cell is changed when its spread and
# the reference's differ by more than e^TEXTURE_LEVEL (3.3x), after the copy's overall gain; spreads are counted
# from TEXTURE_FLOOR levels (JPEG noise in flat areas is not texture).
TEXTURE_FLOOR = 4.0
TEXTURE_LEVEL = 1.2
GRAY_CHROMA = 4.0  # mean |chroma| below this (levels): a grayscale picture
# Structure agreement away from the reference's outlines (cells within OFF_EDGE_GROW cells of a gradient of at least
# OFF_EDGE_SHARE of its 99th percentile): tiles of one fundus photograph (an orange disc on black; scripts/matchbench
# calibration split, distinct_crops) were confirmed as copies of one another by the arc they share (structure
# 0.66-0.90, above the 2nd percentile of copies, 0.62): 30 false matches. Away from the arc they agree at -0.04 to
# 0.11 (tests/core/test_wild.py's tiles). Below OFF_EDGE_STRUCTURE a match needs the keypoints to agree: calibration
# half 30 -> 0 false matches and no copy lost; held-out, 2 aspect changes lost whose keypoints do not verify (their
# outline-free agreement is low after a non-uniform rescale: -0.11, 0.12); one of them is kept by its close PDQ hash
# (matcher.EDGE_BOUND_KEPT_DISTANCE). docs/matching.md has the figures.
OFF_EDGE_SHARE = 0.3
OFF_EDGE_GROW = 2
OFF_EDGE_STRUCTURE = 0.5


@dataclass(frozen=True, slots=True)
class Alignment:
    scale: float  # reference px per copy px (after undoing rotation and trim)
    offset: tuple[float, float]  # reference position of the copy's (0, 0)
    ncc: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """What the second stage found. Boxes are shares (0-1) of the reader's image: x0, y0, x1, y1."""

    aligned: bool
    confirmed: bool
    ncc: float
    structure: float
    changed_share: float  # of the compared area
    regions: tuple[tuple[float, float, float, float], ...]
    covered_share: float  # share of the reference the copy shows (1.0: whole picture; < 1: cropped)
    scale: float  # reference px per copy px
    grayscale: bool  # the copy is gray and the reference is not
    heat: np.ndarray | None = field(default=None, repr=False)  # (h, w) float32 in the reader's frame, NaN = not compared
    off_edge_structure: float = 1.0  # ``structure`` away from the reference's strongest edges (see OFF_EDGE_*)
    # The alignment as a 3x3 map: the reference's normalised coordinates (x / width, y / height) -> the reader's
    # image's, the form the wild path's pixel comparison takes.
    transform: np.ndarray | None = field(default=None, repr=False)

    @property
    def edited(self) -> bool:
        return self.confirmed and self.changed_share >= EDITED_MIN_SHARE and bool(self.regions)

    @property
    def edge_bound(self) -> bool:
        """Confirmed mostly by a few strong edges (a disc on black, a horizon): pictures that share a shape but
        not their content look alike here, so another test must agree."""
        return self.confirmed and self.off_edge_structure < OFF_EDGE_STRUCTURE

    @classmethod
    def failed(cls) -> Comparison:
        return cls(False, False, 0.0, 0.0, 0.0, (), 0.0, 0.0, False, None)


# -- small numpy helpers --------------------------------------------------------------------------------------
def _luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _resize(array: np.ndarray, size: tuple[int, int], box: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Area-resample a 2-D float or (H, W, 3) uint8 array to ``size`` = (width, height), from ``box`` if given."""
    width, height = max(1, size[0]), max(1, size[1])
    if array.ndim == 2:
        image = Image.fromarray(array.astype(np.float32), "F")
        return np.asarray(image.resize((width, height), Image.Resampling.BOX, box=box), dtype=np.float64)
    image = Image.fromarray(np.ascontiguousarray(array), "RGB")
    return np.asarray(image.resize((width, height), Image.Resampling.BOX, box=box), dtype=np.float64)


def _integral(a: np.ndarray) -> np.ndarray:
    out = np.zeros((a.shape[0] + 1, a.shape[1] + 1))
    out[1:, 1:] = a.cumsum(0).cumsum(1)
    return out


def _window_sums(integral: np.ndarray, h: int, w: int) -> np.ndarray:
    return integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]


def ncc_map(image: np.ndarray, template: np.ndarray) -> np.ndarray | None:
    """Normalised cross-correlation of ``template`` at every position where it fits inside ``image``. The products
    by OpenCV in float32 (numpy's float64 FFT cost ~4 times as much: ~30 of ~50 ms a comparison, which every hash
    candidate pays, chance neighbours included); the window sums stay float64, so a flat window scores 0."""
    h, w = template.shape
    H, W = image.shape
    if h > H or w > W or h < 4 or w < 4:
        return None
    t = template - template.mean()
    t_norm = np.sqrt((t * t).sum())
    if t_norm < 1e-6:
        return None
    numerator = cv2.matchTemplate(image.astype(np.float32), t.astype(np.float32), cv2.TM_CCORR).astype(np.float64)
    integral, squares = cv2.integral2(np.ascontiguousarray(image, dtype=np.float64), sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
    sums = _window_sums(integral, h, w)
    sums2 = _window_sums(squares, h, w)
    variance = np.maximum(sums2 - sums * sums / (h * w), 0)
    denominator = np.sqrt(variance) * t_norm
    return np.where(denominator > 1e-6 * t_norm, numerator / np.maximum(denominator, 1e-12), 0.0)


def _ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    if mask is not None:
        a, b = a[mask], b[mask]
    a = a - a.mean()
    b = b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 1e-9 else 0.0


def _box_blur(a: np.ndarray, radius: int = 1) -> np.ndarray:
    padded = np.pad(a, radius, mode="edge")
    integral = _integral(padded)
    size = 2 * radius + 1
    return _window_sums(integral, size, size) / (size * size)


def _high_pass(a: np.ndarray) -> np.ndarray:
    return _box_blur(a, 1) - _box_blur(a, 3)


def _match_histogram(source: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Map ``source`` values onto ``reference``'s distribution by rank; tied values get the mean of their ranks."""
    values, inverse, counts = np.unique(source.ravel(), return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    sorted_ref = np.sort(reference.ravel())
    csum = np.concatenate([[0.0], np.cumsum(sorted_ref)])
    means = (csum[ends] - csum[ends - counts]) / counts
    return means[inverse].reshape(source.shape)


def _difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per cell: the luminance difference, or half the largest chroma difference if larger (colour edits)."""
    if a.shape[-1] == 1:
        return np.abs(a[..., 0] - b[..., 0])
    la, lb = _luma(a), _luma(b)
    chroma = np.abs(np.stack([a[..., 0] - la - b[..., 0] + lb, a[..., 2] - la - b[..., 2] + lb], axis=-1)).max(axis=-1)
    return np.maximum(np.abs(la - lb), 0.5 * chroma)


def _shift_tolerant_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest difference between each cell of ``a`` and the cells of ``b`` one step around it: alignment
    errors under a cell and resampling at edges vanish, a changed block of several cells stays."""
    padded = np.pad(b, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = a.shape[:2]
    best = np.full((h, w), np.inf)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            best = np.minimum(best, _difference(a, padded[dy : dy + h, dx : dx + w]))
    return best


def _grow(mask: np.ndarray, radius: int = 2) -> np.ndarray:
    """The mask dilated by ``radius`` cells (the edges of a changed block are changed too)."""
    return _box_blur(mask.astype(np.float64), radius) > 0


def _components(mask: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """4-connected components of a boolean grid: (size, y0, x0, y1, x1) each (y1, x1 exclusive)."""
    seen = np.zeros_like(mask, dtype=bool)
    out = []
    height, width = mask.shape
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        stack = [(y, x)]
        seen[y, x] = True
        size, y0, x0, y1, x1 = 0, y, x, y, x
        while stack:
            cy, cx = stack.pop()
            size += 1
            y0, x0, y1, x1 = min(y0, cy), min(x0, cx), max(y1, cy), max(x1, cx)
            for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        out.append((size, int(y0), int(x0), int(y1) + 1, int(x1) + 1))
    return out


# -- alignment ------------------------------------------------------------------------------------------------
def _search(reference: np.ndarray, copy: np.ndarray, scales: np.ndarray, factor: float,
            near: tuple[float, float] | None = None, margin: float = 0.0) -> Alignment | None:  # fmt: skip
    """Best (scale, offset) of ``copy`` (luma, copy px) inside ``reference`` (luma, reference px) on a grid where one
    reference px is ``factor`` grid px. ``near``: only offsets within ``margin`` reference px of this one."""
    grid = _resize(reference, (round(reference.shape[1] * factor), round(reference.shape[0] * factor)))
    best: Alignment | None = None
    ch, cw = copy.shape
    for scale in scales:
        # The copy's centre part at this scale, small enough to slide inside the reference.
        tw_full, th_full = cw * scale * factor, ch * scale * factor
        share_w = min(1.0, TEMPLATE_SHARE * grid.shape[1] / tw_full) if tw_full > 0 else 1.0
        share_h = min(1.0, TEMPLATE_SHARE * grid.shape[0] / th_full) if th_full > 0 else 1.0
        cx0, cx1 = cw * (1 - share_w) / 2, cw * (1 + share_w) / 2
        cy0, cy1 = ch * (1 - share_h) / 2, ch * (1 + share_h) / 2
        tw, th = round((cx1 - cx0) * scale * factor), round((cy1 - cy0) * scale * factor)
        if tw < 8 or th < 8:
            continue
        template = _resize(copy, (tw, th), box=(cx0, cy0, cx1, cy1))
        image, ox, oy = grid, 0, 0
        if near is not None:
            px, py = (near[0] + cx0 * scale) * factor, (near[1] + cy0 * scale) * factor
            m = margin * factor + 2
            x0, y0 = max(0, int(px - m)), max(0, int(py - m))
            x1, y1 = min(grid.shape[1], int(px + tw + m) + 1), min(grid.shape[0], int(py + th + m) + 1)
            image, ox, oy = grid[y0:y1, x0:x1], x0, y0
        scores = ncc_map(image, template)
        if scores is None or scores.size == 0:
            continue
        y, x = np.unravel_index(int(np.argmax(scores)), scores.shape)
        score = float(scores[y, x])
        if best is None or score > best.ncc:
            # The copy's (0, 0) in reference px: the template's corner minus the copy-centre offset.
            offset = ((x + ox) / factor - cx0 * scale, (y + oy) / factor - cy0 * scale)
            best = Alignment(float(scale), offset, score)
    return best


def align(reference: np.ndarray, copy: np.ndarray, expected: tuple[float, float, float, float] | None) -> Alignment | None:
    """Where ``copy`` (luma) sits in ``reference`` (luma). ``expected``: the window (reference px) a hash matched."""
    rh, rw = reference.shape
    ch, cw = copy.shape
    x0, y0, x1, y1 = expected or (0.0, 0.0, float(rw), float(rh))
    guess = float(np.sqrt(((x1 - x0) / cw) * ((y1 - y0) / ch)))
    scales = guess * np.exp(np.linspace(np.log(1 - SCALE_SPAN), np.log(1 + SCALE_SPAN), SCALE_STEPS))
    coarse = _search(reference, copy, scales, COARSE_SIDE / max(rh, rw))
    if coarse is None or coarse.ncc < ALIGN_FLOOR:
        return None
    fine_factor = min(1.0, FINE_SIDE / max(rh, rw))
    step = float(np.exp(2 * np.log(1 + SCALE_SPAN) / (SCALE_STEPS - 1)))
    fine_scales = coarse.scale * np.array([1 / step, step ** -0.5, 1.0, step**0.5, step])
    fine = _search(reference, copy, fine_scales, fine_factor, near=coarse.offset, margin=3 * max(rh, rw) / COARSE_SIDE)
    return fine if fine is not None and fine.ncc >= coarse.ncc - 0.05 else coarse


# -- comparison -----------------------------------------------------------------------------------------------
def compare(query: np.ndarray, reference: np.ndarray, variant: int, trim: Trim | None = None) -> Comparison:
    """Compare the reader's hash image ``query`` with a reference copy, given the matched variant and, when the
    reader's trimmed hash matched, its trim."""
    frame_h, frame_w = query.shape[:2]
    ox, oy = 0, 0
    part = query
    if trim is not None:
        x0, y0, x1, y1 = trim.box
        part, ox, oy = query[y0:y1, x0:x1], x0, y0
    turn = variant_dihedral(variant)
    upright = np.ascontiguousarray(turn.invert(part))  # the copy in the original's orientation
    ref_h, ref_w = reference.shape[:2]
    expected: tuple[float, float, float, float] | None = None
    box = variant_box(variant)
    if box is not None:
        expected = (box[0] * ref_w, box[1] * ref_h, box[2] * ref_w, box[3] * ref_h)
    elif variant == TRIMMED:
        ref_trim = trim_box(reference)
        if ref_trim is not None:
            expected = tuple(float(v) for v in ref_trim.box)  # type: ignore[assignment]
    ref_luma, copy_luma = _luma(reference), _luma(upright)
    alignment = align(ref_luma, copy_luma, expected)
    if alignment is None:
        return Comparison.failed()
    return _measure(upright, reference, alignment, turn, (ox, oy, part.shape[1], part.shape[0]), (frame_w, frame_h),
                    (copy_luma, ref_luma))  # fmt: skip


def _measure(upright: np.ndarray, reference: np.ndarray, alignment: Alignment, turn: Dihedral,
             placed: tuple[int, int, int, int], frame: tuple[int, int], lumas: tuple[np.ndarray, np.ndarray]
             ) -> Comparison:  # fmt: skip
    """``lumas``: ``_luma`` of ``upright`` and of ``reference``, already computed for the alignment."""
    ch, cw = upright.shape[:2]
    ref_h, ref_w = reference.shape[:2]
    s, (ax, ay) = alignment.scale, alignment.offset
    # The part of the copy whose footprint lies inside the reference, in copy px.
    qx0, qy0 = max(0.0, -ax / s), max(0.0, -ay / s)
    qx1, qy1 = min(float(cw), (ref_w - ax) / s), min(float(ch), (ref_h - ay) / s)
    if qx1 - qx0 < cw * 0.3 or qy1 - qy0 < ch * 0.3:
        return Comparison.failed()
    cell = max(1.0, max(ch, cw) / GRID_SIDE)
    gx0, gy0 = int(np.ceil(qx0 / cell)), int(np.ceil(qy0 / cell))
    gx1, gy1 = int(np.floor(qx1 / cell)), int(np.floor(qy1 / cell))
    gw, gh = gx1 - gx0, gy1 - gy0
    if gw < 8 or gh < 8:
        return Comparison.failed()
    copy_box = (gx0 * cell, gy0 * cell, min(cw, gx1 * cell), min(ch, gy1 * cell))
    ref_box = (ax + copy_box[0] * s, ay + copy_box[1] * s, ax + copy_box[2] * s, ay + copy_box[3] * s)
    ref_box = (max(0.0, ref_box[0]), max(0.0, ref_box[1]), min(float(ref_w), ref_box[2]), min(float(ref_h), ref_box[3]))
    q = _resize(upright, (gw, gh), box=copy_box)
    r = _resize(reference, (gw, gh), box=ref_box)

    q_luma, r_luma = _luma(q), _luma(r)

    def chroma(a: np.ndarray, luma: np.ndarray) -> np.ndarray:
        return np.stack([a[..., 0] - luma, a[..., 2] - luma], axis=-1)

    q_gray = float(np.abs(chroma(q, q_luma)).mean()) < GRAY_CHROMA
    r_gray = float(np.abs(chroma(r, r_luma)).mean()) < GRAY_CHROMA
    if q_gray or r_gray:
        mapped = _match_histogram(q_luma, r_luma)[..., None]
        target = r_luma[..., None]
    else:
        mapped = np.stack([_match_histogram(q[..., c], r[..., c]) for c in range(3)], axis=-1)
        target = r
    diff = _shift_tolerant_diff(mapped, target)
    if r_gray:
        # A grayscale original compared in luminance only: colour the copy has in places (a pasted coloured box
        # of the picture's own brightness) is a change; a tint over the whole copy is not (its median cancels).
        q_chroma = chroma(q, q_luma)
        local = np.abs(q_chroma - np.median(q_chroma.reshape(-1, 2), axis=0)).max(axis=-1)
        diff = np.maximum(diff, 0.5 * local)
    texture = _texture_change(lumas[0], copy_box, lumas[1], ref_box, (gw, gh))
    # Clipped highlights and shadows (brightness/contrast pushed past the range) are not edits.
    clipped = ((q_luma >= 250) & (r_luma >= 190)) | ((q_luma <= 5) & (r_luma <= 65))
    smooth = _box_blur(np.where(clipped, 0.0, diff), 1)
    median = float(np.median(smooth))
    mad = float(np.median(np.abs(smooth - median))) * 1.4826
    level = max(CHANGE_LEVEL, median + NOISE_SIGMAS * mad)
    texture_smooth = _box_blur(np.where(clipped, 0.0, texture), 1)
    changed = (smooth > level) | (texture_smooth > TEXTURE_LEVEL)
    components = [c for c in _components(changed) if c[0] >= MIN_REGION_CELLS]
    kept = np.zeros_like(changed)
    for _size, y0, x0, y1, x1 in components:
        kept[y0:y1, x0:x1] |= changed[y0:y1, x0:x1]
    changed_share = float(kept.mean())
    # Agreement is measured where the pictures did not change: a logo box must not hide that the rest is identical.
    same = ~_grow(kept)
    if same.mean() < 0.2:
        same = np.ones_like(kept)
    ncc = _ncc(q_luma, r_luma, same)
    q_high, r_high = _high_pass(q_luma), _high_pass(r_luma)
    structure = _ncc(q_high, r_high, same)
    off_edges = same & ~_strong_edges(r_luma, same)
    off_edge_structure = _ncc(q_high, r_high, off_edges) if off_edges.mean() > 0.1 else structure
    boxes = merge_boxes([(y0, x0, y1, x1) for _, y0, x0, y1, x1 in components], 1)

    # Back to the reader's frame: grid cells of the upright copy -> copy px -> turned and placed in the frame.
    px, py, pw, ph = placed
    frame_w, frame_h = frame
    regions = []
    for y0, x0, y1, x1 in boxes:
        cbox = ((gx0 + x0) * cell, (gy0 + y0) * cell, min(cw, (gx0 + x1) * cell), min(ch, (gy0 + y1) * cell))
        bx0, by0, bx1, by1 = turn.map_box(cbox, cw, ch)
        regions.append((round((px + bx0) / frame_w, 4), round((py + by0) / frame_h, 4),
                        round((px + bx1) / frame_w, 4), round((py + by1) / frame_h, 4)))  # fmt: skip
    # changed cells show at the change level at least (a texture change can leave the colour difference under it)
    heat = _heat_in_frame(np.where(kept, np.maximum(smooth, level), np.minimum(smooth, level * 0.999)) / max(level, 1.0), (gx0, gy0, gx1, gy1),
                          cell, (cw, ch), turn, placed, frame)  # fmt: skip
    covered = float((ref_box[2] - ref_box[0]) * (ref_box[3] - ref_box[1]) / (ref_w * ref_h))
    transform = _frame_transform(alignment, turn, (cw, ch), placed, frame, (ref_w, ref_h))
    confirmed = ncc >= CONFIRM_NCC and structure >= CONFIRM_STRUCTURE and 1 - changed_share >= CONFIRM_AGREEMENT
    return Comparison(
        aligned=True,
        confirmed=confirmed,
        ncc=round(ncc, 4),
        structure=round(structure, 4),
        changed_share=round(changed_share, 5),
        regions=tuple(regions),
        covered_share=round(min(1.0, covered), 4),
        scale=round(s, 4),
        grayscale=q_gray and not r_gray,
        heat=heat,
        off_edge_structure=round(off_edge_structure, 4),
        transform=transform,
    )


def _frame_transform(alignment: Alignment, turn: Dihedral, copy_size: tuple[int, int], placed: tuple[int, int, int, int],
                     frame: tuple[int, int], ref_size: tuple[int, int]) -> np.ndarray:  # fmt: skip
    """Reference normalised -> reader's frame normalised: undo the shift and scale, turn the copy back as the
    reader holds it, place it where it was trimmed from."""
    s, (ax, ay) = alignment.scale, alignment.offset
    to_copy = np.array([[1 / s, 0, -ax / s], [0, 1 / s, -ay / s], [0, 0, 1.0]])
    cw, ch = copy_size
    (x0, y0), (x1, y1), (x2, y2) = (turn.map_point(x, y, cw, ch) for x, y in ((0, 0), (1, 0), (0, 1)))
    turned = np.array([[x1 - x0, x2 - x0, x0], [y1 - y0, y2 - y0, y0], [0, 0, 1.0]])
    px, py = placed[0], placed[1]
    to_frame = np.array([[1, 0, px], [0, 1, py], [0, 0, 1.0]])
    ref_w, ref_h = ref_size
    frame_w, frame_h = frame
    H = np.diag([1 / frame_w, 1 / frame_h, 1.0]) @ to_frame @ turned @ to_copy @ np.diag([ref_w, ref_h, 1.0])
    return H / H[2, 2]


def _cell_spread(luma: np.ndarray, box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:
    """The standard deviation of ``luma`` inside each cell of the comparison grid over ``box``."""
    mean = _resize(luma, size, box=box)
    square = _resize(luma * luma, size, box=box)
    return np.sqrt(np.maximum(square - mean * mean, 0.0))


def _texture_change(q_luma: np.ndarray, q_box: tuple[float, float, float, float], r_luma: np.ndarray,
                    r_box: tuple[float, float, float, float], size: tuple[int, int]) -> np.ndarray:  # fmt: skip
    """Per cell, how far the copy's texture (spread of luminance inside the cell) is from the reference's, as the
    absolute log ratio, after the copy's overall loss or gain of texture (blur, sharpening, rescaling) is taken
    out; the smallest over the reference cells one step around, as for the colour difference."""
    q_spread = _cell_spread(q_luma, q_box, size)
    r_spread = _cell_spread(r_luma, r_box, size)
    both = (q_spread > TEXTURE_FLOOR) & (r_spread > TEXTURE_FLOOR)
    gain = float(np.median(q_spread[both] / r_spread[both])) if both.sum() > 20 else 1.0
    r_padded = np.pad(gain * r_spread, 1, mode="edge")
    h, w = q_spread.shape
    best = np.full((h, w), np.inf)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            ratio = (q_spread + TEXTURE_FLOOR) / (r_padded[dy : dy + h, dx : dx + w] + TEXTURE_FLOOR)
            best = np.minimum(best, np.abs(np.log(ratio)))
    return best


def _strong_edges(luma: np.ndarray, within: np.ndarray) -> np.ndarray:
    """The cells within OFF_EDGE_GROW cells of a gradient of at least OFF_EDGE_SHARE of the 99th percentile
    (measured ``within``): outlines and their shoulders, where resampling leaves strong residual structure."""
    gy, gx = np.gradient(luma)
    magnitude = np.hypot(gx, gy)
    if not within.any():
        return np.zeros_like(within)
    strong = magnitude >= OFF_EDGE_SHARE * np.percentile(magnitude[within], 99)
    for _ in range(OFF_EDGE_GROW):
        grown = strong.copy()
        grown[1:] |= strong[:-1]
        grown[:-1] |= strong[1:]
        grown[:, 1:] |= grown[:, :-1].copy()
        grown[:, :-1] |= grown[:, 1:].copy()
        strong = grown
    return strong


def _heat_in_frame(values: np.ndarray, grid_box: tuple[int, int, int, int], cell: float, copy_size: tuple[int, int],
                   turn: Dihedral, placed: tuple[int, int, int, int], frame: tuple[int, int]) -> np.ndarray:  # fmt: skip
    """The change grid (upright copy cells) as a float map over the reader's whole image, NaN where not compared."""
    cw, ch = copy_size
    canvas = np.full((int(np.ceil(ch / cell)), int(np.ceil(cw / cell))), np.nan, dtype=np.float32)
    gx0, gy0, gx1, gy1 = grid_box
    canvas[gy0:gy1, gx0:gx1] = values
    turned = np.ascontiguousarray(turn.apply(canvas))
    px, py, pw, ph = placed
    frame_w, frame_h = frame
    full = np.full((int(np.ceil(frame_h / cell)), int(np.ceil(frame_w / cell))), np.nan, dtype=np.float32)
    y0, x0 = int(round(py / cell)), int(round(px / cell))
    h = min(turned.shape[0], full.shape[0] - y0)
    w = min(turned.shape[1], full.shape[1] - x0)
    full[y0 : y0 + h, x0 : x0 + w] = turned[:h, :w]
    return full


def heatmap_png(heat: np.ndarray, size: tuple[int, int] | None = None) -> bytes:
    """The heatmap as a transparent PNG to lay over the reader's image: clear where unchanged, red where changed.
    ``size``: (width, height) to scale to (smoothly), else the grid's own size."""
    level = np.nan_to_num(heat, nan=0.0)
    alpha = np.clip((level - 0.5) / 0.5, 0, 1)  # below half the change level: transparent
    alpha = np.where(level >= 1.0, np.maximum(alpha, 0.75), alpha * 0.5)
    rgba = np.zeros(heat.shape + (4,), dtype=np.uint8)
    rgba[..., 0] = 230
    rgba[..., 1] = np.clip(80 * (1 - alpha), 0, 255).astype(np.uint8)
    rgba[..., 2] = 40
    rgba[..., 3] = (alpha * 200).astype(np.uint8)
    image = Image.fromarray(rgba, "RGBA")
    if size is not None:
        image = image.resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
