"""The bad-input corpus, built at test time (``python -m tests.corpus.generate DIR`` writes it out to look at).

Every case is made here from a seed, so nothing binary is committed and a run is reproducible. Three kinds:

- ``FileCase``: bytes sent as an upload and given to every CLI command that reads image files. ``expect``:
  ``"image"`` a valid if odd image (CMYK, 16-bit, palette, alpha, animated, 1x1...): the service must accept it;
  ``"reject"`` (with the stable error codes allowed): it must be refused with one of them;
  ``"either"`` damaged files a decoder may still read in part (a truncated tail): accepted or refused, never a 5xx,
  and the CLI must agree with the API.
- ``FormCase``: a valid image with odd form fields (captions, content types, filenames) for ``POST /v1/media``.
- ``RawCase``: a raw request body with its own ``Content-Type`` (malformed multipart), sent to every upload route.

Formats: JPEG, PNG, WebP, GIF, TIFF from Pillow; AVIF from Pillow's own plugin; HEIC from pillow-heif (both are
dependencies of the project, so every format of ``SUPPORTED_FORMATS`` has its cases).
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, PngImagePlugin

pillow_heif.register_heif_opener()

FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "AVIF", "HEIF")
SUFFIX = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "TIFF": "tif", "AVIF": "avif", "HEIF": "heic"}

# The codes a refused file may carry (ledger/errors.py); anything else is a finding.
DECODE_REFUSALS = frozenset({"not_an_image", "unsupported_format", "too_large"})
BOMB = frozenset({"too_large"})
NOT_IMAGE = frozenset({"not_an_image", "unsupported_format"})


@dataclass(frozen=True)
class FileCase:
    name: str
    data: bytes
    expect: str  # "image" | "reject" | "either"
    codes: frozenset[str] = DECODE_REFUSALS

    @property
    def filename(self) -> str:
        return self.name.replace("/", "_")


@dataclass(frozen=True)
class FormCase:
    name: str
    fields: dict[str, str] = field(default_factory=dict)
    filename: str = "photo.jpg"
    content_type: str = "image/jpeg"
    expect: str = "accept"  # "accept" | "reject"


@dataclass(frozen=True)
class RawCase:
    name: str
    body: bytes
    content_type: str | None


def picture(seed: int, width: int = 96, height: int = 72, mode: str = "RGB") -> Image.Image:
    """A textured picture (gradients and noise, so PDQ has something to hash), different for every seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([(x * (3 + seed % 5)) % 256, (y * (2 + seed % 7)) % 256, ((x + y) * 5) % 256], axis=-1)
    noise = rng.integers(0, 60, size=(height, width, 3))
    image = Image.fromarray(((base + noise) % 256).astype(np.uint8), "RGB")
    return image if mode == "RGB" else image.convert(mode)


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with_chunks(base: bytes, chunks: list[bytes]) -> bytes:
    """``chunks`` inserted right after IHDR (8-byte signature, 25-byte IHDR chunk)."""
    return base[:33] + b"".join(chunks) + base[33:]


def png_header(width: int, height: int, bit_depth: int = 8, colour: int = 2) -> bytes:
    return png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0))


def png_zlib_bomb(width: int, height: int) -> bytes:
    """A real PNG bomb: 1-bit rows of zeros, deflated (a few hundred KB standing for gigapixels)."""
    row = b"\0" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    parts = [packer.compress(row) for _ in range(height)]
    parts.append(packer.flush())
    return b"\x89PNG\r\n\x1a\n" + png_header(width, height, 1, 0) + png_chunk(b"IDAT", b"".join(parts)) + png_chunk(b"IEND", b"")


def patch_dimensions(data: bytes, fmt: str, width: int, height: int) -> bytes:
    """A valid small file whose header claims ``width`` x ``height`` (a decompression bomb's header)."""
    buf = bytearray(data)
    if fmt == "PNG":
        return bytes(buf[:8]) + png_header(width, height) + bytes(buf[33:])
    if fmt == "JPEG":
        at = next(i for i in range(2, len(buf) - 1) if buf[i] == 0xFF and buf[i + 1] in (0xC0, 0xC1, 0xC2))
        buf[at + 5:at + 9] = struct.pack(">HH", height, width)
    elif fmt == "GIF":
        buf[6:10] = struct.pack("<HH", width, height)  # logical screen
        at = buf.index(b",", 13)  # the first image descriptor
        buf[at + 5:at + 9] = struct.pack("<HH", width, height)
    elif fmt == "WEBP":  # lossless: 14-bit sizes minus one after the 0x2F signature
        assert buf[12:16] == b"VP8L"
        bits = int.from_bytes(buf[21:25], "little") & ~((1 << 28) - 1)
        bits |= (min(width, 1 << 14) - 1) | ((min(height, 1 << 14) - 1) << 14)
        buf[21:25] = bits.to_bytes(4, "little")
    elif fmt == "TIFF":  # little-endian, tags 256/257 stored as LONG in the first IFD
        ifd = int.from_bytes(buf[4:8], "little")
        for i in range(int.from_bytes(buf[ifd:ifd + 2], "little")):
            entry = ifd + 2 + 12 * i
            tag, kind = struct.unpack("<HH", buf[entry:entry + 4])
            if tag in (256, 257):
                value = width if tag == 256 else height
                buf[entry + 8:entry + 12] = struct.pack("<I" if kind == 4 else "<Hxx", value)
    elif fmt in ("AVIF", "HEIF"):  # the 'ispe' property: version/flags, then width and height
        at = buf.index(b"ispe") + 8
        buf[at:at + 8] = struct.pack(">II", width, height)
    return bytes(buf)


def flip_bytes(data: bytes, seed: int, count: int, start_share: float = 0.3) -> bytes:
    rng = random.Random(seed)
    buf = bytearray(data)
    start = max(1, int(len(buf) * start_share))
    for _ in range(count):
        at = rng.randrange(start, len(buf))
        buf[at] ^= rng.randrange(1, 256)
    return bytes(buf)


def exif_bytes(orientation: object = 1, description: str | None = None) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation  # type: ignore[assignment]
    if description is not None:
        exif[0x010E] = description
    return exif.tobytes()


def format_cases(fmt: str, seed: int) -> list[FileCase]:
    ext = SUFFIX[fmt]
    valid = save(picture(seed), fmt)
    lossless = save(picture(seed + 1), fmt, lossless=True) if fmt == "WEBP" else None
    cases = [
        FileCase(f"{ext}/valid", valid, "image"),
        FileCase(f"{ext}/1x1", save(picture(seed + 2, 1, 1), fmt), "image"),
        FileCase(f"{ext}/1x600", save(picture(seed + 3, 1, 600), fmt), "image"),
        FileCase(f"{ext}/600x1", save(picture(seed + 4, 600, 1), fmt), "image"),
        FileCase(f"{ext}/header-only", valid[:16], "reject"),
        FileCase(f"{ext}/magic-then-zeros", valid[:12] + b"\0" * 400, "reject"),
        FileCase(f"{ext}/magic-then-text", valid[:12] + b"<html><body>hello</body></html>" * 20, "reject"),
    ]
    for share in (0.1, 0.3, 0.5, 0.8, 0.95):
        cases.append(FileCase(f"{ext}/truncated-{int(share * 100)}", valid[: int(len(valid) * share)], "either"))
    for i, count in enumerate((1, 8, 64)):
        cases.append(FileCase(f"{ext}/flipped-{count}", flip_bytes(valid, seed * 10 + i, count), "either"))
    cases.append(FileCase(f"{ext}/header-flipped", flip_bytes(valid, seed, 6, start_share=0.0), "either"))
    bomb_base = lossless if lossless is not None else valid
    for width, height in ((60_000, 60_000), (65_000, 1), (1, 65_000)):
        data = patch_dimensions(bomb_base, fmt, width, height)
        expect = "reject" if width * height > 50_000_000 else "either"
        cases.append(FileCase(f"{ext}/bomb-header-{width}x{height}", data, expect,
                              BOMB if expect == "reject" else DECODE_REFUSALS))  # fmt: skip
    return cases


def mode_cases() -> list[FileCase]:
    """Valid images of every odd shape a newsroom or a reader can send: each must be accepted."""
    seeds = iter(range(1000, 2000))
    p = lambda mode="RGB", w=96, h=72: picture(next(seeds), w, h, mode)  # noqa: E731
    sixteen = Image.fromarray((np.asarray(p("L"), dtype=np.uint16) * 257).astype(np.uint16))
    frames = [p() for _ in range(4)]
    transparent = p("P")
    transparent.info["transparency"] = 0
    cases = [
        ("cmyk.jpg", save(p("CMYK"), "JPEG")),
        ("cmyk.tif", save(p("CMYK"), "TIFF")),
        ("grey.jpg", save(p("L"), "JPEG")),
        ("progressive.jpg", save(p(), "JPEG", progressive=True)),
        ("exif-rotated-6.jpg", save(p(), "JPEG", exif=exif_bytes(6))),
        ("exif-orientation-0.jpg", save(p(), "JPEG", exif=exif_bytes(0))),
        ("exif-orientation-99.jpg", save(p(), "JPEG", exif=exif_bytes(99))),
        ("sixteen-bit.png", save(sixteen, "PNG")),
        ("sixteen-bit.tif", save(sixteen, "TIFF")),
        ("float.tif", save(Image.fromarray(np.asarray(p("L"), dtype=np.float32) / 255), "TIFF")),
        ("int32.tif", save(p("L").convert("I"), "TIFF")),
        ("palette.png", save(p("P"), "PNG")),
        ("palette-transparent.png", save(transparent, "PNG")),
        ("one-bit.png", save(p("1"), "PNG")),
        ("grey-alpha.png", save(p("LA"), "PNG")),
        ("rgba.png", save(p("RGBA"), "PNG")),
        ("rgba.webp", save(p("RGBA"), "WEBP")),
        ("rgba.tif", save(p("RGBA"), "TIFF")),
        ("rgba.avif", save(p("RGBA"), "AVIF")),
        ("rgba.heic", save(p("RGBA"), "HEIF")),
        ("fully-transparent.png", save(Image.new("RGBA", (96, 72), (0, 0, 0, 0)), "PNG")),
        ("animated.gif", save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)),
        ("animated.webp", save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=50)),
        ("animated.png", save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50)),
        ("multipage.tif", save(frames[0], "TIFF", save_all=True, append_images=frames[1:])),
        ("ycbcr.tif", save(p(), "TIFF", compression="jpeg")),
        ("lzw.tif", save(p(), "TIFF", compression="tiff_lzw")),
        ("big-endian-16.tif", save(sixteen.convert("I;16B") if hasattr(sixteen, "convert") else sixteen, "TIFF")),
        ("flat-grey.png", save(Image.new("RGB", (96, 72), (128, 128, 128)), "PNG")),
        ("jpeg-with-zip-appended.jpg", save(p(), "JPEG") + zip_bytes()),
        ("png-with-html-appended.png", save(p(), "PNG") + b"<html><script>alert(1)</script></html>"),
        ("png-html-in-text.png", save(p(), "PNG", pnginfo=text_info("Comment", "<script>alert(1)</script>"))),
    ]
    return [FileCase(f"mode/{name}", data, "image") for name, data in cases]


def text_info(key: str, value: str, compressed: bool = False) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    (info.add_itxt if compressed else info.add_text)(key, value)
    return info


def zip_bytes() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello " * 100)
    return out.getvalue()


def metadata_cases() -> list[FileCase]:
    """Huge or hostile metadata around valid pixels: accepted (the pixels are fine) or refused, never a crash."""
    base = save(picture(3000), "PNG")
    jpeg = picture(3001)
    zbomb = zlib.compress(b"A" * 64 * 1024 * 1024, 9)  # 64 MB of text in ~64 KB
    cases = [
        FileCase("meta/png-text-1mb", png_with_chunks(base, [png_chunk(b"tEXt", b"Comment\0" + b"x" * (1 << 20))]), "either"),
        FileCase("meta/png-10000-text-chunks", png_with_chunks(base, [png_chunk(b"tEXt", b"k\0v")] * 10_000), "either"),
        FileCase("meta/png-ztxt-bomb", png_with_chunks(base, [png_chunk(b"zTXt", b"Comment\0\0" + zbomb)]), "either"),
        FileCase("meta/png-itxt-bomb", png_with_chunks(base, [png_chunk(b"iTXt", b"Comment\0\1\0\0\0" + zbomb)]), "either"),
        FileCase("meta/png-iccp-bomb", png_with_chunks(base, [png_chunk(b"iCCP", b"icc\0\0" + zbomb)]), "either"),
        FileCase("meta/png-exif-chunk-garbage", png_with_chunks(base, [png_chunk(b"eXIf", b"MM\0*" + b"\xff" * 5000)]), "either"),
        FileCase("meta/png-bad-crc", base[:29] + b"\0\0\0\0" + base[33:], "either"),
        FileCase("meta/png-chunk-length-huge", base[:33] + struct.pack(">I", 0x7FFFFFFF) + base[37:], "either"),
        FileCase("meta/png-no-iend", base[:-12], "either"),
        FileCase("meta/jpeg-exif-64kb", save(jpeg, "JPEG", exif=exif_bytes(1, "d" * 60_000)), "image"),
        FileCase("meta/jpeg-comment-64kb", save(jpeg, "JPEG", comment=b"c" * 65_000), "image"),
        FileCase("meta/jpeg-exif-garbage", jpeg_with_app1(save(jpeg, "JPEG"), b"Exif\0\0" + b"\xff" * 4000), "either"),
        FileCase("meta/jpeg-exif-loop", jpeg_with_app1(save(jpeg, "JPEG"), b"Exif\0\0" + exif_loop()), "either"),
        FileCase("meta/jpeg-100-app-segments", jpeg_many_app(save(jpeg, "JPEG"), 100), "either"),
        FileCase("meta/jpeg-icc-huge", save(jpeg, "JPEG", icc_profile=b"\0" * 500_000), "either"),
        FileCase("meta/jpeg-xmp-huge", jpeg_with_app1(save(jpeg, "JPEG"), b"http://ns.adobe.com/xap/1.0/\0" + b"<x>" * 20_000), "either"),
        FileCase("meta/tiff-huge-description", save(picture(3002), "TIFF", description="D" * 2_000_000), "either"),
        FileCase("meta/png-bomb-zlib-30000x30000", png_zlib_bomb(30_000, 30_000), "reject", BOMB),
        FileCase("meta/png-bomb-zlib-8000x8000", png_zlib_bomb(8_000, 8_000), "reject", BOMB),
    ]
    return cases


def jpeg_with_app1(jpeg: bytes, payload: bytes) -> bytes:
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def jpeg_many_app(jpeg: bytes, count: int) -> bytes:
    segment = b"\xff\xe5" + struct.pack(">H", 65_000) + b"z" * 64_998
    return jpeg[:2] + segment * count + jpeg[2:]


def exif_loop() -> bytes:
    """A TIFF header whose first IFD points to itself (and an EXIF sub-IFD pointing back)."""
    header = b"II*\0" + struct.pack("<I", 8)
    entries = [struct.pack("<HHII", 0x8769, 4, 1, 8), struct.pack("<HHII", 0x0112, 3, 1, 6)]
    return header + struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 8)


def non_image_cases() -> list[FileCase]:
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(4096))
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    cases = [
        ("empty", b"", frozenset({"not_an_image"})),
        ("one-byte", b"\xff", NOT_IMAGE),
        ("zeros-4k", b"\0" * 4096, NOT_IMAGE),
        ("noise-4k", noise, NOT_IMAGE),
        ("text", b"just some text\n", NOT_IMAGE),
        ("utf16-text", "caf\u00e9 \u2603".encode("utf-16"), NOT_IMAGE),
        ("json", b'{"image": "no"}', NOT_IMAGE),
        ("html", b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", NOT_IMAGE),
        ("svg", svg, NOT_IMAGE),
        ("svg-script", svg.replace(b"<rect", b"<script>alert(1)</script><rect"), NOT_IMAGE),
        ("svg-xxe", b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>', NOT_IMAGE),
        ("pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", NOT_IMAGE),
        ("zip", zip_bytes(), NOT_IMAGE),
        ("gzip", zlib.compress(b"x" * 10000), NOT_IMAGE),
        ("elf", b"\x7fELF\x02\x01\x01" + b"\0" * 100, NOT_IMAGE),
        ("bmp", save(picture(4000), "BMP"), frozenset({"unsupported_format"})),
        ("ico", save(picture(4001, 32, 32), "ICO"), frozenset({"unsupported_format"})),
        ("ppm", save(picture(4002), "PPM"), frozenset({"unsupported_format"})),
        ("tga", save(picture(4003), "TGA"), frozenset({"unsupported_format"})),
        ("pcx", save(picture(4004), "PCX"), frozenset({"unsupported_format"})),
        ("eps-header", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", NOT_IMAGE),
        ("psd-header", b"8BPS\0\1" + b"\0" * 6 + b"\0\3\0\0\0\x10\0\0\0\x10\0\x08\0\3" + b"\0" * 50, NOT_IMAGE),
        ("html-gif-polyglot", b"GIF89a/*<html><script>alert(1)</script>*/" + b"\0" * 20, NOT_IMAGE),
        ("html-then-png", b"<html>" + save(picture(4005), "PNG"), NOT_IMAGE),
        ("jpeg-soi-eoi", b"\xff\xd8\xff\xd9", NOT_IMAGE),
        ("png-signature-only", b"\x89PNG\r\n\x1a\n", NOT_IMAGE),
        ("riff-webp-empty", b"RIFF\x04\0\0\0WEBP", NOT_IMAGE),
        ("riff-webp-vp8x-huge", b"RIFF\x40\0\0\0WEBPVP8X\x0a\0\0\0\x10\0\0\0\xff\xff\xff\xff\xff\xff" + b"\0" * 40, frozenset({"too_large"})),
        ("ftyp-heic-only", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", NOT_IMAGE),
        ("ftyp-avif-only", b"\0\0\0\x18ftypavif\0\0\0\0mif1avif", NOT_IMAGE),
        ("tiff-header-only", b"II*\0\x08\0\0\0", NOT_IMAGE),
        ("tiff-ifd-offset-huge", b"II*\0\xff\xff\xff\x7f", NOT_IMAGE),
    ]
    return [FileCase(f"other/{name}", data, "reject", codes) for name, data, codes in cases]


def file_cases() -> list[FileCase]:
    cases: list[FileCase] = []
    for i, fmt in enumerate(FORMATS):
        cases += format_cases(fmt, 100 + 20 * i)
    return cases + mode_cases() + metadata_cases() + non_image_cases()


def form_cases() -> list[FormCase]:
    long = "a" * 2000
    cases = [
        FormCase("unicode-caption", {"caption": "Regen \u00fcber K\u00f6ln \u2614 \u96e8 \U0001f327\ufe0f \u05d2\u05e9\u05dd"}),
        FormCase("rtl-override", {"caption": "photo \u202egnp.exe\u202c by us"}),
        FormCase("zero-width", {"caption": "a\u200b\u200c\u200d\ufeffb"}),
        FormCase("control-characters", {"caption": "line\x01\x02\x07\x1b[31m\x7f end"}, expect="reject"),
        FormCase("nul-in-caption", {"caption": "before\x00after"}, expect="reject"),
        FormCase("escape-in-credit", {"credit": "\x1b]0;owned\x07"}, expect="reject"),
        FormCase("newlines-and-tabs", {"caption": "a\r\nb\tc\n\n"}),
        FormCase("caption-2000", {"caption": long}),
        FormCase("caption-2001", {"caption": long + "b"}, expect="reject"),
        FormCase("caption-100k", {"caption": "c" * 100_000}, expect="reject"),
        FormCase("caption-empty", {"caption": ""}, expect="either"),
        FormCase("caption-whitespace", {"caption": "   "}, expect="either"),
        FormCase("credit-2001", {"credit": "d" * 2001}, expect="reject"),
        FormCase("combining-marks", {"caption": "Z" + "\u0336\u0337\u0338" * 600}),
        FormCase("lone-surrogate-escaped", {"caption": "\\ud800 literal"}),
        FormCase("html-caption", {"caption": "<script>alert(1)</script>"}),
        FormCase("url-javascript", {"published_url": "javascript:alert(1)"}, expect="reject"),
        FormCase("url-unicode", {"published_url": "https://example.org/\u00e9t\u00e9"}, expect="either"),
        FormCase("url-control", {"published_url": "https://example.org/\x00\x1b"}, expect="reject"),
        FormCase("url-2001", {"published_url": "https://example.org/" + "p" * 1990}, expect="reject"),
        FormCase("taken-at-garbage", {"taken_at": "yesterday-ish"}, expect="either"),
        FormCase("taken-at-65", {"taken_at": "2" * 65}, expect="reject"),
        FormCase("parent-garbage", {"parent": "not-a-uid"}, expect="reject"),
        FormCase("parent-unknown", {"parent": "0x" + "ab" * 32}, expect="reject"),
        FormCase("keep-reference-garbage", {"keep_reference": "perhaps"}, expect="reject"),
        FormCase("filename-traversal", filename="../../etc/passwd"),
        FormCase("filename-unicode", filename="\u96e8\u306e\u65e5.jpg"),
        FormCase("filename-long", filename="f" * 5000 + ".jpg", expect="either"),
        FormCase("filename-control", filename="a\x01\x1b.jpg"),
        FormCase("filename-empty", filename="", expect="either"),
        FormCase("content-type-html", content_type="text/html"),
        FormCase("content-type-svg", content_type="image/svg+xml"),
        FormCase("content-type-octet", content_type="application/octet-stream"),
        FormCase("content-type-png-for-jpeg", content_type="image/png"),
        FormCase("content-type-garbage", content_type="\x01;;;===="),
    ]
    return cases


def raw_cases() -> list[RawCase]:
    part = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n")  # fmt: skip
    jpeg = save(picture(5000), "JPEG")
    mp = "multipart/form-data; boundary=xyz"
    return [
        RawCase("no-content-type", part + jpeg + b"\r\n--xyz--\r\n", None),
        RawCase("multipart-no-boundary", part + jpeg + b"\r\n--xyz--\r\n", "multipart/form-data"),
        RawCase("multipart-wrong-boundary", part + jpeg + b"\r\n--xyz--\r\n", "multipart/form-data; boundary=abc"),
        RawCase("multipart-unterminated", part + jpeg, mp),
        RawCase("multipart-empty-body", b"", mp),
        RawCase("multipart-only-closing", b"--xyz--\r\n", mp),
        RawCase("multipart-no-file-part", b'--xyz\r\nContent-Disposition: form-data; name="caption"\r\n\r\nhi\r\n--xyz--\r\n', mp),
        RawCase("multipart-file-part-twice", (part + jpeg + b"\r\n") * 2 + b"--xyz--\r\n", mp),
        RawCase("multipart-part-without-name", b"--xyz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--xyz--\r\n", mp),
        RawCase("multipart-no-disposition", b"--xyz\r\nContent-Type: image/jpeg\r\n\r\nx\r\n--xyz--\r\n", mp),
        RawCase("multipart-header-100kb", b"--xyz\r\nX-Junk: " + b"j" * 100_000 + b"\r\n" + part[7:] + jpeg + b"\r\n--xyz--\r\n", mp),
        RawCase("multipart-10000-parts", b"".join(b'--xyz\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nv\r\n' % i
                                                  for i in range(10_000)) + b"--xyz--\r\n", mp),  # fmt: skip
        RawCase("multipart-boundary-2000", part.replace(b"xyz", b"b" * 2000) + jpeg + b"\r\n--" + b"b" * 2000 + b"--\r\n",
                "multipart/form-data; boundary=" + "b" * 2000),  # fmt: skip
        RawCase("multipart-garbage", bytes(random.Random(3).randrange(256) for _ in range(5000)), mp),
        RawCase("multipart-bad-utf8-name", b'--xyz\r\nContent-Disposition: form-data; name="\xff\xfe"\r\n\r\nx\r\n--xyz--\r\n', mp),
        RawCase("multipart-bad-utf8-caption",
                part + jpeg + b'\r\n--xyz\r\nContent-Disposition: form-data; name="caption"\r\n\r\n\xff\xfe\xc0\r\n--xyz--\r\n', mp),
        RawCase("json-body", b'{"file": "aGVsbG8="}', "application/json"),
        RawCase("urlencoded-body", b"file=hello&caption=x", "application/x-www-form-urlencoded"),
        RawCase("text-body", jpeg, "text/plain"),
        RawCase("image-body-not-multipart", jpeg, "image/jpeg"),
        RawCase("multipart-mixed", part + jpeg + b"\r\n--xyz--\r\n", "multipart/mixed; boundary=xyz"),
        RawCase("multipart-nested-quotes", part + jpeg + b"\r\n--xyz--\r\n", 'multipart/form-data; boundary="xyz"; boundary=abc'),
    ]


def count() -> dict[str, int]:
    return {"files": len(file_cases()), "forms": len(form_cases()), "raw": len(raw_cases())}


def write(directory: Path, make: Callable[[], list[FileCase]] = file_cases) -> list[tuple[FileCase, Path]]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for case in make():
        path = directory / case.filename
        path.write_bytes(case.data)
        written.append((case, path))
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-out")
    write(target)
    print(count(), "written to", target)
