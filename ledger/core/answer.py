"""The reader's answer, typed: one model for ``POST /v1/verify``, ``GET /v1/verify/{sha256}`` and
``provenance compare``, and the one set of functions that shape its parts from what the matcher found, so the API
and the CLI cannot drift apart. Pure: pydantic models and the core's values, no I/O.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from ledger.core.content_credentials import ContentCredentials, CredentialsRemoved
from ledger.core.fingerprint import Probe
from ledger.core.match_index import variant_name
from ledger.core.matcher import PerceptualMatch
from ledger.core.second_stage import Comparison


class Query(BaseModel):
    """The reader's image as the ledger saw it (or only its SHA-256, for a lookup by hash)."""

    sha256: str
    pixel_sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    trimmed_pdq: str | None = None
    trim: str | None = Field(None, description="`bordered` or `screenshot` when bars around the picture were trimmed")


class Publisher(BaseModel):
    address: str
    name: str | None
    domain: str | None


class Link(BaseModel):
    """Another record this one is related to (lineage): enough to name it and look it up (``GET /v1/verify/{sha}``
    with its ``content_hash``)."""

    uid: str
    content_hash: str | None = None
    publisher: Publisher | None = None
    caption: str | None = None
    registered_at: str | None = None
    retracted: bool = False


class Match(BaseModel):
    """A registered record the reader's image matched, and how. Record fields are absent in ``provenance compare``
    (nothing is registered there); ``registered`` is present only there."""

    match: str = Field(description="exact | pixels | pdq | crop | keypoints")
    uid: str | None = None
    publisher: Publisher | None = None
    caption: str | None = None
    credit: str | None = None
    published_url: str | None = None
    taken_at: str | None = None
    manifest_hash: str | None = None
    registered_at: str | None = None
    chain_id: int | None = None
    contract: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    log_index: int | None = None
    earliest: bool = Field(False, description="the earliest registration (chain order) among the records shown: "
                                              "it says who registered first, not who took or owns the picture")
    retracted: bool = Field(False, description="this publisher (or the admin) retracted this record; another "
                                               "publisher's retraction never changes it")
    retracted_at: str | None = None
    retraction_reason: str | None = None
    derived_from: Link | None = Field(None, description="the original this image was derived from (its `parent`)")
    derived_into: list[Link] = Field([], description="registered images derived from this one (crops, edits)")
    successor: Link | None = Field(None, description="a retracted record: the corrected image its publisher "
                                                     "points readers to")
    batch_root: str | None = Field(None, description="a Merkle-batched record: the root anchored in tx_hash")
    leaf_index: int | None = None
    proof: list[str] | None = None
    registered: Query | None = Field(None, description="`provenance compare` only: the ORIGINAL's fingerprints")
    content_credentials: ContentCredentials | None = Field(None, description="the C2PA manifest the registered file "
                                                           "carried when it was registered (null: none)")
    # how a perceptual match was made
    distance: int | None = None
    quality: int | None = None
    variant: str | None = None
    transform: str | None = None
    transforms: list[str] = []
    confirmed_by: str | None = Field(None, description="`confirmed` (second stage) or `hash` (distance <= 31)")
    inliers: int | None = Field(None, description="keypoints that agree with one geometric transform (wild path); absent when the picture was found by its pixels alone (a soft picture, too few keypoints)")
    relation: str | None = Field(None, description="`copy`, `edited` or `similar_scene`: what the reader's image is "
                                                   "to this registered picture")
    placement: list[list[float]] | None = Field(None, description="where the registered picture lies in the reader's "
                                                "image (wild path): its corners, top-left first and clockwise, as "
                                                "shares of the reader's image")
    edit_summary: str | None = None
    note: str | None = None


class Region(BaseModel):
    """A changed area, as shares (0-1) of the reader's image."""

    x: float
    y: float
    width: float
    height: float


class Changes(BaseModel):
    """What the second stage measured against the registered reference copy."""

    compared: bool
    confirmed: bool
    changed_share: float
    covered_share: float | None
    regions: list[Region]
    correlation: float | None = Field(None, description="shift-and-scale second stage only")
    structure: float | None = Field(None, description="shift-and-scale second stage only")
    aligned_by: str = Field("shift_and_scale", description="`shift_and_scale` or `homography` (keypoints)")
    heatmap_url: str | None = None


class IndexState(BaseModel):
    ready: bool
    images: int


class Freshness(BaseModel):
    """How fresh the mirror is: the block indexed, the chain head seen, when, and how long ago."""

    indexed_block: int | None = None
    head_block: int | None = None
    index_updated_at: str | None = None
    seconds_behind: float | None = None


class Verification(Freshness):
    """The answer to "what is this image?"."""

    verification_id: str | None = None
    verdict: str = Field(description="original | same_pixels | copy | edited | similar_scene | retracted | unknown; "
                                     "`retracted` only when every record in `matches` is retracted")
    relation: str = Field(description="what the image is, kept when the verdict is `retracted`")
    query: Query
    matches: list[Match]
    changes: Changes | None
    match_index: IndexState | None = None
    content_credentials: ContentCredentials | None = Field(None, description="the C2PA manifest the reader's image "
                                                           "carries (null: none, or a lookup by hash)")
    credentials_removed: CredentialsRemoved | None = Field(None, description="the reader's copy has no (or a broken) "
                                                           "C2PA manifest, but the registered original it matched "
                                                           "was published with one")
    development_chain: bool | None = Field(None, description="true on a development chain (one the service started "
                                           "itself, or chain id 31337/1337): anyone on the machine can write to it, "
                                           "even as a named publisher, so no answer there proves anything")  # fmt: skip
    chain_warning: str | None = None


DEVELOPMENT_CHAIN_WARNING = "development chain: anyone on this machine can write to it"


def chain_label(development: bool) -> dict[str, object]:
    """The fields every verify answer carries about the chain it was read from."""
    return {"development_chain": development, "chain_warning": DEVELOPMENT_CHAIN_WARNING if development else None}


def query_of(probe: Probe) -> Query:
    return Query(**probe.fingerprint.as_dict(), trimmed_pdq=probe.trimmed_pdq,
                 trim=probe.trim.kind if probe.trim else None)  # fmt: skip


SIMILAR_SCENE_NOTE = ("A different photograph of the same scene (another viewpoint or moment), not a copy of this "
                      "registered picture: nothing is claimed about edits.")  # fmt: skip


def perceptual_fields(match: PerceptualMatch) -> dict[str, object]:
    """How a perceptual match was made, in the reader's words."""
    hit, seen = match.hit, match.seen
    fields: dict[str, object] = {
        "distance": hit.distance if hit is not None else None,
        "quality": hit.quality if hit is not None else None,
        "variant": variant_name(hit.variant) if hit is not None else None,
        "transform": ", ".join(match.transforms),
        "transforms": list(match.transforms),
        "confirmed_by": match.judgement.acceptance.value,
        "inliers": seen.inliers or None if seen is not None else None,  # 0: found by its pixels (soft picture)
        "relation": "similar_scene" if match.similar_scene else "edited" if match.edited else "copy",
        "placement": placement(seen.transform) if seen is not None else None,
    }
    if match.similar_scene:
        fields["note"] = SIMILAR_SCENE_NOTE
    elif match.edited:
        regions = seen.regions if seen is not None else match.comparison.regions if match.comparison else ()
        share = seen.changed_share if seen is not None else match.comparison.changed_share if match.comparison else 0.0
        fields["edit_summary"] = edit_summary(share, len(regions))
    elif match.comparison is None and seen is None:
        fields["note"] = "The publisher keeps no reference copy, so changes cannot be shown."
    return fields


def placement(transform: np.ndarray) -> list[list[float]]:
    """The unit square's corners (the registered picture) mapped into the reader's image."""
    corners = np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=float) @ np.asarray(transform).T
    return [[round(float(x), 4), round(float(y), 4)] for x, y in corners[:, :2] / corners[:, 2:]]


def edit_summary(share: float, regions: int) -> str:
    percent = share * 100
    amount = f"about {percent:.0f}%" if percent >= 1 else "less than 1%"
    if regions == 1:
        return f"In one area ({amount} of the picture) it differs from the registered image; the area is highlighted."
    return f"In {regions} areas ({amount} of the picture) it differs from the registered image; they are highlighted."


def changes_of(match: PerceptualMatch) -> Changes | None:
    seen = match.seen
    if seen is not None:
        regions = [Region(x=x0, y=y0, width=round(x1 - x0, 4), height=round(y1 - y0, 4))
                   for x0, y0, x1, y1 in seen.regions] if match.edited else []  # fmt: skip
        return Changes(compared=seen.relation != "similar_scene", confirmed=True, changed_share=seen.changed_share,
                       covered_share=seen.covered, regions=regions, aligned_by="homography")  # fmt: skip
    comparison: Comparison | None = match.comparison
    if comparison is None:
        return None
    regions = [Region(x=x0, y=y0, width=round(x1 - x0, 4), height=round(y1 - y0, 4))
               for x0, y0, x1, y1 in comparison.regions] if match.edited else []  # fmt: skip
    return Changes(compared=comparison.aligned, confirmed=comparison.confirmed, changed_share=comparison.changed_share,
                   covered_share=comparison.covered_share, regions=regions, correlation=comparison.ncc,
                   structure=comparison.structure)  # fmt: skip
