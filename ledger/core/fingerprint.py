"""Fingerprints of an image: what is registered on chain and what a reader's copy is looked up by.

- ``sha256``: SHA-256 of the file bytes (exact copies).
- ``pixel_sha256``: SHA-256 of the canonical pixels (DESIGN.md, "Canonical pixels"): decode, apply the
  EXIF orientation, convert to 8-bit RGB with alpha composited over white, then hash ``width`` and
  ``height`` as 4-byte big-endian integers followed by the raw RGB rows. A lossless re-save or a
  metadata strip keeps it.
- ``pdq``: the 256-bit PDQ perceptual hash and its quality (pdqhash, Meta's reference algorithm), computed on
  the canonical image box-reduced to 512 px on its long side (the *hash image*): the reference hashes in
  ``../shared/fixtures/pdq/expected-pdq.tsv`` are 0-4 bits from it against 4-12 bits at full resolution, and it
  costs 2 ms instead of 29 ms for a 1.6 MP photo.

Variants for matching (see docs/matching.md), all hashed on the hash image so they compare with each other:

- the 8 physical rotations/flips (``Dihedral``), the image turned and hashed again: the package's one-pass
  ``compute_dihedral`` is 16-18 bits off on half of them (measured on the bridge photo), which cost recall;
- the image with uniform borders and UI bars trimmed (``trim_box``);
- centre crops keeping 90% and 80% of the area, and a 5x5 grid of windows at three scales (crops).

Pure: takes bytes, returns values. ``fingerprint_file`` is the one-line file variant.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageOps, UnidentifiedImageError

from ledger.errors import NotAnImage, TooLarge, UnsupportedFormat

try:  # HEIC/HEIF photos (iPhones) through libheif bundled in the pillow-heif wheel; decoding works offline.
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF = {"HEIF"}
except ImportError:  # pragma: no cover - pillow-heif is a dependency; without it HEIC is refused like BMP
    _HEIF = set()

_ORIENTATION = 0x0112  # EXIF tag

MAX_BYTES_DEFAULT = 25 * 1024 * 1024
MAX_PIXELS_DEFAULT = 50_000_000
# WebP decodes through libwebp's animation decoder (Pillow has no other WebP decoder): it holds two RGBA canvases
# and Pillow copies the frame out once more, ~16 bytes per pixel against 3-7 for the other formats (measured here: a
# 40 MP lossless WebP peaks at 630 MB). WebP is a delivery format that no camera writes; CMSs and social networks
# emit it at <= 4096 px, so 4096 x 4096 keeps every real WebP and one decode under ~270 MB.
WEBP_MAX_PIXELS = 4096 * 4096
HEIF_HEADER_BYTES = 64 * 1024
# Conversions to canonical RGB work on strips of rows this many pixels large, so their temporaries stay a few MB
# instead of several copies of the whole picture (a float64 copy of a 50 MP image alone is 400 MB).
STRIP_PIXELS = 1 << 20

# Formats a newsroom publishes and a reader meets; everything else Pillow could open is refused so the
# attack surface stays small. GIF: first frame. AVIF: Pillow's own plugin (libavif in the wheel). MPO: a JPEG with
# extra pictures appended (cameras and phones write it); its first picture is the photo.
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "TIFF", "AVIF", *_HEIF})

# Below this PDQ quality the hash of a flat image says little (PDQ reference: "quality < 50 is unreliable").
PDQ_MIN_QUALITY = 50

# The hash image's long side. The PDQ reference pipeline hashes 512 px images (see the module docstring).
HASH_SIDE = 512
# JPEG draft decoding (DCT scaling) keeps at least this many pixels on the short side when only hashes are needed:
# measured here, a 12 MP photo decodes in 26 ms instead of 248 ms and its hash moves by <= 4 bits (DESIGN.md).
DRAFT_MIN_SIDE = 512
# The reader's picture for keypoints (ledger.core.wild): 1280 px keeps a photo that fills 15% of a phone screenshot
# at ~250 px, where ORB still finds its corners (measured on the feed screenshots of scripts/matchbench).
DETAIL_SIDE = 1280


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


class Dihedral(IntEnum):
    """The 8 rotations/flips of a picture, named for what was done to the original to get the copy."""

    IDENTITY = 0
    ROTATE_90 = 1  # turned 90 degrees counter-clockwise
    ROTATE_180 = 2
    ROTATE_270 = 3  # turned 90 degrees clockwise
    FLIP_HORIZONTAL = 4  # mirrored left-right
    FLIP_VERTICAL = 5  # mirrored top-bottom
    TRANSPOSE = 6  # mirrored along the main diagonal
    TRANSVERSE = 7  # mirrored along the other diagonal

    def apply(self, array: np.ndarray) -> np.ndarray:
        """This transform of an (H, W, ...) array (a view where numpy allows)."""
        return _DIHEDRAL_OPS[self](array)

    def invert(self, array: np.ndarray) -> np.ndarray:
        return _DIHEDRAL_OPS[_DIHEDRAL_INVERSE[self]](array)

    def map_box(self, box: Box, width: int, height: int) -> Box:
        """Where a box (pixels of a width x height picture) lands after this transform."""
        x0, y0, x1, y1 = box
        corners = [self.map_point(x, y, width, height) for x, y in ((x0, y0), (x1, y1))]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        return (min(xs), min(ys), max(xs), max(ys))

    def map_point(self, x: float, y: float, width: int, height: int) -> tuple[float, float]:
        w, h = width, height
        return {
            Dihedral.IDENTITY: (x, y),
            Dihedral.ROTATE_90: (y, w - x),
            Dihedral.ROTATE_180: (w - x, h - y),
            Dihedral.ROTATE_270: (h - y, x),
            Dihedral.FLIP_HORIZONTAL: (w - x, y),
            Dihedral.FLIP_VERTICAL: (x, h - y),
            Dihedral.TRANSPOSE: (y, x),
            Dihedral.TRANSVERSE: (h - y, w - x),
        }[self]


_DIHEDRAL_OPS = {
    Dihedral.IDENTITY: lambda a: a,
    Dihedral.ROTATE_90: lambda a: np.rot90(a, 1),
    Dihedral.ROTATE_180: lambda a: np.rot90(a, 2),
    Dihedral.ROTATE_270: lambda a: np.rot90(a, 3),
    Dihedral.FLIP_HORIZONTAL: lambda a: a[:, ::-1],
    Dihedral.FLIP_VERTICAL: lambda a: a[::-1],
    Dihedral.TRANSPOSE: lambda a: np.swapaxes(a, 0, 1),
    Dihedral.TRANSVERSE: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
}
_DIHEDRAL_INVERSE = {
    Dihedral.IDENTITY: Dihedral.IDENTITY,
    Dihedral.ROTATE_90: Dihedral.ROTATE_270,
    Dihedral.ROTATE_180: Dihedral.ROTATE_180,
    Dihedral.ROTATE_270: Dihedral.ROTATE_90,
    Dihedral.FLIP_HORIZONTAL: Dihedral.FLIP_HORIZONTAL,
    Dihedral.FLIP_VERTICAL: Dihedral.FLIP_VERTICAL,
    Dihedral.TRANSPOSE: Dihedral.TRANSPOSE,
    Dihedral.TRANSVERSE: Dihedral.TRANSVERSE,
}

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 (x1, y1 exclusive)


@dataclass(frozen=True, slots=True)
class Trim:
    """What ``trim_box`` removed: the kept box in hash-image pixels, and whether the bars held text or marks."""

    box: tuple[int, int, int, int]
    kind: str  # "border" (uniform) or "screenshot" (bars with text or icons)


@dataclass(frozen=True, slots=True)
class Probe:
    """A reader's image, analysed for lookup: the fingerprint, the hash image (RGB, <= 512 px) and what its
    trimmed variant hashes to. Kept only for the duration of one verification."""

    fingerprint: Fingerprint
    image: np.ndarray = field(repr=False)  # the hash image, (H, W, 3) uint8
    trim: Trim | None = None
    trimmed_pdq: str | None = None
    trimmed_quality: int | None = None
    # The picture at up to DETAIL_SIDE px: the wild path looks for registered pictures in it (a photo inside a
    # screenshot is small, so the 512 px hash image would leave it too few keypoints).
    detail: np.ndarray | None = field(default=None, repr=False)


def sha256_hex(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, limits: Limits = Limits(), draft: int | None = None) -> tuple[Image.Image, str]:
    """Decode safely: size limits first, then format check, EXIF orientation, first frame only.

    ``draft``: for JPEG, let libjpeg scale by 1/2, 1/4 or 1/8 while keeping both sides >= ``draft`` pixels
    (only when hashes are needed, never for the canonical-pixel hash)."""
    if len(data) > limits.max_bytes:
        raise TooLarge(f"the file is {len(data):,} bytes; the limit is {limits.max_bytes:,} bytes")
    if not data:
        raise NotAnImage("the file is empty")
    # libwebp allocates its canvases when the file is opened, before any size check on the opened image can run.
    webp = webp_size(data)
    if webp is not None:
        _check_pixels(webp[0], webp[1], min(limits.max_pixels, WEBP_MAX_PIXELS), "WebP ")
    # libavif and libheif refuse a large 'ispe' themselves, but as an unreadable file: say what it is.
    heif = heif_size(data)
    if heif is not None:
        _check_pixels(heif[0], heif[1], limits.max_pixels, "AVIF/HEIC ")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then errors, at its own bomb threshold; ours is checked explicitly below.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data" and the like: ignored by Pillow anyway
            image = Image.open(io.BytesIO(data))
            fmt = image.format or ""
            if fmt not in SUPPORTED_FORMATS:
                raise UnsupportedFormat(
                    f"{fmt or 'this'} images are not supported; send JPEG, PNG, WebP, GIF, TIFF, AVIF or HEIC"
                )
            width, height = image.size
            _check_pixels(width, height, limits.max_pixels)
            image.seek(0)
            if draft is not None and fmt in ("JPEG", "MPO"):
                image.draft("RGB", (draft, draft))
            image.load()
    except (TooLarge, UnsupportedFormat):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise TooLarge(f"the image is too large to decode safely: {one_line(exc)}") from exc
    except UnidentifiedImageError as exc:
        raise NotAnImage("the file is not an image this service can read") from exc
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        # Truncated or corrupt files; Pillow's AVIF plugin reports libavif's refusals as RuntimeError ("Failed to
        # decode image: Missing or empty image item", found by tests/fuzz/test_decode_fuzz.py).
        raise NotAnImage(f"the image could not be decoded: {one_line(exc)}") from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow warns of corrupt EXIF (on stderr) and then ignores it
        if image.getexif().get(_ORIENTATION, 1) != 1:  # exif_transpose copies even when there is nothing to do
            image = ImageOps.exif_transpose(image)
    return image, fmt


def one_line(exc: BaseException) -> str:
    """A decoder's message on one line (libheif's end with a line break)."""
    return " ".join(str(exc).split())


def _check_pixels(width: int, height: int, max_pixels: int, kind: str = "") -> None:
    if width * height > max_pixels:
        raise TooLarge(f"the {kind}image has {width * height:,} pixels; the limit is {max_pixels:,} pixels")


def within_limits(limits: Limits, size: int, width: int, height: int, fmt: str) -> bool:
    """Whether ``decode_image`` under ``limits`` would take a file of ``size`` bytes that decoded (with looser
    limits, at registration) to ``width`` x ``height`` in ``fmt``: a registered file's upload skips decoding only
    when decoding it would not have refused it (verify's pixel cap is lower than registration's)."""
    pixels = min(limits.max_pixels, WEBP_MAX_PIXELS) if fmt == "WEBP" else limits.max_pixels
    return 0 < size <= limits.max_bytes and width * height <= pixels


def webp_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a WebP file's first chunk header (VP8X, VP8L or VP8), or None if it is not WebP."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended format: 24-bit canvas width - 1 and height - 1
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and data[20] == 0x2F:  # lossless: 14-bit width - 1 and height - 1 after the signature
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy key frame: 14-bit width and height
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    return None


def heif_size(data: bytes) -> tuple[int, int] | None:
    """The largest 'ispe' (image spatial extents) property in an AVIF or HEIC file's metadata, or None if it is
    not one (an 'ftyp' box first) or declares none. The properties sit near the start; a bounded look is enough."""
    if data[4:8] != b"ftyp":
        return None
    head, found, at = data[:HEIF_HEADER_BYTES], None, 0
    while (at := head.find(b"ispe", at) + 1) > 0:
        fields = head[at + 7:at + 15]  # after the box type: 4 bytes of version and flags, then width and height
        if len(fields) == 8:
            size = int.from_bytes(fields[:4], "big"), int.from_bytes(fields[4:], "big")
            found = size if found is None or size[0] * size[1] > found[0] * found[1] else found
    return found


def _strips(size: tuple[int, int]) -> Iterator[tuple[int, int, int, int]]:
    width, height = size
    rows = max(1, STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        yield (0, top, width, min(height, top + rows))


# uint16 -> uint8 exactly as ``uint8(clip(v * (255 / 65535)))`` in float64 computes it (the canonical-pixel rule),
# looked up instead of computed so a 16-bit picture never needs a float64 copy (8 bytes per pixel).
_SIXTEEN_TO_EIGHT = np.clip(np.arange(65536, dtype=np.float64) * (255.0 / 65535.0), 0, 255).astype(np.uint8)


def _high_depth_to_l(image: Image.Image) -> Image.Image:
    """I;16*, I (32-bit integer) or F (float) to 8-bit L: scaled by 255/65535 when any value exceeds 255, else
    taken as is; clipped. Strip by strip, bit-identical to the whole-image float64 formula (integers through the
    exact lookup table, floats through float64 on one strip at a time)."""
    strips = list(_strips(image.size))
    # numpy's max over the whole image is NaN when any value is (then the old formula did not scale): keep that.
    peaks = [float(np.asarray(image.crop(box)).max(initial=0)) for box in strips]
    scale_16 = not any(np.isnan(peaks)) and max(peaks, default=0.0) > 255
    out = np.empty((image.height, image.width), dtype=np.uint8)
    for box in strips:
        strip = np.asarray(image.crop(box))
        rows = slice(box[1], box[3])
        if strip.dtype.kind in "iu":
            clipped = np.clip(strip, 0, 65535 if scale_16 else 255)
            out[rows] = _SIXTEEN_TO_EIGHT[clipped] if scale_16 else clipped
        else:
            values = strip.astype(np.float64) * (255.0 / (65535.0 if scale_16 else 255.0))
            out[rows] = np.clip(values, 0, 255).astype(np.uint8)
    return Image.fromarray(out)


def _composite_over_white(image: Image.Image) -> Image.Image:
    """Alpha composited over white, strip by strip (the same per-pixel result as compositing the whole image)."""
    out = Image.new("RGB", image.size)
    for box in _strips(image.size):
        rgba = image.crop(box).convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        out.paste(Image.alpha_composite(background, rgba).convert("RGB"), box[:2])
    return out


def canonical_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB; any alpha composited over white; palettes and other modes converted by Pillow.

    Memory: the result (3 bytes per pixel) plus strips; never a float64 or RGBA copy of the whole picture."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        return _composite_over_white(image)
    if image.mode == "RGB":
        return image
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # Pillow's direct I/F -> RGB conversion clips instead of scaling; scale to 8 bits first.
        return _high_depth_to_l(image).convert("RGB")
    return image.convert("RGB")


def pixel_sha256(rgb: Image.Image) -> str:
    width, height = rgb.size
    digest = hashlib.sha256(width.to_bytes(4, "big") + height.to_bytes(4, "big"))
    for chunk in _raw_chunks(rgb):
        digest.update(chunk)
    return "0x" + digest.hexdigest()


def _raw_chunks(rgb: Image.Image, size: int = 4 * 1024 * 1024) -> Iterator[bytes]:
    """The bytes ``rgb.tobytes()`` returns, in chunks: hashing 36 MB (12 MP) without joining them saves ~40 ms."""
    rgb.load()
    try:
        encoder = Image._getencoder(rgb.mode, "raw", rgb.mode)  # what Image.tobytes does, minus the join
        encoder.setimage(rgb.im, (0, 0, *rgb.size))
    except (AttributeError, TypeError):  # pragma: no cover - another Pillow: the plain way
        yield rgb.tobytes()
        return
    try:
        while True:
            _, errcode, data = encoder.encode(max(size, rgb.size[0] * 4))
            if errcode < 0:
                raise NotAnImage(f"the decoded pixels could not be read (encoder error {errcode})")
            yield data
            if errcode:
                break
    finally:
        encoder.cleanup()


def hash_image(rgb: Image.Image, side: int = HASH_SIDE) -> np.ndarray:
    """The canonical image box-reduced to ``side`` px on its long side (never enlarged), as an (H, W, 3) array."""
    width, height = rgb.size
    scale = side / max(width, height)
    if scale >= 1:
        return np.asarray(rgb)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    factor = int(1 / scale)  # integer box reduction first (fast), then an exact box resample
    small = rgb.reduce(factor) if factor >= 2 else rgb
    return np.asarray(small.resize(size, Image.Resampling.BOX))


def pdq_array(array: np.ndarray) -> tuple[str, int]:
    """PDQ of an (H, W, 3) uint8 array (any strides)."""
    if array.shape[0] < 2 or array.shape[1] < 2:
        array = np.asarray(Image.fromarray(np.ascontiguousarray(array)).resize((max(2, array.shape[1]), max(2, array.shape[0]))))
    bits, quality = pdqhash.compute(np.ascontiguousarray(array))
    return "0x" + np.packbits(bits.astype(np.uint8)).tobytes().hex(), int(quality)


def pdq_of(rgb: Image.Image) -> tuple[str, int]:
    return pdq_array(hash_image(rgb))


# -- trimming borders and screenshot bars ----------------------------------------------------------------------
# A row (column) is "bar-like" when this share of its pixels lies within TRIM_TOLERANCE of its median colour:
# uniform borders are ~100%, a UI bar with a clock, a title or icons stays above 60%, photo rows rarely do.
TRIM_TOLERANCE = 14
TRIM_BAR_SHARE = 0.85
TRIM_PURE_SHARE = 0.97  # every trimmed line at least this uniform: a plain border, otherwise "screenshot"
TRIM_CONTENT_RUN = 0.04  # picture content starts at the first run of non-bar lines this long (share of the side)
TRIM_MIN_SHARE = 0.015  # trimming less than this share of a side is noise, not a border
TRIM_MAX_SHARE = 0.6  # never trim more than this share of a side (flat images stay whole)


def _row_medians(array: np.ndarray) -> np.ndarray:
    """``np.median(array, axis=1, keepdims=True)`` of an (H, W, 3) integer array, the same float64 values (one
    ``partition`` and the mean of the middle two, as numpy does) without ``np.median``'s generic steps, which cost
    more than the partition on the few rows trimming looks at (~0.3 ms a picture)."""
    middle = array.shape[1] // 2
    if array.shape[1] % 2:
        return np.partition(array, middle, axis=1)[:, middle : middle + 1].astype(np.float64)
    part = np.partition(array, (middle - 1, middle), axis=1)[:, middle - 1 : middle + 1].astype(np.float64)
    return (part[:, :1] + part[:, 1:]) / 2


def _bar_lines(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``array`` (H, W, 3) of integers: the share of pixels near the row's median colour."""
    median = _row_medians(array[:, ::2])  # every other pixel is plenty for a median
    far = np.abs(array[..., 0] - median[..., 0]) > TRIM_TOLERANCE
    far |= np.abs(array[..., 1] - median[..., 1]) > TRIM_TOLERANCE
    far |= np.abs(array[..., 2] - median[..., 2]) > TRIM_TOLERANCE
    near = 1.0 - far.mean(axis=1)
    return near >= TRIM_BAR_SHARE, near


def _content_start(array: np.ndarray) -> tuple[int, np.ndarray]:
    """Where the picture starts from the first row of ``array`` (H, W, 3): the first run of TRIM_CONTENT_RUN
    non-bar rows (0 when there is none), and the bar shares of the rows before it. Rows are judged in chunks from
    the edge inwards, so a photo without bars costs a few rows, not all of them (~9 ms a registration before). The
    first chunk is one run long (a photo without bars ends there) and each next one twice the last."""
    n = len(array)
    run = max(2, int(round(TRIM_CONTENT_RUN * n)))
    shares: list[np.ndarray] = []
    count, first, chunk = 0, 0, run
    while first < n:
        bar, share = _bar_lines(array[first : first + chunk])
        shares.append(share)
        for offset, is_bar in enumerate(bar):
            count = 0 if is_bar else count + 1
            if count >= run:
                start = first + offset - run + 1
                return start, np.concatenate(shares)[:start]
        first, chunk = first + chunk, 2 * chunk
    return 0, np.zeros(0)


def _trim_axis(array: np.ndarray) -> tuple[int, int, float]:
    top, top_shares = _content_start(array)
    end, bottom_shares = _content_start(array[::-1])
    removed = np.concatenate([top_shares, bottom_shares])
    return top, len(array) - end, float(removed.min()) if removed.size else 1.0


FRAME_SHARE = 0.9  # the outermost rows and columns are one colour (a frame) when this share of them is near it


def _frame_colour(data: np.ndarray) -> np.ndarray | None:
    outer = np.concatenate([data[0], data[-1], data[:, 0], data[:, -1]])
    colour = np.median(outer, axis=0)
    near = (np.abs(outer - colour) <= TRIM_TOLERANCE).all(axis=1).mean()
    return colour if near >= FRAME_SHARE else None


def _frame_trim(data: np.ndarray, colour: np.ndarray) -> tuple[int, int, int, int]:
    """Rows and columns from each edge that are (almost) all the frame's colour: a border, however uniform the
    picture inside is (a white frame around a night sky stops at the sky)."""
    near = (np.abs(data - colour) <= TRIM_TOLERANCE).all(axis=2)
    rows, cols = near.mean(axis=1) >= TRIM_PURE_SHARE, near.mean(axis=0) >= TRIM_PURE_SHARE

    def run(flags: np.ndarray) -> int:
        return int(np.argmin(flags)) if not flags.all() else len(flags)

    top, bottom = run(rows), len(rows) - run(rows[::-1])
    left, right = run(cols), len(cols) - run(cols[::-1])
    return left, top, right, bottom


def trim_box(array: np.ndarray) -> Trim | None:
    """The picture inside a uniform frame or screenshot bars, or None when nothing worth trimming surrounds it."""
    height, width = array.shape[:2]
    if height < 16 or width < 16:
        return None
    step = 2 if max(height, width) > 256 else 1  # half resolution is enough to find bars
    # A view, not an int16 copy: every difference below is taken from a float64 median or colour, so it is float64.
    data = array[::step, ::step]
    colour = _frame_colour(data)
    if colour is not None:
        left, top, right, bottom = _frame_trim(data, colour)
        framed = _accept(height, width, top * step, min(height, bottom * step), left * step, min(width, right * step), "border")
        if framed is not None:
            return framed
    top, bottom, pure_rows = _trim_axis(data)
    left, right, pure_cols = _trim_axis(np.swapaxes(data[top:bottom], 0, 1))
    top2, bottom2, pure_rows2 = _trim_axis(data[top:bottom, left:right])
    top, bottom = top + top2, top + bottom2
    top, bottom, left, right = top * step, min(height, bottom * step), left * step, min(width, right * step)
    kind = "border" if min(pure_rows, pure_cols, pure_rows2) >= TRIM_PURE_SHARE else "screenshot"
    return _accept(height, width, top, bottom, left, right, kind)


def _accept(height: int, width: int, top: int, bottom: int, left: int, right: int, kind: str) -> Trim | None:
    kept_h, kept_w = bottom - top, right - left
    if kept_h < height * (1 - TRIM_MAX_SHARE) or kept_w < width * (1 - TRIM_MAX_SHARE):
        return None
    if height - kept_h < TRIM_MIN_SHARE * height and width - kept_w < TRIM_MIN_SHARE * width:
        return None
    return Trim((left, top, right, bottom), kind)


CUT_LIMIT = 3  # colour changes tried from the top and from the bottom
CUT_REACH = 0.4  # ... within this share of the height


def cut_boxes(array: np.ndarray, limit: int = CUT_LIMIT) -> list[Trim]:
    """Other guesses at the picture inside a screenshot, for when ``trim_box`` cannot tell UI bars from a flat sky
    or sea: cut at each of the first few rows (from the top and from the bottom) where the rows' median colour
    changes. A status bar, an app header and the picture's own edge each make one; text inside a bar does not (it
    never covers half a row)."""
    height, width = array.shape[:2]
    if height < 32 or width < 16:
        return []
    step = 2 if max(height, width) > 256 else 1
    data = array[::step, ::step].astype(np.int16)
    median = np.median(data[:, ::2], axis=1)
    jumps = np.nonzero(np.abs(np.diff(median, axis=0)).max(axis=1) > TRIM_TOLERANCE)[0] + 1
    rows = len(median)

    def first(candidates: list[int]) -> list[int]:
        chosen: list[int] = []
        for c in candidates:
            if all(abs(c - o) > 2 for o in chosen):
                chosen.append(c)
            if len(chosen) == limit:
                break
        return chosen

    tops = [0] + first([int(j) for j in jumps if j <= CUT_REACH * rows])
    bottoms = [rows] + first([int(j) for j in jumps[::-1] if j >= (1 - CUT_REACH) * rows])
    out = []
    for top in tops:
        for bottom in bottoms:
            if (top, bottom) == (0, rows) or bottom - top < (1 - TRIM_MAX_SHARE) * rows:
                continue
            out.append(Trim((0, top * step, width, min(height, bottom * step)), "screenshot"))
    return out


def crop(array: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return array[y0:y1, x0:x1]


# -- the fingerprint and the probe ------------------------------------------------------------------------
def _analyse(data: bytes, limits: Limits, detail_side: int | None = None) -> tuple[Fingerprint, np.ndarray, np.ndarray | None]:
    image, fmt = decode_image(data, limits)
    rgb = canonical_rgb(image)
    del image  # the decoded picture (up to 4 bytes per pixel) is not needed once the canonical one exists
    small = hash_image(rgb)
    detail = hash_image(rgb, detail_side) if detail_side else None
    pdq, quality = pdq_array(small)
    fingerprint = Fingerprint(
        sha256=sha256_hex(data),
        pixel_sha256=pixel_sha256(rgb),
        pdq=pdq,
        pdq_quality=quality,
        width=rgb.width,
        height=rgb.height,
        format=fmt,
    )
    return fingerprint, small, detail


def fingerprint_bytes(data: bytes, limits: Limits = Limits()) -> Fingerprint:
    return _analyse(data, limits)[0]


def fingerprint_file(path: str | Path, limits: Limits = Limits()) -> Fingerprint:
    return fingerprint_bytes(Path(path).read_bytes(), limits)


def probe_bytes(data: bytes, limits: Limits = Limits()) -> Probe:
    """Everything verify needs from a reader's image: the fingerprint, the trimmed variant's hash and the picture
    at up to ``DETAIL_SIDE`` px for keypoints."""
    fingerprint, small, detail = _analyse(data, limits, DETAIL_SIDE)
    return probe_from(fingerprint, small, detail)


def registration_probe(data: bytes, limits: Limits = Limits()) -> Probe:
    """What registration needs: the fingerprint and the hash image (no larger copy is kept)."""
    fingerprint, small, _ = _analyse(data, limits)
    return probe_from(fingerprint, small)


def probe_from(fingerprint: Fingerprint, small: np.ndarray, detail: np.ndarray | None = None) -> Probe:
    trim = trim_box(small)
    if trim is None:
        return Probe(fingerprint, small, detail=detail)
    pdq, quality = pdq_array(crop(small, trim.box))
    return Probe(fingerprint, small, trim, pdq, quality, detail)


def perceptual_bytes(data: bytes, limits: Limits = Limits()) -> tuple[str, int, np.ndarray]:
    """Only the PDQ hash, its quality and the hash image, with JPEG draft decoding (no pixel hash)."""
    image, _ = decode_image(data, limits, draft=DRAFT_MIN_SIDE)
    small = hash_image(canonical_rgb(image))
    pdq, quality = pdq_array(small)
    return pdq, quality, small


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
