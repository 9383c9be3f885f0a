"""A registration signed by the newsroom's own key (custody ``publisher``), as one JSON document per image; and a
retraction signed the same way (``SignedRetraction``, ``provenance retract``, ``POST /v1/retractions``).

``provenance sign`` writes it offline; ``POST /v1/registrations`` reads it. It carries the manifest (what the
picture shows and its fingerprints), the EIP-712 domain (chain id, contract), the nonce, the deadline and the
signature. The registration that goes on chain is derived from the manifest, so the two cannot disagree: the
content, pixel and PDQ hashes are the manifest's, the manifest hash is the keccak256 of its canonical form.
Pure: eth-account signs and recovers, nothing here touches a chain or a file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eth_account import Account
from eth_utils import is_address, to_checksum_address

from ledger.core.eip712 import (
    REGISTRATION_TYPES,
    Domain,
    recover_registration_signer,
    recover_revocation_signer,
    registration_message,
    sign_revocation,
)
from ledger.core.manifest import MANIFEST_VERSION, Manifest, bad_character, parse_timestamp, parse_url
from ledger.core.records import Registration
from ledger.core.types import parse_hash32
from ledger.errors import InvalidText, LedgerValueError

BUNDLE_VERSION = 1


@dataclass(frozen=True, slots=True)
class SignedRegistration:
    publisher: str
    chain_id: int
    contract: str
    nonce: int
    deadline: int
    signature: str
    manifest: Manifest

    @property
    def domain(self) -> Domain:
        return Domain(self.chain_id, self.contract)

    @property
    def registration(self) -> Registration:
        m = self.manifest
        return Registration(m.content_hash, m.pixel_hash, m.pdq, m.hash(), m.parent)

    def as_json(self) -> dict[str, Any]:
        return {"version": BUNDLE_VERSION, "publisher": self.publisher, "chain_id": self.chain_id,
                "contract": self.contract, "nonce": self.nonce, "deadline": self.deadline,
                "signature": self.signature, "manifest": asdict(self.manifest),
                "registration": asdict(self.registration)}  # fmt: skip

    def recovered_signer(self) -> str | None:
        """The EOA whose key made the signature (None if it is not a valid ECDSA signature at all)."""
        try:
            return recover_registration_signer(self.domain, self.registration, self.publisher, self.nonce,
                                               self.deadline, self.signature)  # fmt: skip
        except (ValueError, TypeError):
            return None


def sign_bundle(signer_key: bytes | str, domain: Domain, publisher: str, manifest: Manifest, nonce: int,
                deadline: int) -> SignedRegistration:  # fmt: skip
    """Sign ``manifest``'s registration for ``publisher`` (the key's own address, or a contract wallet that accepts
    this key's signatures through ERC-1271)."""
    bundle = SignedRegistration(to_checksum_address(publisher), domain.chain_id,
                                to_checksum_address(domain.verifying_contract), nonce, deadline, "0x", manifest)  # fmt: skip
    message = registration_message(bundle.registration, bundle.publisher, nonce, deadline)
    signed = Account.sign_typed_data(signer_key, domain.as_dict(), REGISTRATION_TYPES, message)
    return SignedRegistration(bundle.publisher, bundle.chain_id, bundle.contract, nonce, deadline,
                              "0x" + bytes(signed.signature).hex(), manifest)  # fmt: skip


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise LedgerValueError(f"{what} must be an address (0x and 40 hex digits)")
    return str(to_checksum_address(value))


def _uint(value: Any, what: str, bits: int = 256) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
        raise LedgerValueError(f"{what} must be a whole number from 0 to 2^{bits} - 1")
    return value


def _text(value: Any, what: str, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 2000:
        raise LedgerValueError(f"manifest.{what} must be a text of 1 to 2000 characters")
    problem = bad_character(f"manifest.{what}", value)
    if problem is not None:  # the same rule as a manifest built here
        raise InvalidText(problem)
    return value


def parse_bundle(data: Any) -> SignedRegistration:
    """A signed registration from its JSON (as ``provenance sign`` writes it), checked for shape; the signature,
    domain, nonce and deadline are checked by the caller against the service and the chain."""
    if not isinstance(data, dict) or data.get("version") != BUNDLE_VERSION:
        raise LedgerValueError(f"a signed registration is a JSON object with \"version\": {BUNDLE_VERSION}")
    raw = data.get("manifest")
    if not isinstance(raw, dict) or raw.get("version") != MANIFEST_VERSION:
        raise LedgerValueError(f"manifest must be an object with \"version\": {MANIFEST_VERSION}")
    signature = _signature_hex(data.get("signature"))
    publisher = _address(data.get("publisher"), "publisher")
    manifest = Manifest(
        version=MANIFEST_VERSION,
        publisher=_address(raw.get("publisher"), "manifest.publisher"),
        content_hash=parse_hash32(str(raw.get("content_hash")), "manifest.content_hash"),
        pixel_hash=parse_hash32(str(raw.get("pixel_hash")), "manifest.pixel_hash"),
        pdq=parse_hash32(str(raw.get("pdq")), "manifest.pdq"),
        pdq_quality=_uint(raw.get("pdq_quality"), "manifest.pdq_quality", 8),
        width=_uint(raw.get("width"), "manifest.width", 32),
        height=_uint(raw.get("height"), "manifest.height", 32),
        caption=_text(raw.get("caption"), "caption", True) or "",
        credit=_text(raw.get("credit"), "credit", True) or "",
        published_url=parse_url(_text(raw.get("published_url"), "published_url", False)),
        taken_at=parse_timestamp(_text(raw.get("taken_at"), "taken_at", False)),
        parent=parse_hash32(str(raw.get("parent", "0x" + "00" * 32)), "manifest.parent"),
    )
    if manifest.publisher != publisher:
        raise LedgerValueError("manifest.publisher is not the publisher that signed")
    signed = SignedRegistration(publisher, _uint(data.get("chain_id"), "chain_id", 64),
                                _address(data.get("contract"), "contract"), _uint(data.get("nonce"), "nonce"),
                                _uint(data.get("deadline"), "deadline"), signature.lower(), manifest)  # fmt: skip
    stated = data.get("registration")
    if stated is not None and stated != asdict(signed.registration):
        raise LedgerValueError("registration does not follow from the manifest (its hashes or manifest hash differ)")
    return signed


# ------------------------------------------------------------------------------------------------ retraction

RETRACTION_KIND = "retraction"


@dataclass(frozen=True, slots=True)
class SignedRetraction:
    """The retraction of record ``uid`` signed by its publisher (EIP-712 ``Revocation``). ``successor`` (the
    corrected image's uid) is not signed: the contract has no such field; the service keeps it with the retraction."""

    publisher: str
    chain_id: int
    contract: str
    uid: str
    reason_code: int
    reason: str
    nonce: int
    deadline: int
    signature: str
    successor: str | None = None

    @property
    def domain(self) -> Domain:
        return Domain(self.chain_id, self.contract)

    def as_json(self) -> dict[str, Any]:
        return {"version": BUNDLE_VERSION, "kind": RETRACTION_KIND, "publisher": self.publisher,
                "chain_id": self.chain_id, "contract": self.contract, "uid": self.uid, "reason_code": self.reason_code,
                "reason": self.reason, "successor": self.successor, "nonce": self.nonce, "deadline": self.deadline,
                "signature": self.signature}  # fmt: skip

    def recovered_signer(self) -> str | None:
        try:
            return recover_revocation_signer(self.domain, self.uid, self.reason_code, self.reason, self.publisher,
                                             self.nonce, self.deadline, self.signature)  # fmt: skip
        except (ValueError, TypeError):
            return None


def sign_retraction(signer_key: bytes | str, domain: Domain, publisher: str, uid: str, reason_code: int, reason: str,
                    nonce: int, deadline: int, successor: str | None = None) -> SignedRetraction:  # fmt: skip
    """Sign the retraction of ``uid`` for ``publisher`` (the key's own address, or a contract wallet that accepts
    this key's signatures through ERC-1271)."""
    publisher = to_checksum_address(publisher)
    uid = parse_hash32(uid, "uid")
    signature = sign_revocation(signer_key, domain, uid, reason_code, reason, nonce, deadline, publisher)
    return SignedRetraction(publisher, domain.chain_id, to_checksum_address(domain.verifying_contract), uid, reason_code,
                            reason, nonce, deadline, signature,
                            None if successor is None else parse_hash32(successor, "successor"))  # fmt: skip


def _signature_hex(signature: Any) -> str:
    if not isinstance(signature, str) or not signature.startswith("0x") or len(signature) > 2 + 2 * 1024:
        raise LedgerValueError("signature must be 0x hex")
    try:
        bytes.fromhex(signature[2:])
    except ValueError:
        raise LedgerValueError("signature must be 0x hex") from None
    return signature


def parse_retraction(data: Any) -> SignedRetraction:
    """A signed retraction from its JSON, checked for shape; signature, domain, nonce and deadline are checked by
    the caller against the service and the chain."""
    if not isinstance(data, dict) or data.get("version") != BUNDLE_VERSION or data.get("kind") != RETRACTION_KIND:
        raise LedgerValueError(f"a signed retraction is a JSON object with \"version\": {BUNDLE_VERSION} and "
                               f"\"kind\": \"{RETRACTION_KIND}\" (the file `provenance retract` writes)")  # fmt: skip
    signature = _signature_hex(data.get("signature"))
    reason = data.get("reason")
    if not isinstance(reason, str):
        raise LedgerValueError("reason must be a text")
    successor = data.get("successor")
    return SignedRetraction(
        publisher=_address(data.get("publisher"), "publisher"),
        chain_id=_uint(data.get("chain_id"), "chain_id", 64),
        contract=_address(data.get("contract"), "contract"),
        uid=parse_hash32(str(data.get("uid")), "uid"),
        reason_code=_uint(data.get("reason_code"), "reason_code", 16),
        reason=reason,
        nonce=_uint(data.get("nonce"), "nonce"),
        deadline=_uint(data.get("deadline"), "deadline"),
        signature=signature.lower(),
        successor=None if successor is None else parse_hash32(str(successor), "successor"),
    )
