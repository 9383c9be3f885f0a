"""Names for the hashes and ids that travel between the core, the chain and the API.

All are 0x-prefixed lower-case hex strings of 32 bytes unless said otherwise.
"""

import re
from typing import NewType

ContentHash = NewType("ContentHash", str)  # SHA-256 of the file bytes
PixelHash = NewType("PixelHash", str)  # SHA-256 of the canonical pixels (DESIGN.md)
PdqHash = NewType("PdqHash", str)  # PDQ 256-bit perceptual hash
ManifestHash = NewType("ManifestHash", str)  # keccak256 of the canonical manifest JSON
RecordUid = NewType("RecordUid", str)  # keccak256(abi.encode(publisher, contentHash))
Address = NewType("Address", str)  # EIP-55 checksummed account address

ZERO_HASH = "0x" + "00" * 32
_HEX64 = re.compile(r"[0-9a-f]{64}")  # one regex call: verify by hash parses one per request


def parse_hash32(value: str, what: str = "hash") -> str:
    """Normalise a 32-byte hex string to 0x-prefixed lower case, or raise LedgerValueError."""
    from ledger.errors import InvalidHash

    if not isinstance(value, str):  # JSON from a client or a file may hold anything here
        raise InvalidHash(f"{what} must be 32 bytes of hex (64 hex digits), got {type(value).__name__}")
    text = value.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if _HEX64.fullmatch(text) is None:
        raise InvalidHash(f"{what} must be 32 bytes of hex (64 hex digits), got {value!r}")
    return "0x" + text
