"""Fingerprints of an image: what is registered on chain and what a reader's copy is looked up by.

- ``sha256``: SHA-256 of the file bytes (exact copies).
- ``pixel_sha256``: SHA-256 of the canonical pixels (DESIGN.md, "Canonical pixels"): decode, apply the
  EXIF orientation, convert to 8-bit RGB with alpha composited over white, then hash ``width`` and
  ``height`` as 4-byte big-endian integers followed by the raw RGB rows. A lossless re-save or a
  metadata strip keeps it.
- ``pdq``: the 256-bit PDQ perceptual hash and its quality (pdqhash, Meta's reference algorithm).

Pure: takes bytes, returns values. ``fingerprint_file`` is the one-line file variant.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageOps, UnidentifiedImageError

from ledger.errors import NotAnImage, TooLarge, UnsupportedFormat

MAX_BYTES_DEFAULT = 25 * 1024 * 1024
MAX_PIXELS_DEFAULT = 50_000_000

# Formats a newsroom publishes and a reader meets; everything else Pillow could open is refused so the
# attack surface stays small. GIF: first frame.
SUPPORTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "TIFF"})

# Below this PDQ quality the hash of a flat image says little (PDQ reference: "quality < 50 is unreliable").
PDQ_MIN_QUALITY = 50


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = MAX_BYTES_DEFAULT
    max_pixels: int = MAX_PIXELS_DEFAULT


@dataclass(frozen=True, slots=True)
class Fingerprint:
    sha256: str
    pixel_sha256: str
    pdq: str
    pdq_quality: int
    width: int
    height: int
    format: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def sha256_hex(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, limits: Limits = Limits()) -> tuple[Image.Image, str]:
    """Decode safely: size limits first, then format check, EXIF orientation, first frame only."""
    if len(data) > limits.max_bytes:
        raise TooLarge(f"the file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes")
    if not data:
        raise NotAnImage("the file is empty")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then errors, at its own bomb threshold; ours is checked explicitly below.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            fmt = image.format or ""
            if fmt not in SUPPORTED_FORMATS:
                raise UnsupportedFormat(
                    f"{fmt or 'this'} images are not supported; send JPEG, PNG, WebP, GIF or TIFF"
                )
            width, height = image.size
            if width * height > limits.max_pixels:
                raise TooLarge(
                    f"the image has {width * height:,} pixels; the limit is {limits.max_pixels:,} pixels"
                )
            image.seek(0)
            image.load()
    except (TooLarge, UnsupportedFormat):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise TooLarge(f"the image is too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise NotAnImage("the file is not an image this service can read") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt files
        raise NotAnImage(f"the image could not be decoded: {exc}") from exc
    return ImageOps.exif_transpose(image), fmt


def canonical_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB; any alpha composited over white; palettes and other modes converted by Pillow."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "RGB":
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # Pillow's direct I/F -> RGB conversion clips instead of scaling; scale to 8 bits first.
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(array * (255.0 / top), 0, 255).astype(np.uint8), "L").convert("RGB")
    return image.convert("RGB")


def pixel_sha256(rgb: Image.Image) -> str:
    width, height = rgb.size
    digest = hashlib.sha256(width.to_bytes(4, "big") + height.to_bytes(4, "big"))
    digest.update(rgb.tobytes())
    return "0x" + digest.hexdigest()


def pdq_of(rgb: Image.Image) -> tuple[str, int]:
    bits, quality = pdqhash.compute(np.asarray(rgb))
    return "0x" + np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def fingerprint_bytes(data: bytes, limits: Limits = Limits()) -> Fingerprint:
    image, fmt = decode_image(data, limits)
    rgb = canonical_rgb(image)
    pdq, quality = pdq_of(rgb)
    return Fingerprint(
        sha256=sha256_hex(data),
        pixel_sha256=pixel_sha256(rgb),
        pdq=pdq,
        pdq_quality=quality,
        width=rgb.width,
        height=rgb.height,
        format=fmt,
    )


def fingerprint_file(path: str | Path, limits: Limits = Limits()) -> Fingerprint:
    return fingerprint_bytes(Path(path).read_bytes(), limits)


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
