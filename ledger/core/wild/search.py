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
    parts: dict[tuple[int, int, int, int], Query] = field(default_factory=dict, repr=False)  # zoomed regions, prepared once
    plain_parts: dict[tuple[int, int, int, int], Query] = field(default_factory=dict, repr=False)  # the same, unmirrored
    memo: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict, repr=False)

    def regions(self) -> list[tuple[int, int, int, int]]:
        """``picture_regions`` of this image, found once for every candidate."""
        if "regions" not in self.memo:
            self.memo["regions"] = picture_regions(self.rgb)
        return self.memo["regions"]

    def part(self, box: tuple[int, int, int, int], mirrored: bool = True) -> Query:
        """This region of the image, prepared once; ``mirrored=False``: without the mirror image's keypoints (half
        the extraction) unless it was prepared with them already, for a zoom that looks for unflipped copies."""
        if box not in self.parts and not mirrored:
            if box not in self.plain_parts:
                self.plain_parts[box] = prepare(self._crop(box), mirrored=False)
            return self.plain_parts[box]
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


# Zoom: when the registered picture is small in the reader's image (a photo in a screenshot of a post), the
# reader's keypoints are spent on interface text and the candidate's 200 descriptors meet too many look-alikes for
# the ratio test. The query keypoints nearest to the candidate's descriptors show where the photo lies; that
# region, enlarged and searched alone, gives the homography (measured on the feed screenshots of
# scripts/matchbench: true photo ranked first but < 14 inliers on the whole screenshot).
ZOOM_NEAR_BITS = 48  # a query keypoint within this many bits of a candidate descriptor marks where the photo may be
ZOOM_MIN_POINTS = 8
ZOOM_MAX_SHARE = 0.7  # a region covering more of the reader's image than this is no zoom
ZOOM_MARGIN = 0.25  # of the region's side, added around it


def _likely_region(query: Query, features: Features) -> tuple[int, int, int, int] | None:
    """The box (pixels of ``query.rgb``) where the candidate's nearest query keypoints gather, or None."""
    D, I = query.matcher.knn2(features)
    if len(D) == 0:
        return None
    near = I[:, 0][D[:, 0] <= ZOOM_NEAR_BITS]
    if len(near) < ZOOM_MIN_POINTS:
        return None
    plain, mirror = query.plain, query.mirror
    points = []
    for i in near:
        if i < len(plain):
            points.append(plain.xy[i])
        elif mirror is not None:
            x, y = mirror.xy[i - len(plain)]
            points.append((1.0 - x, y))  # mirrored frame -> the reader's frame
    xy = np.asarray(points, np.float64)
    (x0, y0), (x1, y1) = np.percentile(xy, 10, axis=0), np.percentile(xy, 90, axis=0)
    mx, my = (x1 - x0) * ZOOM_MARGIN + 0.02, (y1 - y0) * ZOOM_MARGIN + 0.02
    x0, y0, x1, y1 = max(0.0, x0 - mx), max(0.0, y0 - my), min(1.0, x1 + mx), min(1.0, y1 + my)
    if (x1 - x0) * (y1 - y0) > ZOOM_MAX_SHARE:
        return None
    height, width = query.rgb.shape[:2]
    box = (int(x0 * width), int(y0 * height), int(np.ceil(x1 * width)), int(np.ceil(y1 * height)))
    return box if box[2] - box[0] >= 32 and box[3] - box[1] >= 32 else None


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
             if w * h >= PICTURE_MIN_SHARE * area and w * h <= ZOOM_MAX_SHARE * area]  # fmt: skip
    boxes.sort(key=lambda b: -b[4])
    return [b[:4] for b in boxes[:MAX_PICTURE_REGIONS]]


def _zoomed(query: Query, features: Features, near: bool, regions: bool = True, mirrored: bool = True
            ) -> geometry.Verification | None:  # fmt: skip
    """The best verification of ``features`` in the query's picture regions and in the box its nearest keypoints
    point at, in the whole image's coordinates (weak ones included: ``examine`` gates them). ``mirrored=False``:
    that box is described without its mirror image (a candidate of the plain vote: the mirror's own vote zooms
    for flipped copies)."""
    height, width = query.rgb.shape[:2]
    boxes = list(query.regions()) if regions else []
    likely = _likely_region(query, features) if near else None
    if likely is not None and likely not in boxes:
        boxes.append(likely)
    best = None
    for box in boxes:
        part = query.part(box, mirrored or box != likely)
        found = geometry.verify(features, part.matcher, min_inliers=WEAK_MIN_INLIERS)
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
    assert best is not None
    return best[1], best[2], best[3]


# A map whose alignment the scene check finds the same picture with its cells' 75th-percentile residue within
# this many work px is taken without checking the maps with more freedom after it (the sub-pixel refit follows
# anyway). Copies' residues are <= 0.5 px, another photograph's >= 2.1 (same_scene); in the held-out half (one
# case per photo and family) 48% of the checks came after such a map, most changing the residue by < 0.1 px.
SETTLED_PX = 0.5
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


def examine(query: Query, features: Features, reference: np.ndarray | None, near: bool = True, whole: bool = True,
            mirrored: bool = True) -> Seen | None:  # fmt: skip
    """Verify one registered picture against the query. None: not found in it. Without a reference copy only the
    geometry is known, which cannot tell a copy from another photograph of the same scene: nothing is claimed.
    ``near``: also zoom into the region this candidate's nearest keypoints point at (new keypoints of that region,
    ~30-50 ms: worth it only for the best-voted candidates; the screenshot's picture regions are tried always,
    they are described once per query). ``whole=False``: only that zoom, for a candidate already examined in
    the whole image and the picture regions (the matcher zooms after every vote; trying those again costs ~5 ms)."""
    if reference is None:
        return None
    verified = geometry.verify(features, query.matcher, min_inliers=WEAK_MIN_INLIERS) if whole else None
    # An affine fit of the whole image is the last resort (see geometry); a weak one may be bettered by a zoom.
    if verified is None or verified.affine or verified.inliers < geometry.MIN_INLIERS:
        zoomed = _zoomed(query, features, near, regions=whole, mirrored=mirrored)
        if zoomed is not None and (verified is None or verified.affine or zoomed.inliers > verified.inliers):
            verified = zoomed
    if verified is None:
        return None
    weak = verified.inliers < geometry.MIN_INLIERS
    verified, aligned, scene = _best_alignment(reference, query.rgb, verified)
    common = {"inliers": verified.inliers, "transform": verified.H, "words": verified.words,
              "misaligned_share": scene.misaligned_share, "covered": verified.covered}  # fmt: skip
    if weak and not (scene.same_picture and scene.confident_cells >= same_scene.MIN_CONFIDENT_CELLS):
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
