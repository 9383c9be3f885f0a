"""Image decoding (``ledger.core.fingerprint``) under arbitrary bytes and mutated valid images of every supported
format: the answer is a fingerprint or ``NotAnImage`` / ``TooLarge`` / ``UnsupportedFormat`` (422 / 413 / 415), never
another exception; nothing larger than the pixel limit is decoded; the process's memory stays bounded.

The generated corpus of hand-made cases (bombs, odd modes, metadata) is tests/corpus; this adds random mutations."""

from __future__ import annotations

import resource
import struct
from functools import cache

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.core.fingerprint import Limits, decode_image, perceptual_bytes, probe_bytes
from ledger.errors import NotAnImage, TooLarge, UnsupportedFormat
from tests.corpus.generate import patch_dimensions, picture, save
from tests.fuzz.profile import examples

FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "TIFF", "AVIF", "HEIF"]
# Small limits so a mutated header that claims more is refused by the limit, not by the machine's memory.
LIMITS = Limits(max_bytes=256 * 1024, max_pixels=200_000)
OURS = (NotAnImage, TooLarge, UnsupportedFormat)
MB = 1024 * 1024
# Peak RSS may grow by this much over all the examples of a test: one decode within LIMITS is a few MB; a cap that
# failed would show as hundreds of MB (a claimed 60000 x 60000 picture is 10 GB of RGB).
PEAK_GROWTH_LIMIT = 300 * MB


@cache
def valid(fmt: str, seed: int) -> bytes:
    options = {"HEIF": {"quality": 60}, "AVIF": {"quality": 60}}.get(fmt, {})
    image = picture(seed, 48 + seed % 17, 40 + seed % 13, "RGBA" if fmt in ("PNG", "WEBP") and seed % 2 else "RGB")
    return save(image, fmt, **options)


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.fixture(scope="module")
def memory_bound():  # type: ignore[no-untyped-def]
    before = peak_rss()
    yield
    assert peak_rss() - before < PEAK_GROWTH_LIMIT, f"peak RSS grew by {(peak_rss() - before) / MB:.0f} MB"


def check(data: bytes) -> None:
    """Every entry point a request or a command reaches: fingerprint and probe, and the draft-decoding path."""
    try:
        image, _ = decode_image(data, LIMITS)
    except OURS:
        pass
    else:
        assert image.width * image.height <= LIMITS.max_pixels
    for analyse in (probe_bytes, perceptual_bytes):
        try:
            analyse(data, LIMITS)
        except OURS:
            pass


mutations = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("insert"), st.tuples(st.integers(0, 10**6), st.binary(min_size=1, max_size=64))),
    st.tuples(st.just("delete"), st.tuples(st.integers(0, 10**6), st.integers(1, 64))),
    st.tuples(st.just("dimensions"), st.tuples(st.integers(0, 70_000), st.integers(0, 70_000))),
    st.tuples(st.just("u32"), st.tuples(st.integers(0, 10**6), st.sampled_from([0, 1, 2**16 - 1, 2**31 - 1, 2**32 - 1]))),
)  # fmt: skip


def mutate(data: bytes, fmt: str, mutation: tuple) -> bytes:  # type: ignore[type-arg]
    kind, arg = mutation
    buf = bytearray(data)
    if kind == "flip":
        for at, mask in arg:
            buf[at % len(buf)] ^= mask
    elif kind == "truncate":
        del buf[int(arg * len(buf)):]
    elif kind == "insert":
        at, chunk = arg
        buf[at % (len(buf) + 1):at % (len(buf) + 1)] = chunk
    elif kind == "delete":
        at, n = arg
        del buf[at % len(buf):at % len(buf) + n]
    elif kind == "dimensions":
        try:
            return patch_dimensions(data, fmt, *arg)
        except (ValueError, StopIteration, AssertionError, struct.error):  # a layout the patcher does not know
            return data
    elif kind == "u32":  # a length or size field anywhere (chunk lengths, IFD offsets, box sizes)
        at, value = arg
        at %= max(1, len(buf) - 4)
        buf[at:at + 4] = value.to_bytes(4, "big")
    return bytes(buf)


@examples(300)
@given(fmt=st.sampled_from(FORMATS), seed=st.integers(0, 3), mutation=mutations)
@example(fmt="PNG", seed=0, mutation=("dimensions", (60_000, 60_000)))
@example(fmt="GIF", seed=0, mutation=("dimensions", (65_535, 65_535)))
@example(fmt="JPEG", seed=0, mutation=("dimensions", (65_535, 1)))
@example(fmt="HEIF", seed=0, mutation=("dimensions", (30_000, 30_000)))
@example(fmt="AVIF", seed=1, mutation=("truncate", 0.5))
@example(fmt="TIFF", seed=0, mutation=("u32", (4, 2**32 - 1)))
def test_a_mutated_image_decodes_within_the_limits_or_is_refused(memory_bound, fmt: str, seed: int, mutation: tuple) -> None:  # type: ignore[no-untyped-def,type-arg]  # fmt: skip
    check(mutate(valid(fmt, seed), fmt, mutation))


MAGIC = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBPVP8X", b"II*\x00",
         b"MM\x00*", b"\x00\x00\x00\x1cftypavif", b"\x00\x00\x00\x18ftypheic", b"BM", b"<svg", b"%PDF-"]  # fmt: skip


@examples(200)
@given(head=st.sampled_from(MAGIC), body=st.binary(max_size=2048))
@example(head=b"", body=b"")
@example(head=b"RIFF\x00\x00\x00\x00WEBPVP8X", body=b"\x00" * 4 + b"\xff\xff\xff\xff\xff\xff")
def test_arbitrary_bytes_are_an_image_or_refused(memory_bound, head: bytes, body: bytes) -> None:  # type: ignore[no-untyped-def]
    check(head + body)


def test_the_pixel_limit_refuses_a_real_picture_one_pixel_over() -> None:
    """The cap the mutations rely on, checked on its boundary with a real decode."""
    limits = Limits(max_pixels=LIMITS.max_pixels)
    image, _ = decode_image(save(picture(5, 500, 400), "PNG"), limits)  # 200,000 pixels
    assert image.size == (500, 400)
    with pytest.raises(TooLarge):
        decode_image(save(picture(5, 401, 500), "PNG"), limits)
