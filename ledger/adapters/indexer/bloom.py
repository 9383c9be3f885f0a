"""The block header's logs bloom (yellow paper, section 4.3.1): a pure test of whether a block may hold logs of an
address. A clear bit proves the block has none; set bits may be a false positive (busy chains saturate blooms).

The indexer uses it to check that an ``eth_getLogs`` answer did not leave out logs the block header says exist
(a node behind the others of a load balancer answers for blocks it does not have yet with nothing).
"""

from __future__ import annotations

from eth_utils import keccak

BLOOM_BYTES = 256


def bloom_bits(item: bytes) -> tuple[int, int, int]:
    """The three bit positions (0..2047) an item sets: the low 11 bits of the first three byte pairs of its keccak."""
    digest = keccak(item)
    return tuple((int.from_bytes(digest[i : i + 2], "big") & 2047) for i in (0, 2, 4))  # type: ignore[return-value]


def may_contain(bloom_hex: str, item: bytes) -> bool:
    bloom = bytes.fromhex(bloom_hex[2:] if bloom_hex.startswith("0x") else bloom_hex)
    if len(bloom) != BLOOM_BYTES:
        return True  # a header without a proper bloom proves nothing either way
    # Bit i of the 2048-bit big-endian bloom lives in byte 255 - i // 8.
    return all(bloom[BLOOM_BYTES - 1 - bit // 8] >> (bit % 8) & 1 for bit in bloom_bits(item))


def address_bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:] if address.startswith("0x") else address)
