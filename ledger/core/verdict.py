"""Verdict rules (DESIGN.md, "Verdicts"): pure, from what the lookups and the second stage found.

Tiers, strongest first: ``exact`` (file SHA-256) > ``pixels`` (canonical-pixel SHA-256) > ``pdq`` (perceptual,
fast path) / ``crop`` (perceptual, sub-region hashes). The strongest tier with a match decides; within it the
*primary* match (the earliest registration for exact and pixel matches, the closest accepted perceptual match
otherwise) gives the relation:

| relation      | when                                                                                     |
|---------------|------------------------------------------------------------------------------------------|
| `original`    | an exact match                                                                           |
| `same_pixels` | a pixel match                                                                            |
| `edited`      | an accepted perceptual match whose reference copy shows a localized change               |
| `copy`        | any other accepted perceptual match                                                      |
| `unknown`     | nothing accepted                                                                         |

The verdict is the relation, except ``retracted`` when every record the reader is shown was retracted by its own
publisher (or the admin). Each publisher answers only for its own record: the earliest registration is not the
picture's owner (anyone may register a photo they did not take, a minute before its publisher does), so its
retraction changes its own record and nothing else, and a later registration is never hidden behind an earlier
one. The answer keeps the relation beside the verdict, so "retracted" still says whether the reader holds the
original or an edit.

Acceptance of a perceptual candidate (``judge``):

- the second stage confirmed it against the stored reference: accepted (``edited`` if it measured a change);
- otherwise accepted only on the hash alone: distance <= 31 (PDQ's threshold) and both hashes reliable
  (quality >= 50; a registered hash of unknown quality, from another operator's registration, is judged by
  the reader's hash) - a low-quality hash is never matched on alone;
- a hit on a third of the picture (overlays) or beyond 63 bits (the last-resort nearest candidates) is accepted only
  when the second stage confirms it;
- anything else (32-63 without confirmation, rejected by the second stage below 32 with a low quality) is rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ledger.core.fingerprint import PDQ_MIN_QUALITY
from ledger.core.match_index import MATCH_DISTANCE


class Verdict(StrEnum):
    ORIGINAL = "original"
    SAME_PIXELS = "same_pixels"
    COPY = "copy"
    EDITED = "edited"
    RETRACTED = "retracted"
    SIMILAR_SCENE = "similar_scene"  # a different photograph of the same scene: no copy, no edit is claimed
    UNKNOWN = "unknown"


class MatchKind(StrEnum):
    EXACT = "exact"
    PIXELS = "pixels"
    PDQ = "pdq"  # fast path: the whole picture, turned or trimmed
    CROP = "crop"  # crop path: a centre crop or a window of the registered picture
    KEYPOINTS = "keypoints"  # wild path: local features and a geometric transform (ledger.core.wild)


class Acceptance(StrEnum):
    CONFIRMED = "confirmed"  # the second stage aligned the copy with the reference copy and found it the same picture
    HASH = "hash"  # distance <= 31 with reliable hashes; the second stage could not run or could not confirm
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class SecondStage:
    """What the pure rules need from ``ledger.core.second_stage.Comparison`` (None in ``Candidate`` = no reference copy)."""

    confirmed: bool
    edited: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    distance: int
    registered_quality: int | None
    query_quality: int
    second_stage: SecondStage | None
    confirm_only: bool = False  # a third of the picture, or beyond 63 bits: only the second stage can accept it


@dataclass(frozen=True, slots=True)
class Judgement:
    acceptance: Acceptance
    edited: bool

    @property
    def accepted(self) -> bool:
        return self.acceptance is not Acceptance.REJECTED


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """One registration of the matched picture: its order on chain and whether it was retracted."""

    order: tuple[int, int]  # (block number, log index)
    retracted: bool


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    relation: Verdict  # what the verdict would be without retractions


def reliable(candidate: Candidate) -> bool:
    registered = candidate.registered_quality
    return candidate.query_quality >= PDQ_MIN_QUALITY and (registered is None or registered >= PDQ_MIN_QUALITY)


def judge(candidate: Candidate) -> Judgement:
    stage = candidate.second_stage
    if stage is not None and stage.confirmed:
        return Judgement(Acceptance.CONFIRMED, stage.edited)
    if not candidate.confirm_only and candidate.distance <= MATCH_DISTANCE and reliable(candidate):
        return Judgement(Acceptance.HASH, False)
    return Judgement(Acceptance.REJECTED, False)


def relation_for(kind: MatchKind | None, edited: bool = False, similar_scene: bool = False) -> Verdict:
    if kind is None:
        return Verdict.UNKNOWN
    if similar_scene:
        return Verdict.SIMILAR_SCENE
    if kind is MatchKind.EXACT:
        return Verdict.ORIGINAL
    if kind is MatchKind.PIXELS:
        return Verdict.SAME_PIXELS
    return Verdict.EDITED if edited else Verdict.COPY


def is_retracted(records: Sequence[RecordFacts]) -> bool:
    """Every record shown was retracted (none shown: nothing is retracted). The earliest record has no say over the
    others: one publisher's retraction never changes what another publisher's record says."""
    return bool(records) and all(r.retracted for r in records)


def earliest(records: Sequence[RecordFacts]) -> int | None:
    """The position of the earliest registration (chain order) among ``records``: labelled "earliest", never "the
    owner"."""
    if not records:
        return None
    return min(range(len(records)), key=lambda i: records[i].order)


def decide_verdict(kind: MatchKind | None, records: Sequence[RecordFacts] = (), edited: bool = False,
                   similar_scene: bool = False) -> Decision:  # fmt: skip
    """``kind``: the deciding tier (None: nothing matched); ``records``: every registration the reader is shown.
    A similar scene is never ``retracted``: the reader holds another photograph, not the retracted one."""
    relation = relation_for(kind, edited, similar_scene)
    if relation not in (Verdict.UNKNOWN, Verdict.SIMILAR_SCENE) and is_retracted(records):
        return Decision(Verdict.RETRACTED, relation)
    return Decision(relation, relation)


def decide(exact_found: bool, pixels_found: bool) -> Verdict:
    """Exact bytes beat equal pixels; nothing found is ``unknown`` (the rule before perceptual matching)."""
    kind = MatchKind.EXACT if exact_found else MatchKind.PIXELS if pixels_found else None
    return decide_verdict(kind).verdict


# -- naming the likely transform ---------------------------------------------------------------------------------
DIHEDRAL_WORDS = {
    1: "rotated 90° counter-clockwise",
    2: "rotated 180°",
    3: "rotated 90° clockwise",
    4: "flipped left to right",
    5: "flipped upside down",
    6: "flipped along a diagonal",
    7: "flipped along a diagonal",
}
RESIZE_TOLERANCE = 0.03  # a size within 3% of the original's is the original's size


def describe_transforms(
    *,
    dihedral: int,
    trim_kind: str | None,
    registered_trimmed: bool,
    cropped: bool,
    size_ratio: float | None,
    grayscale: bool,
) -> list[str]:
    """The likely changes, in the words the reader sees ("resized", "cropped", "rotated 90° clockwise", ...).

    ``size_ratio``: the copy's scale against the original (copy px per original px), when measured."""
    words: list[str] = []
    if trim_kind == "screenshot":
        words.append("screenshot")
    elif trim_kind == "border":
        words.append("bordered")
    if dihedral in DIHEDRAL_WORDS:
        words.append(DIHEDRAL_WORDS[dihedral])
    if cropped or registered_trimmed:
        words.append("cropped")
    if size_ratio is not None and abs(size_ratio - 1) > RESIZE_TOLERANCE:
        words.append("resized")
    if grayscale:
        words.append("grayscale")
    if not words or words == ["grayscale"]:
        words.append("recompressed")
    return words
