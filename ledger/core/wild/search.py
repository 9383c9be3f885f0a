"""The wild path: find a registered picture inside a reader's image when the PDQ steps found nothing (rotations,
deep crops, mirrors, feed screenshots, chains of changes), say how it was transformed, whether it was edited and
where, and refuse to call a different photograph of the same scene a copy.

    query = prepare(probe.detail)                        # ORB features of the reader's image, plain and mirrored
    found = search(query, index, top_k)                  # candidates by descriptor votes (local_index)
    seen = examine(query, features, reference)           # geometric verification, same-picture check, aligned diff

``examine`` is also the second opinion on a PDQ candidate whose shift-and-scale second stage saw changes: it aligns
through the estimated homography, so a copy that was only rotated, skewed or put in perspective is not `edited`.
Pure: numpy, OpenCV and faiss; lookups are the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ledger.core.wild import aligned_diff, geometry, local_features, same_scene
from ledger.core.wild.local_features import Features
from ledger.core.wild.local_index import TOP_K, Candidate, LocalIndex, vote_descriptors
from ledger.core.wild.warp import align


@dataclass(frozen=True, slots=True)
class Query:
    """A reader's image prepared once for every candidate: its features (plain and mirrored) and their index."""

    rgb: np.ndarray = field(repr=False)
    plain: Features
    mirror: Features | None
    matcher: geometry.QuerySet = field(repr=False)

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


def prepare(query_rgb: np.ndarray) -> Query:
    plain, mirror = local_features.extract_query(query_rgb)
    return Query(query_rgb, plain, mirror, geometry.QuerySet(plain, mirror))


def search(query: Query, index: LocalIndex, top_k: int = TOP_K) -> list[Candidate]:
    """Registered pictures whose descriptors the query's descriptors vote for, most votes first."""
    if query.empty or index.ntotal == 0:
        return []
    return index.search(vote_descriptors(query.plain, query.mirror), top_k=top_k)


def examine(query: Query, features: Features, reference: np.ndarray | None) -> Seen | None:
    """Verify one registered picture against the query. None: not found in it. Without a reference copy only the
    geometry is known, which cannot tell a copy from another photograph of the same scene: nothing is claimed."""
    verified = geometry.verify(features, query.matcher)
    if verified is None or reference is None:
        return None
    aligned = align(reference, query.rgb, verified.H)
    scene = same_scene.check(aligned)
    common = {"inliers": verified.inliers, "transform": verified.H, "words": verified.words,
              "misaligned_share": scene.misaligned_share, "covered": verified.covered}  # fmt: skip
    if not scene.same_picture:
        return Seen("similar_scene", regions=(), **common)
    height, width = query.rgb.shape[:2]
    diff = aligned_diff.diff(same_scene.refine(aligned, scene.refit), (width, height))  # the refit: sub-pixel alignment
    relation = "edited" if diff.edited else "copy"
    return Seen(relation, regions=tuple(diff.regions) if diff.edited else (), heat=diff.heat,
                changed_share=diff.changed_share, **common)  # fmt: skip
