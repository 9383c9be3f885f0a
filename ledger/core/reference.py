"""The reduced reference copy kept at registration (unless the publisher opts out): the hash image (512 px on
its long side) as JPEG quality 88, ~45 KB for a typical photo (copies registered before 2026-11-30 are WebP q85; both load). The second stage aligns a reader's copy with it and measures
what changed. Pure: bytes in, bytes or arrays out."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

REFERENCE_SIDE = 512  # the hash image's size: what the hashes were computed on
# JPEG q88: measured here at 512 px, 0.8 ms to encode against 19-58 ms for WebP q85 (methods 0-4) for files 1.3-1.6x
# larger; registration has a 25 ms budget (issue 9). Its artefacts stay far below the change thresholds.
REFERENCE_QUALITY = 88
REFERENCE_MEDIA_TYPE = "image/jpeg"


@dataclass(frozen=True, slots=True)
class Reference:
    """A registered image's reference copy, decoded: RGB array and the original's canonical size."""

    content_hash: str
    image: np.ndarray = field(repr=False)  # (H, W, 3) uint8
    source_width: int
    source_height: int


@dataclass(frozen=True, slots=True)
class ReferenceCopy:
    """What is stored: the encoded copy and the sizes."""

    data: bytes
    media_type: str
    width: int
    height: int
    source_width: int
    source_height: int


def make_reference(small: np.ndarray, source_width: int, source_height: int) -> ReferenceCopy:
    """Encode the hash image (already <= 512 px) as the reference copy."""
    image = Image.fromarray(np.ascontiguousarray(small), "RGB")
    if max(image.size) > REFERENCE_SIDE:
        image.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE), Image.Resampling.BOX)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=REFERENCE_QUALITY)
    return ReferenceCopy(out.getvalue(), REFERENCE_MEDIA_TYPE, image.width, image.height, source_width, source_height)


def load_reference(content_hash: str, data: bytes, source_width: int, source_height: int) -> Reference:
    with Image.open(io.BytesIO(data)) as image:
        rgb = np.asarray(image.convert("RGB"))
    return Reference(content_hash, rgb, source_width, source_height)
