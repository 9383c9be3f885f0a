"""The hostile uploads of issue 10, shared by the memory test (tests/api/test_decode_memory.py) and the API
benchmark (scripts/bench_api.py): small files that decode to large pictures (a 93 KB 16-bit PNG is 40 MP; a 1 KB
lossless WebP is 16.7 MP)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def png16(width: int, height: int) -> bytes:
    array = np.full((height, width), 40_000, dtype=np.uint16)
    array[::7] = 1_000  # stripes: compresses to ~90 KB, not a flat picture
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG", compress_level=9)
    return out.getvalue()


def rgba_png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (10, 200, 30, 100)).save(out, format="PNG", compress_level=9)
    return out.getvalue()


def webp(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, format="WEBP", lossless=True)
    return out.getvalue()


def twelve_hostile_uploads() -> list[tuple[str, bytes]]:
    """The burst both measure: 12 files, each under 1 MB."""
    return [
        *[("png16", png16(7000, 5700))] * 4,   # 39.9 MP, 16-bit grey: under the 40 MP cap
        *[("rgba", rgba_png(7000, 5700))] * 3,  # 39.9 MP with alpha
        *[("webp", webp(4096, 4090))] * 3,      # 16.75 MP lossless WebP: under the WebP cap
        ("webp-over", webp(5000, 5000)),       # 25 MP WebP: refused from its header, before libwebp allocates
        ("png16-over", png16(8000, 5100)),     # 40.8 MP: over the readers' cap
    ]  # fmt: skip
