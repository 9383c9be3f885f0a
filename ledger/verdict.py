"""Verdict rules (DESIGN.md, "Verdicts"): pure, from what the lookups found.

At this stage the lookups are exact (file SHA-256) and pixel (canonical-pixel SHA-256); perceptual
matching adds ``copy`` and ``edited`` later, retraction adds ``retracted``.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    ORIGINAL = "original"
    SAME_PIXELS = "same_pixels"
    COPY = "copy"
    EDITED = "edited"
    RETRACTED = "retracted"
    UNKNOWN = "unknown"


class MatchKind(StrEnum):
    EXACT = "exact"
    PIXELS = "pixels"


def decide(exact_found: bool, pixels_found: bool) -> Verdict:
    """Exact bytes beat equal pixels; nothing found is ``unknown``."""
    if exact_found:
        return Verdict.ORIGINAL
    if pixels_found:
        return Verdict.SAME_PIXELS
    return Verdict.UNKNOWN
