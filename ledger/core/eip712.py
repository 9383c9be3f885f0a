"""EIP-712 typed data signed by a publisher's key: a registration, and a batch anchor (a Merkle root).

The domain binds a signature to one chain id and one contract address; the nonce and the deadline bind
it to one use. The contract exposes the same domain (OpenZeppelin ``EIP712``) and typehash, so clients
never hard-code them; the tests check that both sides agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import keccak, to_checksum_address

from ledger.core.records import Registration
from ledger.core.types import parse_hash32
from ledger.errors import InvalidSignature, LedgerValueError

DOMAIN_NAME = "MediaRegistry"
DOMAIN_VERSION = "1"

# Preimage of REGISTRATION_TYPEHASH in the contract; keep both in step.
REGISTRATION_TYPE_STRING = (
    "Registration(bytes32 contentHash,bytes32 pixelHash,bytes32 pdqHash,bytes32 manifestHash,"
    "bytes32 parent,address publisher,uint256 nonce,uint256 deadline)"
)
REGISTRATION_TYPEHASH = "0x" + keccak(text=REGISTRATION_TYPE_STRING).hex()

# Preimage of BATCH_ANCHOR_TYPEHASH in the contract; keep both in step. `uri` enters as keccak256(bytes(uri)),
# `contentHashes` (the batch's file hashes, listed in the BatchAnchored event) as keccak256 of their concatenation.
BATCH_ANCHOR_TYPE_STRING = (
    "BatchAnchor(bytes32 root,uint32 count,string uri,bytes32[] contentHashes,address publisher,uint256 nonce,"
    "uint256 deadline)"
)
BATCH_ANCHOR_TYPEHASH = "0x" + keccak(text=BATCH_ANCHOR_TYPE_STRING).hex()

# Preimage of REVOCATION_TYPEHASH in the contract; keep both in step. `reason` enters as keccak256(bytes(reason)).
REVOCATION_TYPE_STRING = (
    "Revocation(bytes32 uid,uint16 reasonCode,string reason,address publisher,uint256 nonce,uint256 deadline)"
)
REVOCATION_TYPEHASH = "0x" + keccak(text=REVOCATION_TYPE_STRING).hex()

EIP712_DOMAIN_TYPE_STRING = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"


def _types_of(type_string: str) -> dict[str, list[dict[str, str]]]:
    """eth-account's ``types`` argument, derived from the one type string so the two cannot drift apart."""
    name, fields = type_string.rstrip(")").split("(", 1)
    return {name: [{"name": field.split()[1], "type": field.split()[0]} for field in fields.split(",")]}


REGISTRATION_TYPES = _types_of(REGISTRATION_TYPE_STRING)
BATCH_ANCHOR_TYPES = _types_of(BATCH_ANCHOR_TYPE_STRING)
REVOCATION_TYPES = _types_of(REVOCATION_TYPE_STRING)


@dataclass(frozen=True, slots=True)
class Domain:
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }

    def separator(self) -> str:
        """The domain separator (the contract's ``DOMAIN_SEPARATOR()``), 0x hex."""
        encoded = encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                keccak(text=EIP712_DOMAIN_TYPE_STRING),
                keccak(text=DOMAIN_NAME),
                keccak(text=DOMAIN_VERSION),
                self.chain_id,
                to_checksum_address(self.verifying_contract),
            ],
        )
        return "0x" + keccak(encoded).hex()


def registration_message(reg: Registration, publisher: str, nonce: int, deadline: int) -> dict[str, Any]:
    content, pixel, pdq, manifest, parent = reg.as_contract_tuple()
    return {
        "contentHash": content,
        "pixelHash": pixel,
        "pdqHash": pdq,
        "manifestHash": manifest,
        "parent": parent,
        "publisher": to_checksum_address(publisher),
        "nonce": nonce,
        "deadline": deadline,
    }


def registration_digest(domain: Domain, reg: Registration, publisher: str, nonce: int, deadline: int) -> str:
    """The 32-byte digest the publisher signs (``_hashTypedDataV4`` on chain)."""
    signable = encode_typed_data(
        domain.as_dict(), REGISTRATION_TYPES, registration_message(reg, publisher, nonce, deadline)
    )
    digest = keccak(b"\x19" + signable.version + signable.header + signable.body)
    return "0x" + digest.hex()


def sign_registration(
    private_key: bytes | str, domain: Domain, reg: Registration, nonce: int, deadline: int
) -> str:
    """Sign as the publisher whose key this is; returns the 65-byte signature as 0x hex."""
    publisher = Account.from_key(private_key).address
    digest = _registration_digest(domain, reg, publisher, nonce, deadline)
    # "unsafe": eth-account's word for signing a digest it did not build; this one is the EIP-712 digest built above.
    return "0x" + bytes(Account.unsafe_sign_hash(digest, private_key).signature).hex()


_REGISTRATION_TYPEHASH = bytes.fromhex(REGISTRATION_TYPEHASH[2:])


@lru_cache(maxsize=64)
def _separator(domain: Domain) -> bytes:
    return bytes.fromhex(domain.separator()[2:])


def _registration_digest(domain: Domain, reg: Registration, publisher: str, nonce: int, deadline: int) -> bytes:
    """``registration_digest`` encoded here rather than by eth-account's ``encode_typed_data``: the type is eight
    32-byte words, and walking it generically cost ~0.3 ms of the ~0.7 ms a registration's signature took (2026-12-02,
    2 cores); the two are checked against each other (tests/fuzz/test_eip712_fuzz.py) and against the contract."""
    for name, value in (("nonce", nonce), ("deadline", deadline)):
        if not 0 <= value < 2**256:
            raise LedgerValueError(f"a registration's {name} must fit in uint256, got {value}")
    address = bytes.fromhex(to_checksum_address(publisher)[2:])
    struct = keccak(_REGISTRATION_TYPEHASH + b"".join(reg.as_contract_tuple()) + address.rjust(32, b"\0")
                    + nonce.to_bytes(32, "big") + deadline.to_bytes(32, "big"))  # fmt: skip
    return keccak(b"\x19\x01" + _separator(domain) + struct)


def recover_registration_signer(
    domain: Domain, reg: Registration, publisher: str, nonce: int, deadline: int, signature: str
) -> str:
    signable = encode_typed_data(
        domain.as_dict(), REGISTRATION_TYPES, registration_message(reg, publisher, nonce, deadline)
    )
    return _recover(signable, signature)


def _recover(signable: SignableMessage, signature: str) -> str:
    """The address whose key made ``signature`` over ``signable``; ``InvalidSignature`` when no key could have (not
    65 bytes of hex, r or s out of range, a point not on the curve: what a client or a receipt file may send)."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        if len(raw) != 65:  # eth-account raises IndexError on an empty one
            raise ValueError(f"{len(raw)} bytes, not 65")
        return str(Account.recover_message(signable, signature=raw))
    except (BadSignature, ValidationError, ValueError, TypeError, IndexError) as exc:
        raise InvalidSignature(f"the signature is not a valid ECDSA signature ({exc})") from None


def registration_typed_data(
    domain: Domain, reg: Registration, publisher: str, nonce: int, deadline: int
) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` JSON of a registration (for wallets and hardware signers)."""
    return _full_typed_data(domain, REGISTRATION_TYPES, "Registration", registration_message(reg, publisher, nonce, deadline))


# ------------------------------------------------------------------------------------------------ batch anchor


def batch_anchor_message(
    root: str, count: int, uri: str, content_hashes: Sequence[str], publisher: str, nonce: int, deadline: int
) -> dict[str, Any]:
    if not 0 <= count < 2**32:
        raise LedgerValueError(f"a batch count must fit in uint32, got {count}")
    return {
        "root": bytes.fromhex(parse_hash32(root, "Merkle root")[2:]),
        "count": count,
        "uri": uri,
        "contentHashes": [bytes.fromhex(parse_hash32(h, "content hash")[2:]) for h in content_hashes],
        "publisher": to_checksum_address(publisher),
        "nonce": nonce,
        "deadline": deadline,
    }


def _batch_signable(
    domain: Domain, root: str, count: int, uri: str, content_hashes: Sequence[str], publisher: str, nonce: int,
    deadline: int,
) -> SignableMessage:
    message = batch_anchor_message(root, count, uri, content_hashes, publisher, nonce, deadline)
    return encode_typed_data(domain.as_dict(), BATCH_ANCHOR_TYPES, message)


def batch_anchor_digest(
    domain: Domain, root: str, count: int, uri: str, content_hashes: Sequence[str], publisher: str, nonce: int,
    deadline: int,
) -> str:
    """The 32-byte digest a publisher signs to anchor ``root`` through a relayer (``hashBatchAnchor`` on chain)."""
    signable = _batch_signable(domain, root, count, uri, content_hashes, publisher, nonce, deadline)
    return "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()


def sign_batch_anchor(
    private_key: bytes | str, domain: Domain, root: str, count: int, uri: str, content_hashes: Sequence[str],
    nonce: int, deadline: int,
) -> str:
    """Sign a batch anchor as the publisher whose key this is; returns the 65-byte signature as 0x hex."""
    publisher = Account.from_key(private_key).address
    signable = _batch_signable(domain, root, count, uri, content_hashes, publisher, nonce, deadline)
    signed = Account.sign_message(signable, private_key)
    return "0x" + bytes(signed.signature).hex()


def recover_batch_anchor_signer(
    domain: Domain, root: str, count: int, uri: str, content_hashes: Sequence[str], publisher: str, nonce: int,
    deadline: int, signature: str,
) -> str:
    return _recover(_batch_signable(domain, root, count, uri, content_hashes, publisher, nonce, deadline), signature)


def batch_anchor_typed_data(
    domain: Domain, root: str, count: int, uri: str, content_hashes: Sequence[str], publisher: str, nonce: int,
    deadline: int,
) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` JSON of a batch anchor."""
    message = batch_anchor_message(root, count, uri, content_hashes, publisher, nonce, deadline)
    message["root"] = parse_hash32(root, "Merkle root")
    message["contentHashes"] = [parse_hash32(h, "content hash") for h in content_hashes]
    return _full_typed_data(domain, BATCH_ANCHOR_TYPES, "BatchAnchor", message)


def _full_typed_data(
    domain: Domain, types: dict[str, list[dict[str, str]]], primary: str, message: dict[str, Any]
) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **types,
        },
        "primaryType": primary,
        "domain": domain.as_dict(),
        "message": {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in message.items()},
    }


# ------------------------------------------------------------------------------------------------ retraction


def revocation_message(uid: str, reason_code: int, reason: str, publisher: str, nonce: int, deadline: int) -> dict[str, Any]:
    if not 0 <= reason_code < 2**16:
        raise LedgerValueError(f"a reason code must fit in uint16, got {reason_code}")
    return {
        "uid": bytes.fromhex(parse_hash32(uid, "uid")[2:]),
        "reasonCode": reason_code,
        "reason": reason,
        "publisher": to_checksum_address(publisher),
        "nonce": nonce,
        "deadline": deadline,
    }


def _revocation_signable(
    domain: Domain, uid: str, reason_code: int, reason: str, publisher: str, nonce: int, deadline: int
) -> SignableMessage:
    message = revocation_message(uid, reason_code, reason, publisher, nonce, deadline)
    return encode_typed_data(domain.as_dict(), REVOCATION_TYPES, message)


def revocation_digest(domain: Domain, uid: str, reason_code: int, reason: str, publisher: str, nonce: int,
                      deadline: int) -> str:  # fmt: skip
    """The 32-byte digest a publisher signs to retract its record ``uid`` through a relayer (``hashRevocation``)."""
    signable = _revocation_signable(domain, uid, reason_code, reason, publisher, nonce, deadline)
    return "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()


def sign_revocation(private_key: bytes | str, domain: Domain, uid: str, reason_code: int, reason: str, nonce: int,
                    deadline: int, publisher: str | None = None) -> str:  # fmt: skip
    """Sign a retraction with this key, as ``publisher`` (default: the key's own address; a contract wallet that
    accepts this key's signatures through ERC-1271 otherwise); the 65-byte signature as 0x hex."""
    signer = publisher or Account.from_key(private_key).address
    signable = _revocation_signable(domain, uid, reason_code, reason, signer, nonce, deadline)
    return "0x" + bytes(Account.sign_message(signable, private_key).signature).hex()


def recover_revocation_signer(domain: Domain, uid: str, reason_code: int, reason: str, publisher: str, nonce: int,
                              deadline: int, signature: str) -> str:  # fmt: skip
    return _recover(_revocation_signable(domain, uid, reason_code, reason, publisher, nonce, deadline), signature)
