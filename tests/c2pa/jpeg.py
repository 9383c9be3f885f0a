"""JPEG surgery for tests: what platforms do to Content Credentials (strip the APP11 segments that hold the C2PA
manifest store) and what an attacker does (change bytes inside it). Pixels are untouched either way."""

from __future__ import annotations

APP11 = 0xEB
SOS = 0xDA


def segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each marker segment before the scan."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    found, at = [], 2
    while at < len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        found.append((marker, at, at + 2 + length))
        if marker == SOS:
            break
        at += 2 + length
    return found


def strip_c2pa(data: bytes) -> bytes:
    """The file without its APP11 (JUMBF) segments: what a platform that drops metadata sends on."""
    out, last = bytearray(data[:2]), 2
    for marker, start, end in segments(data):
        if marker == APP11:
            out += data[last:start]
            last = end
    return bytes(out + data[last:])


def corrupt_c2pa(data: bytes, offset: int = 200, count: int = 64) -> bytes:
    """The file with ``count`` bytes of its first APP11 segment's payload overwritten."""
    for marker, start, end in segments(data):
        if marker == APP11:
            at = start + min(offset, end - start - count)
            return data[:at] + bytes((b ^ 0x5A) for b in data[at : at + count]) + data[at + count :]
    raise AssertionError("no APP11 segment")


def has_app11(data: bytes) -> bool:
    return any(marker == APP11 for marker, _, _ in segments(data))
