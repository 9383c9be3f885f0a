"""The wild path: find a registered picture inside a reader's image when the PDQ steps found nothing (rotations,
deep crops, mirrors, feed screenshots, chains of changes), say how it was transformed, whether it was edited and
where, and refuse to call a different photograph of the same scene a copy.

    query = prepare(probe.detail)                        # ORB features of the reader's image, plain and mirrored
    found = search(query, index, top_k)                  # candidates by descriptor votes (local_index), plain;
                                                         # mirrored=True: the mirror image's votes
    seen = examine(query, features, reference)           # geometric verification, same-picture check, aligned diff

``examine`` is also the second opinion on a PDQ candidate whose shift-and-scale second stage saw changes: it aligns
through the estimated homography, so a copy that was only rotated, skewed or put in perspective is not `edited`.
Pure: numpy, OpenCV and faiss; lookups are the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from ledger.core.wild import aligned_diff, geometry, local_features, same_scene
from ledger.core.wild.local_features import Features
from ledger.core.wild.local_index import TOP_K, Candidate, LocalIndex, vote_descriptors
from ledger.core.wild.warp import Aligned, align


@dataclass(frozen=True, slots=True)
class Query:
    """A reader's image prepared once for every candidate: its features (plain and mirrored) and their index."""

    rgb: np.ndarray = field(repr=False)
    plain: Features
    mirror: Features | None
    matcher: geometry.QuerySet = field(repr=False)
    parts: dict[tuple[int, int, int, int], Query] = field(default_factory=dict, repr=False)  # picture regions, prepared once
    memo: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict, repr=False)

    def regions(self) -> list[tuple[int, int, int, int]]:
        """``picture_regions`` of this image, found once for every candidate."""
        if "regions" not in self.memo:
            self.memo["regions"] = picture_regions(self.rgb)
        return self.memo["regions"]

    def part(self, box: tuple[int, int, int, int]) -> Query:
        """This region of the image, prepared once."""
        if box not in self.parts:
            self.parts[box] = prepare(self._crop(box))
        return self.parts[box]

    def _crop(self, box: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = box
        return np.ascontiguousarray(self.rgb[y0:y1, x0:x1])

    @property
    def empty(self) -> bool:
        return len(self.plain) == 0 and (self.mirror is None or len(self.mirror) == 0)


@dataclass(frozen=True, slots=True)
class Seen:
    """What ``examine`` found of one registered picture in the reader's image."""

    relation: str  # "copy" | "edited" | "similar_scene"
    inliers: int
    transform: np.ndarray = field(repr=False)  # 3x3: reference normalised (x/w, y/h) -> query normalised
    words: tuple[str, ...]
    regions: tuple[tuple[float, float, float, float], ...]  # changed boxes, shares of the QUERY (x0, y0, x1, y1)
    heat: np.ndarray | None = field(default=None, repr=False)  # query frame, NaN = not compared
    changed_share: float = 0.0
    misaligned_share: float = 0.0
    covered: float = 1.0  # share of the registered picture the reader's image shows

    @property
    def edited(self) -> bool:
        return self.relation == "edited"

    @property
    def flipped(self) -> bool:
        return float(np.linalg.det(self.transform[:2, :2])) < 0


def prepare(query_rgb: np.ndarray, mirrored: bool = True) -> Query:
    plain, mirror = local_features.extract_query(query_rgb, mirrored=mirrored)
    return Query(query_rgb, plain, mirror, geometry.QuerySet(plain, mirror))


def search(query: Query, index: LocalIndex, top_k: int = TOP_K, mirrored: bool = False) -> list[Candidate]:
    """Registered pictures whose descriptors the query's descriptors vote for, most votes first: those of the
    reader's image as it is, or (``mirrored``) of its mirror image. One orientation at a time because the vote
    costs in proportion to the descriptors that vote (~50 ms per orientation at 100,000 registered pictures) and
    most copies are not mirrored: the caller asks for the mirror's vote only when the plain one found nothing.
    Verification (``examine``) still sees both orientations."""
    features = query.mirror if mirrored else query.plain
    if features is None or len(features) == 0 or index.ntotal == 0:
        return []
    return index.search(vote_descriptors(features), top_k=top_k)


def search_regions(query: Query, index: LocalIndex, top_k: int = TOP_K, mirrored: bool = False) -> list[Candidate]:
    """The same vote, by each picture region of a screenshot alone (``picture_regions``): a small photo's own
    keypoints are outvoted by the interface's when the whole screenshot votes."""
    found: dict[int, Candidate] = {}
    for box in query.regions():
        for candidate in search(query.part(box), index, top_k, mirrored):
            if candidate.image not in found or candidate.votes > found[candidate.image].votes:
                found[candidate.image] = candidate
    return sorted(found.values(), key=lambda c: -c.votes)[:top_k]


# A picture region covering more of the reader's image than this is the image itself, not a part worth its own
# keypoint extraction.
REGION_MAX_SHARE = 0.7


PICTURE_MIN_SHARE = 0.03  # a picture region in a screenshot covers at least this share of it
PICTURE_STROKE_PX = 21  # text strokes and thin interface lines are narrower than this (at <= 1280 px)
MAX_PICTURE_REGIONS = 3
# A screenshot's border is mostly its interface's background (feed and AugLy screenshots of scripts/matchbench:
# >= 77% of the border within 24 levels of its commonest colour); a photo's border rarely is (most 5-70%). Below
# this share the image is not treated as a screenshot: its "regions" would be arbitrary blobs, each costing a
# keypoint extraction and a vote (~60 ms).
SCREENSHOT_BACKGROUND_SHARE = 0.75
# A verification with fewer inliers than geometry.MIN_INLIERS (14, twice the most any two distinct photos reached)
# but at least this many is kept only when the pixels confirm it: the same picture by the scene check's own motion
# measure (enough confident cells), and then it is a copy or an edited copy, never a similar scene.
WEAK_MIN_INLIERS = 11


def picture_regions(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes of the solid picture areas of a screenshot: pixels away from the background colour (the commonest
    colour of the border), with text and thin lines opened away. Largest first. None (an empty list) for an image
    whose border is not mostly one background colour."""
    small = rgb[::2, ::2].astype(np.int16)
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
    colours, counts = np.unique(border // 8, axis=0, return_counts=True)
    background = colours[np.argmax(counts)] * 8 + 4
    if (np.abs(border - background).max(axis=1) <= 24).mean() < SCREENSHOT_BACKGROUND_SHARE:
        return []
    mask = (np.abs(small - background).max(axis=2) > 24).astype(np.uint8)
    side = max(3, PICTURE_STROKE_PX // 2) | 1
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((side, side), np.uint8))
    n, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    area = mask.shape[0] * mask.shape[1]
    boxes = [(int(x) * 2, int(y) * 2, int(x + w) * 2, int(y + h) * 2, int(a)) for x, y, w, h, a in stats[1:]
             if w * h >= PICTURE_MIN_SHARE * area and w * h <= REGION_MAX_SHARE * area]  # fmt: skip
    boxes.sort(key=lambda b: -b[4])
    return [b[:4] for b in boxes[:MAX_PICTURE_REGIONS]]


def _in_regions(query: Query, features: Features) -> geometry.Verification | None:
    """The best verification of ``features`` in the query's picture regions, in the whole image's coordinates
    (weak ones included: ``examine`` gates them)."""
    height, width = query.rgb.shape[:2]
    best = None
    for box in query.regions():
        found = geometry.verify(features, query.part(box).matcher, min_inliers=WEAK_MIN_INLIERS)
        if found is not None and (best is None or found.inliers > best[1].inliers):
            best = (box, found)
    if best is None:
        return None
    box, verified = best
    return replace(_in_full(verified, box, width, height),
                   alternatives=tuple(_in_full(v, box, width, height) for v in verified.alternatives))  # fmt: skip


def _in_full(verified: geometry.Verification, box: tuple[int, int, int, int], width: int, height: int
             ) -> geometry.Verification:  # fmt: skip
    """A region's verification in the reader's whole image: its normalised coordinates and words."""
    x0, y0, x1, y1 = box
    to_full = np.array([[(x1 - x0) / width, 0, x0 / width], [0, (y1 - y0) / height, y0 / height], [0, 0, 1.0]])
    transform = to_full @ verified.H
    transform = transform / transform[2, 2]
    corners = np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], float) @ transform.T
    xy = np.clip(corners[:, :2] / corners[:, 2:], 0, 1)
    occupies = 0.5 * abs(float(np.dot(xy[:, 0], np.roll(xy[:, 1], 1)) - np.dot(xy[:, 1], np.roll(xy[:, 0], 1))))
    words = tuple(w for w in verified.words if not w.startswith(("inside a screenshot", "framed")))
    if occupies < geometry.INSIDE_OCCUPIES:
        words = (*words, f"inside a screenshot or larger picture ({100 * occupies:.0f}% of it)")
    return replace(verified, H=transform, words=words, occupies=occupies)


def changed_through(query_rgb: np.ndarray, reference: np.ndarray, transform: np.ndarray) -> bool:
    """Whether the pixel comparison (``aligned_diff``) sees an edit through an alignment found elsewhere (the
    second stage's shift and scale): that stage's grid averages thin text and small flat boxes away, so a copy it
    passed is looked at once more here, at pixel level, before the reader is told nothing was changed."""
    aligned = align(reference, query_rgb, transform)
    height, width = query_rgb.shape[:2]
    fitted = aligned_diff.colour_fit(aligned, aligned_diff.QUICK_FIT_SAMPLE)
    return aligned_diff.diff(aligned, (width, height), fitted).edited


def _best_alignment(reference: np.ndarray, query_rgb: np.ndarray, verified: geometry.Verification
                    ) -> tuple[geometry.Verification, Aligned, same_scene.SceneCheck]:  # fmt: skip
    """The homography or one of its simpler alternatives, whichever aligns the pixels best: a same-picture verdict
    first, then the smaller residue. The keypoints alone cannot choose: a map with fewer parameters keeps nearly
    as many inliers both when the homography's extra freedom fits noise (a small picture in a web screenshot came
    out rotated 3 degrees with perspective, then edited) and when it fits a real perspective or a 2 degree turn
    that scales and shifts miss by a pixel or two (those copies came out similar_scene when the simpler map was
    always preferred). A map that settles the alignment (SETTLED_PX) ends the search: simpler maps come first."""
    best = None
    tried: list[np.ndarray] = []
    side = min(max(reference.shape[:2]), 512)  # the work frame's longest side, at most (warp.align)
    for option in (*verified.alternatives, verified):  # the simpler maps first: of two alike, their words
        if any(_apart_px(option.H, other, side) < ALIKE_PX for other in tried):
            continue  # the same alignment to the pixel: the same check's verdict, ~10-15 ms saved
        tried.append(option.H)
        aligned = align(reference, query_rgb, option.H)
        scene = same_scene.check(aligned)
        residue = scene.p75_residual if np.isfinite(scene.p75_residual) else np.inf
        key = (not scene.same_picture, residue)
        if best is None or key < best[0]:
            best = (key, option, aligned, scene)
        if scene.same_picture and residue <= SETTLED_PX:
            break  # aligned to a fraction of a pixel: a map with more freedom could only fit noise
        if not scene.same_picture and APART_PX <= residue < np.inf:
            break  # motion spread over the picture, measured (not too few cells), that no other map here undoes
    assert best is not None
    return best[1], best[2], best[3]


# A map whose alignment the scene check finds the same picture with its cells' 75th-percentile residue within
# this many work px is taken without checking the maps with more freedom after it (the sub-pixel refit follows
# anyway). Copies' residues are <= 0.5 px, another photograph's >= 2.1 (same_scene); in the held-out half (one
# case per photo and family) 48% of the checks came after such a map, most changing the residue by < 0.1 px.
SETTLED_PX = 0.5
# A map through which the scene check finds another photograph with its cells' 75th-percentile residue at least
# this many work px (after the check's own refit to the cells) ends the search too: over both halves of the wild
# benchmark (one case per photo and family, 2026-12-02, 1,366 alignments) a map rejected before another of the same
# inliers was taken left at most 2.29 px; of 133 candidates no map took, 124 had their first map at >= 3 px
# (152 of 1,564 map checks saved).
# Each map not checked saves ~20 ms (a warp and a scene check), mostly on other photographs of the same scene.
APART_PX = 3.0
ALIKE_PX = 0.25  # work px: an alternative map this close to one already checked everywhere on the picture aligns
# the same pixels (the scene check refits residual motion anyway), so it is not checked again

_GRID = np.array([(x, y, 1.0) for x in np.linspace(0, 1, 5) for y in np.linspace(0, 1, 5)])


def _apart_px(a: np.ndarray, b: np.ndarray, side: int) -> float:
    """How far two maps (reference normalised -> query normalised) put the reference's points apart, measured back
    in the reference frame at ``side`` px: a 5 x 5 grid over the whole picture through ``a``, back through ``b``."""
    try:
        back = _GRID @ (np.linalg.inv(b) @ a).T
    except np.linalg.LinAlgError:
        return np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        moved = back[:, :2] / back[:, 2:] - _GRID[:, :2]
    distance = float(np.abs(moved).max()) * side
    return distance if np.isfinite(distance) else np.inf


def examine(query: Query, features: Features, reference: np.ndarray | None) -> Seen | None:
    """Verify one registered picture against the query. None: not found in it. Without a reference copy only the
    geometry is known, which cannot tell a copy from another photograph of the same scene: nothing is claimed."""
    if reference is None:
        return None
    verified = geometry.verify(features, query.matcher, min_inliers=WEAK_MIN_INLIERS)
    # An affine fit of the whole image is the last resort (see geometry); a weak one may be bettered in a region.
    if verified is None or verified.affine or verified.inliers < geometry.MIN_INLIERS:
        in_region = _in_regions(query, features)
        if in_region is not None and (verified is None or verified.affine or in_region.inliers > verified.inliers):
            verified = in_region
    if verified is None:
        return None
    return _judged(query, reference, verified, weak=verified.inliers < geometry.MIN_INLIERS)


def _judged(query: Query, reference: np.ndarray, verified: geometry.Verification, weak: bool,
            matched_pixels: bool = False) -> Seen | None:  # fmt: skip
    """What the pixels say through a verified map: a copy, an edited copy, a similar scene, or (a weak map the
    pixels do not confirm) nothing. ``matched_pixels``: the map was found by the pixels' own correlation, which
    stands for the scene check's confident cells (a soft picture has few)."""
    verified, aligned, scene = _best_alignment(reference, query.rgb, verified)
    common = {"inliers": verified.inliers, "transform": verified.H, "words": verified.words,
              "misaligned_share": scene.misaligned_share, "covered": verified.covered}  # fmt: skip
    confident = matched_pixels or scene.confident_cells >= same_scene.MIN_CONFIDENT_CELLS
    if weak and not (scene.same_picture and confident):
        return None  # few keypoints and no pixel evidence: not found (nothing is claimed, not even a scene)
    if not scene.same_picture:
        return Seen("similar_scene", regions=(), **common)
    height, width = query.rgb.shape[:2]
    refined = same_scene.refine(aligned, scene.refit)  # the refit: sub-pixel alignment
    fitted = aligned_diff.colour_fit(refined)
    light = aligned_diff.lighting_spread(refined, fitted)
    if light is not None and light >= aligned_diff.LIGHT_MAX_SPREAD:  # the same flat object photographed again
        return None if weak else Seen("similar_scene", regions=(), **common)
    diff = aligned_diff.diff(refined, (width, height), fitted, inside=verified.occupies < geometry.INSIDE_OCCUPIES)
    relation = "edited" if diff.edited else "copy"
    return Seen(relation, regions=tuple(diff.regions) if diff.edited else (), heat=diff.heat,
                changed_share=diff.changed_share, **common)  # fmt: skip


# Pixel search: a deep crop of a soft picture (sea, sky, fog: a few hundred corners) leaves too few keypoint pairs
# for any map, yet its pixels still sit unchanged in the registered picture. Measured on scripts/matchbench's
# held-out half: AugLy's crop of a 256 px sea photo (201 x 169 px, 202 query keypoints) got no map with even 4
# inliers; normalised cross-correlation over a sweep of scales put it back in place (0.999, its fine detail 0.935).
# Distinct pairs (~9,100 and ~1,900, scratch runs over the held-out half) reached at most 0.94 (fine detail 0.17)
# and a fine detail of 0.48. Tried only for such soft queries (a screenshot or a textured photo has thousands of
# keypoints) and only for the best-voted candidates, ~20 ms each; a map it finds is kept when both correlations
# pass and the scene check through it says the same picture (its few textured cells cannot be asked for more).
PIXEL_SEARCH_MAX_KEYPOINTS = 1000  # a query with fewer keypoints (plain) is soft
PIXEL_SEARCH_SIDE = 256  # the reference's long side in the refined search (px)
PIXEL_SEARCH_COARSE_SIDE = 128  # and in the sweep of scales
PIXEL_SEARCH_STEPS = 14  # scales from the query fitting the reference down to PIXEL_SEARCH_LEAST_AREA of its area
PIXEL_SEARCH_LEAST_AREA = 0.3
PIXEL_SEARCH_MIN_NCC = 0.95
PIXEL_SEARCH_MIN_STD = 4.0  # grey levels: a flat template matches anything flat
PIXEL_SEARCH_MIN_FINE_NCC = 0.6


def soft(query: Query) -> bool:
    return 0 < len(query.plain) < PIXEL_SEARCH_MAX_KEYPOINTS


def examine_pixels(query: Query, reference: np.ndarray | None) -> Seen | None:
    """The registered picture found by its pixels alone, the reader's image as an unrotated crop of it at some
    scale (see PIXEL_SEARCH_*), then judged like a weak keypoint map. None: not found so."""
    if reference is None:
        return None
    verified = _located(local_features.to_gray(query.rgb), local_features.to_gray(reference))
    return None if verified is None else _judged(query, reference, verified, weak=True, matched_pixels=True)


def _located(query: np.ndarray, reference: np.ndarray) -> geometry.Verification | None:
    fit = pixel_fit(query, reference)
    if fit is None or fit.ncc < PIXEL_SEARCH_MIN_NCC or fit.fine_ncc < PIXEL_SEARCH_MIN_FINE_NCC:
        return None
    q_h, q_w = query.shape
    ref_h, ref_w = reference.shape
    x, y = fit.at
    # query px -> reference px, inverted: the map of a keypoint verification (reference px -> query px)
    to_ref = np.array([[fit.scale / fit.shrink, 0, x / fit.shrink], [0, fit.scale / fit.shrink, y / fit.shrink],
                       [0, 0, 1.0]])  # fmt: skip
    H_px = np.linalg.inv(to_ref)
    Hn = np.diag([1.0 / q_w, 1.0 / q_h, 1.0]) @ H_px @ np.diag([ref_w, ref_h, 1.0])
    empty = np.zeros((0, 2), np.float32)
    found = geometry.Verification(Hn / Hn[2, 2], H_px, 0, 0, False, empty, empty)
    return geometry.describe(found, (ref_w, ref_h), (q_w, q_h))


@dataclass(frozen=True, slots=True)
class PixelFit:
    ncc: float  # normalised cross-correlation of the grey levels at the best place and scale
    fine_ncc: float  # the same of the fine detail only (grey levels less their blur): what another soft picture lacks
    scale: float  # query px -> work px
    at: tuple[int, int]  # top-left corner of the query in the work frame (px)
    shrink: float  # work px per reference px


def pixel_fit(query: np.ndarray, reference: np.ndarray) -> PixelFit | None:
    """Where the grey ``query`` best sits in the grey ``reference`` unrotated: a sweep of scales at a coarse size,
    then refined to half a percent at PIXEL_SEARCH_SIDE around the best place (None: no scale fits). The fine
    detail's correlation needs the scale to the percent: at 1% off, a crop's 0.9 fell to ~0.55. ``scale`` and
    ``at`` of the result are in px of ``query`` and of the reference reduced to PIXEL_SEARCH_SIDE."""
    coarse, coarse_shrink = _reduced(reference, PIXEL_SEARCH_COARSE_SIDE)
    work, shrink = _reduced(reference, PIXEL_SEARCH_SIDE)
    # the query reduced once to at most twice each search size: templates are resized from it, not from 1 MP
    q_coarse, q_coarse_shrink = _reduced(query, 2 * PIXEL_SEARCH_COARSE_SIDE)
    q_fine, q_fine_shrink = _reduced(query, 2 * PIXEL_SEARCH_SIDE)
    q_h, q_w = query.shape
    fit = min(coarse.shape[1] / q_w, coarse.shape[0] / q_h)  # coarse px per query px
    sweep = [fit * np.sqrt(PIXEL_SEARCH_LEAST_AREA) ** (step / (PIXEL_SEARCH_STEPS - 1)) / q_coarse_shrink
             for step in range(PIXEL_SEARCH_STEPS)]  # fmt: skip
    found = _best_place(coarse, q_coarse, sweep)
    if found is None:
        return None
    ratio = shrink / coarse_shrink
    _, scale, (x, y) = found
    scale = scale * q_coarse_shrink * ratio / q_fine_shrink  # work px per px of q_fine
    x, y = round(x * ratio), round(y * ratio)
    pad = round(2 * ratio) + 2
    f_h, f_w = q_fine.shape
    x0, y0 = max(0, x - pad), max(0, y - pad)
    window = work[y0 : y0 + round(f_h * scale * 1.04) + 2 * pad, x0 : x0 + round(f_w * scale * 1.04) + 2 * pad]
    fine = _best_place(window, q_fine, [scale * (1 + 0.005 * k) for k in range(-6, 7)])
    if fine is None:
        return None
    ncc, scale, (x, y) = fine
    x, y = x + x0, y + y0
    template = cv2.resize(q_fine, (round(f_w * scale), round(f_h * scale)), interpolation=cv2.INTER_AREA)
    t_h, t_w = template.shape
    detail = _correlation(_detail(work[y : y + t_h, x : x + t_w]), _detail(template))
    return PixelFit(ncc, detail, scale * q_fine_shrink, (x, y), shrink)


def _reduced(grey: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    height, width = grey.shape
    shrink = min(1.0, side / max(height, width))
    if shrink == 1.0:
        return grey, shrink
    size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), shrink


def _best_place(work: np.ndarray, query: np.ndarray, scales: list[float]) -> tuple[float, float, tuple[int, int]] | None:
    work_h, work_w = work.shape
    q_h, q_w = query.shape
    best = None
    for scale in scales:
        t_w, t_h = round(q_w * scale), round(q_h * scale)
        if not (8 <= t_w <= work_w and 8 <= t_h <= work_h):
            continue
        template = cv2.resize(query, (t_w, t_h), interpolation=cv2.INTER_AREA)
        if float(template.std()) < PIXEL_SEARCH_MIN_STD:
            continue
        _, ncc, _, at = cv2.minMaxLoc(cv2.matchTemplate(work, template, cv2.TM_CCOEFF_NORMED))
        if best is None or ncc > best[0]:
            best = (float(ncc), scale, (int(at[0]), int(at[1])))
    return best


def _detail(grey: np.ndarray) -> np.ndarray:
    image = grey.astype(np.float32)
    return image - cv2.GaussianBlur(image, (0, 0), 1.5)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b)) / norm if norm > 0 else 0.0
