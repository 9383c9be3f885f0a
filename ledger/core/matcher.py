"""Perceptual matching end to end, pure: search the index (the fast path, then - only while nothing is accepted -
the crop path, thirds, screenshot cuts and the nearest hashes), run the second stage against each candidate's
reference copy, judge, and name the likely transform. Then the wild path (``ledger.core.wild``): a second opinion,
aligned through the estimated homography, on every hash match the second stage called edited (a rotated or skewed
copy is not an edit; another photograph of the same scene is not a copy), and, when nothing was accepted, a search
by local features. The API and ``provenance compare`` both reach it through ``ledger.usecases.verify``; they differ
only in where reference copies come from (the database, or a file on the command line)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ledger.core import pdq_matrix
from ledger.core.fingerprint import PDQ_MIN_QUALITY, Probe, Trim, crop, cut_boxes
from ledger.core.match_index import (
    CANDIDATE_DISTANCE,
    EXTENDED_DISTANCE,
    TRIMMED,
    Hit,
    MatchIndex,
    best_per_image,
    third_hashes,
    turned_queries,
    variant_dihedral,
)
from ledger.core.reference import Reference
from ledger.core.second_stage import Comparison, compare
from ledger.core.verdict import (
    RESIZE_TOLERANCE,
    Acceptance,
    Candidate,
    Judgement,
    MatchKind,
    SecondStage,
    describe_transforms,
    judge,
)
from ledger.core.wild import search as wild
from ledger.core.wild.local_features import Features

MAX_CANDIDATES = 4  # second-stage comparisons per step (each ~10-30 ms); the closest hashes first
EXTENDED_CANDIDATES = 3  # for the confirm-only steps (thirds, 64-96 bits)
MAX_WILD_MATCHES = 3  # a reader's image rarely holds more than a few registered pictures
# Which keypoint candidates are verified (each ~5-10 ms): a copy's picture collects
# several votes (>= 4 on the benchmark's whole-image copies, 0.8-1.5 for a small photo in a feed screenshot, where
# the picture regions' own vote finds it too); chance candidates 0.1-0.5. The best-voted are always verified.
WILD_ALWAYS = 2  # verified whatever their votes; of the plain vote, the only ones looked for by pixels (soft queries)
WILD_MIN_VOTES = 1.0  # other candidates need this many
WILD_FOLLOW_SHARE = 1 / 3  # once a copy is found, other candidates need this share of its votes
# A picture region of a screenshot votes with few keypoints, and a blurred or overlaid photo in it collects little:
# the true picture came 7th with 0.42 votes (scripts/matchbench, a blurred photo with a caption in a web
# screenshot). The regions' vote runs only for screenshots in which nothing was found, so its candidates are
# verified down to this floor (the 2 best-voted still always).
WILD_REGION_MIN_VOTES = 0.3
# An outline-bound match (``Comparison.edge_bound``) the keypoints do not find stands on its PDQ hash alone when
# the hash is this close (tiles of one fundus photograph that share only the disc's arc came within 28 bits of one
# another, calibration half; copies whose aspect ratio changed 2-6 bits), as a match without a second stage would.
EDGE_BOUND_KEPT_DISTANCE = 16


@dataclass(frozen=True, slots=True)
class Registered:
    """What is kept about a registered picture besides its hashes: the reference copy (None when the publisher
    opted out) and the canonical size (None when unknown, e.g. registered through another operator)."""

    reference: Reference | None
    size: tuple[int, int] | None
    features: Features | None = None  # local features (wild path); None when registered without a reference copy


@dataclass(frozen=True, slots=True)
class LocalSearch:
    """The wild path's descriptor index and how its image numbers map to content hashes."""

    index: wild.LocalIndex
    content_of: Callable[[int], str | None]


@dataclass(frozen=True, slots=True)
class PerceptualMatch:
    content_hash: str
    kind: MatchKind
    hit: Hit | None  # the PDQ hit; None for a match the wild path found
    judgement: Judgement
    comparison: Comparison | None  # the shift-and-scale second stage
    transforms: tuple[str, ...]
    seen: wild.Seen | None = None  # the wild path's verdict through the homography, when it was asked

    @property
    def edited(self) -> bool:
        return self.judgement.edited

    @property
    def similar_scene(self) -> bool:
        return self.seen is not None and self.seen.relation == "similar_scene"

    @property
    def heat(self):  # type: ignore[no-untyped-def]
        """The change map behind an ``edited`` answer (numpy, the reader's frame), else None."""
        if not self.edited:
            return None
        if self.seen is not None:
            return self.seen.heat
        return self.comparison.heat if self.comparison is not None else None

    def seen_as(self, seen: wild.Seen, words: tuple[str, ...]) -> PerceptualMatch:
        """This match, judged again through the homography."""
        return PerceptualMatch(self.content_hash, self.kind, self.hit, Judgement(self.judgement.acceptance, seen.edited),
                               self.comparison, words or self.transforms, seen)  # fmt: skip


def _wild_words(seen: wild.Seen, probe: Probe, facts: Registered) -> tuple[str, ...]:
    """The geometry's words, with the size said against the registered original (not its 512 px reference)."""
    words = tuple(w for w in seen.words if not w.startswith("resized"))
    if facts.size is None:
        return words
    corners = np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=float) @ np.asarray(seen.transform).T
    xy = corners[:, :2] / corners[:, 2:] * [probe.fingerprint.width, probe.fingerprint.height]
    area = 0.5 * abs(float(np.dot(xy[:, 0], np.roll(xy[:, 1], 1)) - np.dot(xy[:, 1], np.roll(xy[:, 0], 1))))
    ratio = (area / (facts.size[0] * facts.size[1])) ** 0.5
    return (*words, "resized") if abs(ratio - 1) > RESIZE_TOLERANCE else words


def find_matches(
    probe: Probe,
    index: MatchIndex,
    registered: Callable[[str], Registered],
    max_candidates: int = MAX_CANDIDATES,
    exclude: frozenset[str] = frozenset(),
    local: LocalSearch | None = None,
) -> list[PerceptualMatch]:
    """Accepted perceptual matches, best first (confirmed by the second stage, then by distance).

    Steps, each only when the ones before accepted nothing: (1) fast path within 63 bits; (2) crop path (centre
    crops and windows) within 63; (3) the reader's thirds against registered thirds within 63 (overlays); (4) other
    cuts of a screenshot (``cut_boxes``) against whole-picture hashes within 63; with ``local``, the wild path
    (``_wild``: keypoints); (5) the nearest whole-picture hashes up to 96 bits, when nothing but similar scenes was
    found. Steps 3 and 5 are accepted only by the second stage.
    ``exclude``: registered pictures to leave out (the benchmark's distinct-pairs test)."""
    pdq, trimmed = probe.fingerprint.pdq, probe.trimmed_pdq
    # A candidate's facts are asked for by the second stage, the pixel look and the homography check: the caller's
    # lookup (a database read and a reference copy decoded) runs once per picture and verify.
    registered = functools.cache(registered)
    seen: set[str] = set(exclude)

    def fresh(hits: list[Hit], limit: int) -> list[Hit]:
        chosen = [h for h in best_per_image(hits) if h.content_hash not in seen][:limit]
        seen.update(h.content_hash for h in chosen)
        return chosen

    grey = functools.cache(lambda: pdq_matrix.luma(probe.image))  # for the variants' hashes, once

    fast_all = index.search_fast(pdq, trimmed, radius=EXTENDED_DISTANCE)
    near = [h for h in fast_all if h.distance <= CANDIDATE_DISTANCE]
    accepted = _evaluate(probe, fresh(near, max_candidates), MatchKind.PDQ, registered)
    if not accepted:
        # Turned or flipped copies: the reader's picture turned back 7 ways (~4 ms, so only when needed).
        # (An image the upright step tried is tried again here: another variant of it may be the match.)
        turned = index.search_turned(turned_queries(grey()), radius=EXTENDED_DISTANCE)
        fast_all = sorted([*fast_all, *turned], key=lambda h: (h.distance, h.query != "full", h.variant))
        near = [h for h in best_per_image(turned) if h.distance <= CANDIDATE_DISTANCE][:max_candidates]
        seen.update(h.content_hash for h in near)
        accepted = _evaluate(probe, near, MatchKind.PDQ, registered)
    if not accepted:
        accepted = _evaluate(probe, fresh(index.search_crops(pdq, trimmed), max_candidates), MatchKind.CROP, registered)
    if not accepted and len(index.parts):
        # Thirds of the picture as sent: an overlay adds no border, and trimming would shift the thirds.
        thirds = [h for _, h, q in third_hashes(grey()) if q >= PDQ_MIN_QUALITY]
        parts = fresh(index.search_parts(thirds), EXTENDED_CANDIDATES)
        accepted = _evaluate(probe, parts, MatchKind.PDQ, registered, confirm_only=True)
    if not accepted:
        # Screenshots whose picture has flat rows at its edges: cut at the first colour changes instead.
        cuts = {f"cut{i}": t for i, t in enumerate(cut_boxes(probe.image)) if t.box != (probe.trim.box if probe.trim else None)}
        hashes = {label: pdq_matrix.pdq_luma(crop(grey(), t.box)) for label, t in cuts.items()}
        queries = [(label, h) for label, (h, q) in hashes.items() if q >= PDQ_MIN_QUALITY]
        hits = index.search_upright(queries) if queries else []
        accepted = _evaluate(probe, fresh(hits, EXTENDED_CANDIDATES), MatchKind.PDQ, registered, trims=cuts)
    far = [h for h in fast_all if h.distance > CANDIDATE_DISTANCE]
    if local is None or probe.detail is None:
        if not accepted:
            accepted = _evaluate(probe, fresh(far, EXTENDED_CANDIDATES), MatchKind.PDQ, registered, confirm_only=True)
        accepted.sort(key=_rank)
        return accepted
    detail = probe.detail
    query = functools.cache(lambda: wild.prepare(detail))  # the reader's keypoints, once for both _wild calls
    hashed = bool(accepted)
    accepted = _wild(probe, accepted, registered, local, exclude, query)
    if not hashed and all(m.similar_scene for m in accepted):
        # The nearest hashes (64-96 bits) only after the keypoints found nothing: at 100,000 registered pictures a
        # reader's hashes have tens of chance neighbours there (scripts/bench_match.py, wild index part), and
        # their second stage (~45 ms each) would run before every keypoint search. A picture the keypoints judged
        # (a similar scene) is not judged again by its hash.
        seen.update(m.content_hash for m in accepted)
        nearest = _evaluate(probe, fresh(far, EXTENDED_CANDIDATES), MatchKind.PDQ, registered, confirm_only=True)
        if nearest:
            accepted = [*accepted, *_wild(probe, nearest, registered, local, exclude, query, search=False)]
    accepted.sort(key=_rank)
    return accepted


def _rank(match: PerceptualMatch) -> tuple[bool, bool, int, int]:
    """Copies before similar scenes, confirmed before hash-only, then the closest hash or the most inliers."""
    return (match.similar_scene, match.judgement.acceptance is not Acceptance.CONFIRMED,
            match.hit.distance if match.hit is not None else 0, -(match.seen.inliers if match.seen else 0))  # fmt: skip


def _wild(probe: Probe, accepted: list[PerceptualMatch], registered: Callable[[str], Registered], local: LocalSearch,
          exclude: frozenset[str], prepared: Callable[[], wild.Query], search: bool = True
          ) -> list[PerceptualMatch]:  # fmt: skip
    """The second opinion on hash matches called edited, then, if nothing was accepted (and ``search``), the search
    by keypoints. The reader's keypoints (``prepared``, ~40-90 ms) are computed only when one of the two needs them."""

    def look(content_hash: str) -> tuple[wild.Seen, tuple[str, ...]] | None:
        facts = registered(content_hash)
        if facts.features is None or facts.reference is None:
            return None
        seen = wild.examine(prepared(), facts.features, facts.reference.image)
        return None if seen is None else (seen, _wild_words(seen, probe, facts))

    def overlooked(match: PerceptualMatch) -> bool:
        """A copy the second stage passed whose pixels, through the same alignment, show a change."""
        comparison = match.comparison
        if match.edited or comparison is None or not comparison.confirmed or comparison.transform is None:
            return False
        reference = registered(match.content_hash).reference
        return reference is not None and wild.changed_through(probe.image, reference.image, comparison.transform)

    revised, dropped = [], set()
    for match in accepted:
        doubtful = match.comparison is not None and match.comparison.edge_bound
        second = look(match.content_hash) if match.edited or doubtful or overlooked(match) else None
        if second is not None:
            revised.append(match.seen_as(*second))
        elif doubtful:
            kept = _hash_only(probe, match, registered(match.content_hash))
            if kept is not None:
                revised.append(kept)
            else:  # the keypoints do not find it: its likeness was a shared outline
                dropped.add(match.content_hash)
        else:
            revised.append(match)
    if any(not m.similar_scene for m in revised) or not search:
        return revised
    found = list(revised)
    # hash candidates the PDQ steps rejected are tried again, not those the keypoints already failed to find
    tried = set(exclude) | dropped | {m.content_hash for m in revised}

    # the plain vote's best-voted candidates the keypoints did not find: looked for by their pixels if the query is soft
    by_pixels_later: list[str] = []

    def record(content_hash: str, looked: tuple[wild.Seen, tuple[str, ...]]) -> None:
        result, words = looked
        found.append(PerceptualMatch(content_hash, MatchKind.KEYPOINTS, None,
                                     Judgement(Acceptance.CONFIRMED, result.edited), None, words, result))  # fmt: skip

    def verify_candidates(candidates: list[wild.Candidate], floor: float, mirrored: bool) -> None:
        copy_votes = 0.0  # votes of the best-voted copy found so far
        for rank, candidate in enumerate(candidates):  # most votes first
            if not worth_verifying(rank, candidate.votes, floor, copy_votes):
                return
            content_hash = local.content_of(candidate.image)
            if content_hash is None or content_hash in tried:
                continue
            tried.add(content_hash)
            looked = look(content_hash)
            if looked is None:
                if rank < WILD_ALWAYS and not mirrored:
                    by_pixels_later.append(content_hash)
                continue
            record(content_hash, looked)
            if looked[0].relation != "similar_scene":
                copy_votes = max(copy_votes, candidate.votes)
            if sum(not m.similar_scene for m in found) >= MAX_WILD_MATCHES:
                return

    # The reader's image as it is, then its mirror image, each voting alone (a vote costs in proportion to the
    # descriptors voting; a candidate verified once is not verified again: verification sees both orientations).
    # In each orientation, if the whole image finds nothing, a small photo in a screenshot votes better on its
    # own (picture regions; none unless the image looks like a screenshot).
    for mirrored in (False, True):
        for search, floor in ((wild.search, WILD_MIN_VOTES), (wild.search_regions, WILD_REGION_MIN_VOTES)):
            # A copy found only in the mirror image was found by the plain vote's few chance votes: the mirrored
            # vote can still find the picture it was flipped from (a flipped crop of one photograph of a coaster
            # was taken for an edited copy of another photograph of it, 49 inliers against 90).
            if all(m.similar_scene or (mirrored and m.seen is not None and m.seen.flipped) for m in found):
                verify_candidates(search(prepared(), local.index, mirrored=mirrored), floor, mirrored)
    # A soft picture (few keypoints) may be a deep crop no keypoint map holds: the plain vote's best-voted
    # candidates are looked for by their pixels (wild.examine_pixels, ~20 ms each).
    if all(m.similar_scene for m in found) and wild.soft(prepared()):
        for content_hash in by_pixels_later:
            facts = registered(content_hash)
            seen = None if facts.reference is None else wild.examine_pixels(prepared(), facts.reference.image)
            if seen is not None and seen.relation != "similar_scene":
                record(content_hash, (seen, _wild_words(seen, probe, facts)))
                break
    return found


def _hash_only(probe: Probe, match: PerceptualMatch, facts: Registered) -> PerceptualMatch | None:
    """An outline-bound match the keypoints could not check, judged by its hash alone (within
    EDGE_BOUND_KEPT_DISTANCE), or None: a second stage whose agreement rests on a few outlines says nothing reliable
    about the rest, neither that it is the same picture nor where it changed (after an aspect change its residues at
    the outlines looked like edits)."""
    hit = match.hit
    if hit is None or hit.distance > EDGE_BOUND_KEPT_DISTANCE:
        return None
    quality = probe.trimmed_quality if hit.query == "trimmed" and probe.trimmed_quality is not None else probe.fingerprint.pdq_quality
    judgement = judge(Candidate(hit.distance, hit.quality, quality, None))
    if not judgement.accepted:
        return None
    trim = probe.trim if hit.query == "trimmed" else None
    words = tuple(_transforms(probe, hit, match.kind, facts, None, trim))
    return PerceptualMatch(match.content_hash, match.kind, hit, judgement, None, words)


def worth_verifying(rank: int, votes: float, floor: float, copy_votes: float = 0.0) -> bool:
    """Whether the keypoint candidate of this rank (0: most votes) is verified: the WILD_ALWAYS best-voted always,
    others from ``floor`` votes (WILD_MIN_VOTES for the whole image's vote, WILD_REGION_MIN_VOTES for a
    screenshot's picture regions), and none under WILD_FOLLOW_SHARE of the votes of a copy already found."""
    return (rank < WILD_ALWAYS or votes >= floor) and votes >= copy_votes * WILD_FOLLOW_SHARE


def _evaluate(probe: Probe, hits: list[Hit], kind: MatchKind, registered: Callable[[str], Registered],
              confirm_only: bool = False, trims: dict[str, Trim] | None = None) -> list[PerceptualMatch]:  # fmt: skip
    out = []
    for hit in hits:
        facts = registered(hit.content_hash)
        comparison = None
        trim = (trims or {}).get(hit.query) or (probe.trim if hit.query == "trimmed" else None)
        if facts.reference is not None:
            comparison = compare(probe.image, facts.reference.image, hit.variant, trim)
        stage = None if comparison is None else SecondStage(comparison.confirmed, comparison.edited)
        quality = probe.trimmed_quality if hit.query == "trimmed" and probe.trimmed_quality is not None else probe.fingerprint.pdq_quality
        judgement = judge(Candidate(hit.distance, hit.quality, quality, stage, confirm_only))
        if judgement.accepted:
            out.append(PerceptualMatch(hit.content_hash, kind, hit, judgement, comparison,
                                       tuple(_transforms(probe, hit, kind, facts, comparison, trim))))  # fmt: skip
    return out


def _transforms(probe: Probe, hit: Hit, kind: MatchKind, facts: Registered, comparison: Comparison | None,
                trim: Trim | None = None) -> list[str]:  # fmt: skip
    fingerprint = probe.fingerprint
    size_ratio: float | None = None
    usable = comparison is not None and comparison.confirmed
    if usable and facts.reference is not None and comparison is not None and comparison.scale > 0:
        ref = facts.reference
        ref_per_original = max(ref.image.shape[:2]) / max(ref.source_width, ref.source_height)
        hash_per_copy = max(probe.image.shape[:2]) / max(fingerprint.width, fingerprint.height)
        size_ratio = ref_per_original / (hash_per_copy * comparison.scale)
    elif facts.size is not None and hit.query == "full" and kind is MatchKind.PDQ and hit.variant != TRIMMED:
        size_ratio = max(fingerprint.width, fingerprint.height) / max(facts.size)
    # Whole-picture copies cover ~0.95 of the reference on the comparison grid; trimmed ones a little less.
    covered_floor = 0.85 if trim is not None else 0.93
    cropped = kind is MatchKind.CROP or (usable and comparison is not None and comparison.covered_share < covered_floor)
    return describe_transforms(
        dihedral=int(variant_dihedral(hit.variant)),
        trim_kind=trim.kind if trim is not None else None,
        registered_trimmed=hit.variant == TRIMMED,
        cropped=cropped,
        size_ratio=size_ratio,
        grayscale=bool(usable and comparison is not None and comparison.grayscale),
    )
