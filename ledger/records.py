"""Registrations and record ids, computed exactly as the contract does."""

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from ledger.types import ZERO_HASH, RecordUid, parse_hash32


def record_uid(publisher: str, content_hash: str) -> RecordUid:
    """``keccak256(abi.encode(publisher, contentHash))``: several outlets may register one wire photo."""
    content = bytes.fromhex(parse_hash32(content_hash, "content hash")[2:])
    digest = keccak(encode(["address", "bytes32"], [to_checksum_address(publisher), content]))
    return RecordUid("0x" + digest.hex())


@dataclass(frozen=True, slots=True)
class Registration:
    """The fields a publisher registers; the same order as the contract's ``Registration`` struct."""

    content_hash: str
    pixel_hash: str
    pdq_hash: str
    manifest_hash: str
    parent: str = ZERO_HASH

    def as_contract_tuple(self) -> tuple[bytes, bytes, bytes, bytes, bytes]:
        return tuple(  # type: ignore[return-value]
            bytes.fromhex(parse_hash32(h)[2:])
            for h in (self.content_hash, self.pixel_hash, self.pdq_hash, self.manifest_hash, self.parent)
        )
