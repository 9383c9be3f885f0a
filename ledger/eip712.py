"""EIP-712 typed data of a registration, signed by the publisher's key.

The domain binds a signature to one chain id and one contract address; the nonce and the deadline bind
it to one use. The contract exposes the same domain (OpenZeppelin ``EIP712``) and typehash, so clients
never hard-code them; the tests check that both sides agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address

from ledger.records import Registration

DOMAIN_NAME = "MediaRegistry"
DOMAIN_VERSION = "1"

# Preimage of REGISTRATION_TYPEHASH in the contract; keep both in step.
REGISTRATION_TYPE_STRING = (
    "Registration(bytes32 contentHash,bytes32 pixelHash,bytes32 pdqHash,bytes32 manifestHash,"
    "bytes32 parent,address publisher,uint256 nonce,uint256 deadline)"
)
REGISTRATION_TYPEHASH = "0x" + keccak(text=REGISTRATION_TYPE_STRING).hex()

REGISTRATION_TYPES: dict[str, list[dict[str, str]]] = {
    "Registration": [
        {"name": "contentHash", "type": "bytes32"},
        {"name": "pixelHash", "type": "bytes32"},
        {"name": "pdqHash", "type": "bytes32"},
        {"name": "manifestHash", "type": "bytes32"},
        {"name": "parent", "type": "bytes32"},
        {"name": "publisher", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


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
    signed = Account.sign_typed_data(
        private_key, domain.as_dict(), REGISTRATION_TYPES, registration_message(reg, publisher, nonce, deadline)
    )
    return "0x" + bytes(signed.signature).hex()


def recover_registration_signer(
    domain: Domain, reg: Registration, publisher: str, nonce: int, deadline: int, signature: str
) -> str:
    signable = encode_typed_data(
        domain.as_dict(), REGISTRATION_TYPES, registration_message(reg, publisher, nonce, deadline)
    )
    return Account.recover_message(signable, signature=bytes.fromhex(signature.removeprefix("0x")))
