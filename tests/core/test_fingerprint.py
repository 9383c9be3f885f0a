from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ledger.core.fingerprint import Limits, _row_medians, fingerprint_bytes, fingerprint_file, hamming
from ledger.errors import NotAnImage, TooLarge, UnsupportedFormat

# The reference implementation's own test accepts up to 16 bits (../shared/fixtures/README.md).
REFERENCE_TOLERANCE_BITS = 16


def expected_pdq(pdq_fixtures: Path) -> list[tuple[str, str]]:
    rows = []
    for line in (pdq_fixtures / "expected-pdq.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            path, digest = line.split("\t")
            rows.append((path, digest))
    return rows


def test_pdq_agrees_with_the_reference_hashes(pdq_fixtures: Path) -> None:
    rows = expected_pdq(pdq_fixtures)
    assert len(rows) >= 18
    for path, digest in rows:
        fp = fingerprint_file(pdq_fixtures / path)
        assert hamming(fp.pdq, digest) <= REFERENCE_TOLERANCE_BITS, path


def test_every_pixel_mode_gives_the_same_pdq(pdq_fixtures: Path) -> None:
    files = sorted(p for p in (pdq_fixtures / "misc-images" / "modes").iterdir() if p.suffix != ".md")
    assert len(files) >= 10
    reference = fingerprint_file(pdq_fixtures / "misc-images" / "modes" / "original.jpg").pdq
    for path in files:
        assert hamming(fingerprint_file(path).pdq, reference) <= REFERENCE_TOLERANCE_BITS, path.name


def test_canonical_pixel_hash_follows_the_design_definition() -> None:
    image = Image.new("RGB", (3, 2))
    image.putdata([(1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12), (13, 14, 15), (16, 17, 18)])
    png = io.BytesIO()
    image.save(png, format="PNG")
    expected = hashlib.sha256((3).to_bytes(4, "big") + (2).to_bytes(4, "big") + bytes(range(1, 19))).hexdigest()
    fp = fingerprint_bytes(png.getvalue())
    assert fp.pixel_sha256 == "0x" + expected
    assert fp.sha256 == "0x" + hashlib.sha256(png.getvalue()).hexdigest()
    assert (fp.width, fp.height, fp.format) == (3, 2, "PNG")


def test_lossless_resave_keeps_pixels_but_not_bytes(pdq_fixtures: Path) -> None:
    original = (pdq_fixtures / "bridge-mods" / "aaa-orig.jpg").read_bytes()
    for fmt, options in (("PNG", {}), ("WEBP", {"lossless": True}), ("TIFF", {})):
        out = io.BytesIO()
        Image.open(io.BytesIO(original)).save(out, format=fmt, **options)
        a, b = fingerprint_bytes(original), fingerprint_bytes(out.getvalue())
        assert a.sha256 != b.sha256
        assert a.pixel_sha256 == b.pixel_sha256, fmt


def test_alpha_is_composited_over_white() -> None:
    transparent, white = io.BytesIO(), io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(transparent, format="PNG")
    Image.new("RGB", (8, 8), (255, 255, 255)).save(white, format="PNG")
    assert fingerprint_bytes(transparent.getvalue()).pixel_sha256 == fingerprint_bytes(white.getvalue()).pixel_sha256


def test_exif_orientation_is_applied(pdq_fixtures: Path) -> None:
    """exif-rotn-6 is stored landscape with "rotate 90 clockwise to view": hashing must see it upright,
    exactly as if the pixels had been rotated and the tag dropped."""
    path = pdq_fixtures / "reg-test-input" / "exif-rotn" / "exif-rotn-6.jpg"
    stored = Image.open(path)
    assert stored.size == (4032, 3024) and stored.getexif().get(0x0112) == 6
    upright = io.BytesIO()
    stored.transpose(Image.Transpose.ROTATE_270).save(upright, format="PNG")
    fp = fingerprint_file(path)
    assert (fp.width, fp.height) == (3024, 4032)
    assert fp.pixel_sha256 == fingerprint_bytes(upright.getvalue(), Limits(max_bytes=100_000_000)).pixel_sha256


def test_limits_and_bad_input() -> None:
    png = io.BytesIO()
    Image.new("L", (400, 300)).save(png, format="PNG")
    with pytest.raises(TooLarge):
        fingerprint_bytes(png.getvalue(), Limits(max_bytes=100))
    with pytest.raises(TooLarge):
        fingerprint_bytes(png.getvalue(), Limits(max_pixels=100_000))
    assert fingerprint_bytes(png.getvalue(), Limits(max_pixels=120_000)).width == 400
    with pytest.raises(NotAnImage):
        fingerprint_bytes(b"")
    with pytest.raises(NotAnImage):
        fingerprint_bytes(b"%PDF-1.4 not an image")
    with pytest.raises(NotAnImage):
        fingerprint_bytes(png.getvalue()[:60])
    bmp = io.BytesIO()
    Image.new("RGB", (4, 4)).save(bmp, format="BMP")
    with pytest.raises(UnsupportedFormat):
        fingerprint_bytes(bmp.getvalue())


def test_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in ("red", "blue")]
    gif, first = io.BytesIO(), io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    Image.open(io.BytesIO(gif.getvalue())).convert("RGB").save(first, format="PNG")
    assert fingerprint_bytes(gif.getvalue()).pixel_sha256 == fingerprint_bytes(first.getvalue()).pixel_sha256


def test_heic_avif_and_mpo_decode_like_jpeg(pdq_fixtures: Path) -> None:
    """HEIC (pillow-heif) and AVIF (Pillow) photos hash like the JPEG they were made from; MPO (a JPEG with extra
    pictures, written by cameras) is read as its first picture."""
    source = Image.open(pdq_fixtures / "bridge-mods" / "aaa-orig.jpg")
    reference = fingerprint_file(pdq_fixtures / "bridge-mods" / "aaa-orig.jpg")
    for fmt in ("HEIF", "AVIF"):
        out = io.BytesIO()
        source.save(out, format=fmt, quality=90)
        fp = fingerprint_bytes(out.getvalue())
        assert fp.format == fmt and (fp.width, fp.height) == (1600, 1004)
        assert hamming(fp.pdq, reference.pdq) <= REFERENCE_TOLERANCE_BITS, fmt
    mpo = fingerprint_file(pdq_fixtures.parent / "c2pa" / "nikon-20221019-building.jpeg", Limits(max_bytes=100_000_000))
    assert mpo.format == "MPO" and mpo.pdq_quality >= 50


def test_draft_decoding_for_hashes_only(pdq_fixtures: Path) -> None:
    """When only hashes are needed, JPEG draft decoding keeps >= 512 px and moves the hash by a few bits."""
    from ledger.core.fingerprint import DRAFT_MIN_SIDE, decode_image, perceptual_bytes

    data = (pdq_fixtures / "reg-test-input" / "exif-rotn" / "exif-rotn-1.jpg").read_bytes()
    big = Limits(max_bytes=100_000_000)
    drafted, _ = decode_image(data, big, draft=DRAFT_MIN_SIDE)
    assert min(drafted.size) >= DRAFT_MIN_SIDE and drafted.size[0] < 4032
    pdq, quality, small = perceptual_bytes(data, big)
    assert hamming(pdq, fingerprint_bytes(data, big).pdq) <= 8 and quality >= 50 and max(small.shape) == 512


def _whole_image_formula(image: Image.Image) -> bytes:
    """The canonical rule for 16-bit and float pictures as first written: float64 over the whole picture."""
    import numpy as np

    array = np.asarray(image, dtype=np.float64)
    top = 65535.0 if array.max(initial=0) > 255 else 255.0
    return Image.fromarray(np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)).convert("RGB").tobytes()


def test_high_depth_and_alpha_conversions_by_strips_keep_the_canonical_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strips (and the uint16 lookup table) bound the conversion's memory; the pixels must not change."""
    import numpy as np

    from ledger.core import fingerprint

    monkeypatch.setattr(fingerprint, "STRIP_PIXELS", 3000)  # many strips on small pictures
    rng = np.random.default_rng(7)
    every_value = Image.fromarray(np.arange(65536, dtype=np.uint16).reshape(256, 256))
    pictures = [
        every_value,
        Image.fromarray(rng.integers(0, 200, (100, 90), dtype=np.uint16)),  # <= 255: not scaled
        Image.fromarray(rng.integers(-70_000, 140_000, (120, 77), dtype=np.int32)),
        Image.fromarray(rng.uniform(-10, 70_000, (99, 101)).astype(np.float32)),
    ]
    for image in pictures:
        assert fingerprint.canonical_rgb(image).tobytes() == _whole_image_formula(image), image.mode
    rgba = Image.fromarray(rng.integers(0, 256, (203, 150, 4), dtype=np.uint8), "RGBA")
    for image in (rgba, rgba.convert("LA"), rgba.convert("PA")):
        whole = Image.alpha_composite(Image.new("RGBA", image.size, (255, 255, 255, 255)), image.convert("RGBA"))
        assert fingerprint.canonical_rgb(image).tobytes() == whole.convert("RGB").tobytes(), image.mode


def test_webp_size_is_checked_before_libwebp_allocates() -> None:
    from ledger.core.fingerprint import WEBP_MAX_PIXELS, webp_size

    for size, options in (((333, 17), {"lossless": True}), ((640, 480), {"quality": 80}), ((5, 7), {"exif": b"Exif\0\0"})):
        out = io.BytesIO()
        Image.new("RGB", size, (1, 2, 3)).save(out, format="WEBP", **options)
        assert webp_size(out.getvalue()) == size
    big = io.BytesIO()
    Image.new("RGB", (4200, 4100)).save(big, format="WEBP", lossless=True)  # 17.2 MP in ~1 KB
    assert 4200 * 4100 > WEBP_MAX_PIXELS and len(big.getvalue()) < 10_000
    with pytest.raises(TooLarge, match="WebP"):
        fingerprint_bytes(big.getvalue(), Limits(max_pixels=50_000_000))


@pytest.mark.parametrize("width", [1, 2, 3, 64, 127, 128])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16])
def test_row_medians_are_numpys_medians_exactly(width: int, dtype: type) -> None:
    """Trimming's row medians skip np.median's generic steps; the values (float64, the mean of the middle two for an
    even count) must be numpy's to the bit, or trims and so registered hashes would change."""
    rng = np.random.default_rng(width)
    rows = rng.integers(0, 256, (9, width, 3)).astype(dtype)
    rows[0] = 255  # a uniform row, and rows whose middle values tie or sit far apart
    rows[1, : width // 2] = 0
    expected = np.median(rows, axis=1, keepdims=True)
    got = _row_medians(rows)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert np.array_equal(_row_medians(rows[:, ::2]), np.median(rows[:, ::2], axis=1, keepdims=True))  # strided
