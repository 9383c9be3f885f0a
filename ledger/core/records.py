"""Registrations, record ids and the contract's stored shapes, computed exactly as the contract does."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from ledger.core.types import ZERO_HASH, RecordUid, parse_hash32


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

    @classmethod
    def from_contract_tuple(cls, value: tuple[bytes, bytes, bytes, bytes, bytes]) -> Registration:
        """The inverse of ``as_contract_tuple`` (what web3 returns for a ``Registration`` struct)."""
        content, pixel, pdq, manifest, parent = ("0x" + bytes(h).hex() for h in value)
        return cls(content, pixel, pdq, manifest, parent)


# Flag bits of Record.flags (the contract's RECORD_REVOKED / RECORD_RELAYED).
RECORD_REVOKED = 1  # retracted; the details are in the record's Revocation
RECORD_RELAYED = 2  # sent by a relayer with the publisher's EIP-712 signature (registerBySig)


class RevocationReason(IntEnum):
    """Conventional meanings of a retraction's ``reasonCode``; the contract stores any uint16 as given."""

    UNSPECIFIED = 0
    WRONG_CAPTION = 1  # the caption, date or place was wrong
    MANIPULATED = 2  # the image was altered beyond accepted editing
    RIGHTS = 3  # rights or consent withdrawn
    PUBLISHED_IN_ERROR = 4  # should not have been registered
    KEY_COMPROMISED = 5  # registered with a stolen key (typically retracted by the admin)


@dataclass(frozen=True, slots=True)
class Record:
    """The contract's stored record of a uid (``getRecord``); ``publisher`` is the zero address when none."""

    publisher: str
    registered_at: int
    flags: int

    @property
    def exists(self) -> bool:
        return int(self.publisher, 16) != 0

    @property
    def revoked(self) -> bool:
        return bool(self.flags & RECORD_REVOKED)

    @property
    def relayed(self) -> bool:
        return bool(self.flags & RECORD_RELAYED)


@dataclass(frozen=True, slots=True)
class Revocation:
    """A retraction (``getRevocation``): who, when, the reason code, and whether the admin did it."""

    revoked_by: str
    revoked_at: int
    reason_code: int
    by_admin: bool

    @property
    def revoked(self) -> bool:
        return self.revoked_at != 0


@dataclass(frozen=True, slots=True)
class Batch:
    """An anchored Merkle root (``getBatch(publisher, root)``); ``anchored_at`` is 0 when there is none."""

    publisher: str
    anchored_at: int
    count: int

    @property
    def exists(self) -> bool:
        return int(self.publisher, 16) != 0


@dataclass(frozen=True, slots=True)
class PublisherInfo:
    """The contract's view of a publisher (``getPublisher``); ``added_at`` is 0 for an unknown address."""

    name: str
    domain: str
    added_at: int
    suspended_at: int

    @property
    def active(self) -> bool:
        return self.added_at != 0 and self.suspended_at == 0


def batch_key(publisher: str, root: str) -> str:
    """``keccak256(abi.encode(publisher, root))``: the contract's storage key of a batch."""
    value = bytes.fromhex(parse_hash32(root, "Merkle root")[2:])
    return "0x" + keccak(encode(["address", "bytes32"], [to_checksum_address(publisher), value])).hex()
