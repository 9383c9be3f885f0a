"""The registry contract over web3.py: deploy, admin calls, registrations, batches, retractions, reads.

Everything that touches RPC for the contract goes through here, so the rest of the project sees plain
values and ``ContractRevert`` errors that carry the decoded custom-error name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3Exception

from ledger.adapters.chain.errors import contract_revert, revert_data
from ledger.core.eip712 import Domain
from ledger.core.records import Batch, PublisherInfo, Record, Registration, Revocation
from ledger.core.types import parse_hash32
from ledger.errors import ChainError

log = logging.getLogger("ledger.adapters.chain")

RECEIPT_TIMEOUT = 60


# What a long-running part retries after: the node is down, slow, or answered with an error.
RETRYABLE: tuple[type[BaseException], ...] = (OSError, TimeoutError, Web3Exception, ChainError)
# The longest wait between two attempts of a long-running part (anchorer, indexer) while the node fails. Issue 14
# asks for every accepted registration anchored and mirrored within 10 s of the failed part being back: a wait that
# doubled up to 30 s left a part asleep for up to 16 s after an outage of 16 s (measured: 4 s after a 6 s stale
# endpoint). Retrying a failing endpoint every 4 s costs it nothing worth saving.
RETRY_MAX_SECONDS = 4.0


def connect(rpc_url: str, timeout: float = 10.0) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))


@dataclass(frozen=True, slots=True)
class SentTx:
    tx_hash: str
    block_number: int | None = None
    gas_used: int | None = None


ERC1271_MAGIC = bytes.fromhex("1626ba7e")  # bytes4(keccak256("isValidSignature(bytes32,bytes)"))
ERC1271_ABI = [{"type": "function", "name": "isValidSignature", "stateMutability": "view",
                "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
                "outputs": [{"name": "", "type": "bytes4"}]}]  # fmt: skip


class RegistryClient:
    def __init__(self, w3: Web3, address: str, abi: list[dict[str, Any]]):
        self.w3 = w3
        self.abi = abi
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=abi)

    # -- deployment ---------------------------------------------------------------------------------
    @classmethod
    def deploy(cls, w3: Web3, artifact: dict[str, Any], admin_key: str) -> tuple[RegistryClient, SentTx]:
        factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        sent = _transact(w3, artifact["abi"], factory.constructor(), admin_key, wait=True)
        receipt = w3.eth.get_transaction_receipt(sent.tx_hash)
        return cls(w3, receipt["contractAddress"], artifact["abi"]), sent

    def chain_id(self) -> int:
        return int(self.w3.eth.chain_id)

    def has_code(self) -> bool:
        return len(self.w3.eth.get_code(self.address)) > 0

    # -- writes --------------------------------------------------------------------------------------
    def add_publisher(self, admin_key: str, publisher: str, name: str, domain: str) -> SentTx:
        fn = self.contract.functions.addPublisher(Web3.to_checksum_address(publisher), name, domain)
        return _transact(self.w3, self.abi, fn, admin_key, wait=True)

    def register(self, publisher_key: bytes | str, registration: Registration, wait: bool = False) -> SentTx:
        fn = self.contract.functions.register(registration.as_contract_tuple())
        return _transact(self.w3, self.abi, fn, publisher_key, wait=wait)

    def register_by_sig(
        self,
        relayer_key: bytes | str,
        registration: Registration,
        publisher: str,
        deadline: int,
        signature: str | bytes,
        wait: bool = False,
        gas: int | None = None,
    ) -> SentTx:
        """Send ``registerBySig`` as the relayer; ``signature`` from ``eip712.sign_registration`` with the
        publisher's current ``nonce``. ``gas``: skip the estimate (a signature for a nonce that earlier transactions,
        sent but not yet mined, will reach cannot be estimated against the latest block)."""
        fn = self.contract.functions.registerBySig(
            registration.as_contract_tuple(), Web3.to_checksum_address(publisher), deadline, _bytes(signature)
        )
        return _transact(self.w3, self.abi, fn, relayer_key, wait=wait, gas=gas)

    def estimate_register_by_sig(
        self, relayer: str, registration: Registration, publisher: str, deadline: int, signature: str | bytes
    ) -> int:
        """Gas of ``registerBySig`` now (raises ``ContractRevert`` with the custom error if it would revert)."""
        fn = self.contract.functions.registerBySig(
            registration.as_contract_tuple(), Web3.to_checksum_address(publisher), deadline, _bytes(signature)
        )
        try:
            return int(fn.estimate_gas({"from": Web3.to_checksum_address(relayer)}))
        except ContractLogicError as exc:
            raise contract_revert(self.abi, exc) from exc

    def register_batch(
        self, publisher_key: bytes | str, registrations: Sequence[Registration], wait: bool = False
    ) -> SentTx:
        """One record per registration, in one transaction (all or nothing)."""
        fn = self.contract.functions.registerBatch([r.as_contract_tuple() for r in registrations])
        return _transact(self.w3, self.abi, fn, publisher_key, wait=wait)

    def anchor_batch(
        self, publisher_key: bytes | str, root: str, content_hashes: Sequence[str], uri: str = "", wait: bool = False
    ) -> SentTx:
        """Anchor a Merkle root (``ledger.core.merkle.registration_tree(...).root``) with its items' content hashes
        (``ledger.core.merkle.batch_content_hashes``), which the ``BatchAnchored`` event lists."""
        fn = self.contract.functions.anchorBatch(_b32(root), len(content_hashes), uri, [_b32(h) for h in content_hashes])
        return _transact(self.w3, self.abi, fn, publisher_key, wait=wait)

    def anchor_batch_by_sig(
        self,
        relayer_key: bytes | str,
        root: str,
        content_hashes: Sequence[str],
        uri: str,
        publisher: str,
        deadline: int,
        signature: str | bytes,
        wait: bool = False,
        gas: int | None = None,
    ) -> SentTx:
        """Send ``anchorBatchBySig`` as the relayer; ``signature`` from ``eip712.sign_batch_anchor`` (count =
        ``len(content_hashes)``). ``gas``: skip the estimate (as for ``register_by_sig``)."""
        fn = self.contract.functions.anchorBatchBySig(
            _b32(root), len(content_hashes), uri, [_b32(h) for h in content_hashes], Web3.to_checksum_address(publisher),
            deadline, _bytes(signature),
        )
        return _transact(self.w3, self.abi, fn, relayer_key, wait=wait, gas=gas)

    def revoke(self, key: bytes | str, uid: str, reason_code: int, reason: str, wait: bool = False) -> SentTx:
        """Retract a record, as its publisher or as the admin."""
        fn = self.contract.functions.revoke(_b32(uid), reason_code, reason)
        return _transact(self.w3, self.abi, fn, key, wait=wait)

    def revoke_by_sig(self, relayer_key: bytes | str, uid: str, reason_code: int, reason: str, publisher: str,
                      deadline: int, signature: str | bytes, wait: bool = False, gas: int | None = None) -> SentTx:  # fmt: skip
        """Send ``revokeBySig`` as the relayer; ``signature`` from ``eip712.sign_revocation`` (the publisher's)."""
        fn = self.contract.functions.revokeBySig(_b32(uid), reason_code, reason, Web3.to_checksum_address(publisher),
                                                 deadline, _bytes(signature))  # fmt: skip
        return _transact(self.w3, self.abi, fn, relayer_key, wait=wait, gas=gas)

    def revoke_batch_item(
        self,
        key: bytes | str,
        root: str,
        registration: Registration,
        publisher: str,
        proof: Sequence[str],
        reason_code: int,
        reason: str,
        wait: bool = False,
    ) -> SentTx:
        """Retract a batch item proven under ``root``, as its publisher or as the admin."""
        fn = self.contract.functions.revokeBatchItem(
            _b32(root),
            registration.as_contract_tuple(),
            Web3.to_checksum_address(publisher),
            [_b32(p) for p in proof],
            reason_code,
            reason,
        )
        return _transact(self.w3, self.abi, fn, key, wait=wait)

    def suspend_publisher(self, admin_key: str, publisher: str, wait: bool = True) -> SentTx:
        fn = self.contract.functions.suspendPublisher(Web3.to_checksum_address(publisher))
        return _transact(self.w3, self.abi, fn, admin_key, wait=wait)

    def reenable_publisher(self, admin_key: str, publisher: str, wait: bool = True) -> SentTx:
        fn = self.contract.functions.reenablePublisher(Web3.to_checksum_address(publisher))
        return _transact(self.w3, self.abi, fn, admin_key, wait=wait)

    def transfer_admin(self, admin_key: str, new_admin: str, wait: bool = True) -> SentTx:
        """First step of the two-step admin transfer; ``new_admin`` must then call ``accept_admin``."""
        fn = self.contract.functions.transferOwnership(Web3.to_checksum_address(new_admin))
        return _transact(self.w3, self.abi, fn, admin_key, wait=wait)

    def accept_admin(self, new_admin_key: str, wait: bool = True) -> SentTx:
        fn = self.contract.functions.acceptOwnership()
        return _transact(self.w3, self.abi, fn, new_admin_key, wait=wait)

    def fund(self, from_key: str, to: str, wei: int) -> SentTx:
        sender = Account.from_key(from_key)
        tx = {
            "from": sender.address,
            "to": Web3.to_checksum_address(to),
            "value": wei,
            "nonce": self.w3.eth.get_transaction_count(sender.address, "pending"),
            "chainId": self.w3.eth.chain_id,
            "gas": 21_000,
            **_fees(self.w3),
        }
        tx_hash = self.w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        return _wait(self.w3, tx_hash)

    # -- reads ---------------------------------------------------------------------------------------
    def record(self, uid: str) -> tuple[str, int, int]:
        publisher, registered_at, flags = self.contract.functions.getRecord(bytes.fromhex(uid[2:])).call()
        return publisher, registered_at, flags

    def is_active_publisher(self, address: str) -> bool:
        return bool(self.contract.functions.isActivePublisher(Web3.to_checksum_address(address)).call())

    def get_record(self, uid: str) -> Record:
        """``record`` as a value with ``exists``/``revoked``/``relayed``."""
        return Record(*self.record(uid))

    def revocation(self, uid: str) -> Revocation | None:
        """The retraction of a record or batch item; None when it was not retracted."""
        revoked_by, revoked_at, reason_code, by_admin = self.contract.functions.getRevocation(_b32(uid)).call()
        if revoked_at == 0:
            return None
        return Revocation(revoked_by, revoked_at, reason_code, bool(by_admin))

    def batch(self, publisher: str, root: str) -> Batch | None:
        """The batch ``root`` anchored by ``publisher``; None when there is none."""
        owner, anchored_at, count = self.contract.functions.getBatch(
            Web3.to_checksum_address(publisher), _b32(root)
        ).call()
        if int(owner, 16) == 0:
            return None
        return Batch(owner, anchored_at, count)

    def publisher(self, address: str) -> PublisherInfo:
        name, domain, added_at, suspended_at = self.contract.functions.getPublisher(
            Web3.to_checksum_address(address)
        ).call()
        return PublisherInfo(name, domain, added_at, suspended_at)

    def verify_inclusion(self, root: str, registration: Registration, publisher: str, proof: Sequence[str]) -> bool:
        """Whether the contract accepts ``proof`` for ``registration`` under ``root`` anchored by ``publisher``."""
        return bool(
            self.contract.functions.verifyInclusion(
                _b32(root), registration.as_contract_tuple(), Web3.to_checksum_address(publisher), [_b32(p) for p in proof]
            ).call()
        )

    def batch_leaf(self, registration: Registration, publisher: str) -> str:
        leaf = self.contract.functions.batchLeaf(
            registration.as_contract_tuple(), Web3.to_checksum_address(publisher)
        ).call()
        return "0x" + bytes(leaf).hex()

    def accepts_signature(self, wallet: str, digest: str, signature: str | bytes) -> bool:
        """Does the contract at ``wallet`` accept ``signature`` over ``digest`` (ERC-1271 ``isValidSignature``)? An
        address without code, a revert or another answer than the magic value is no."""
        address = Web3.to_checksum_address(wallet)
        if not self.w3.eth.get_code(address):
            return False
        contract = self.w3.eth.contract(address=address, abi=ERC1271_ABI)
        try:
            answer = contract.functions.isValidSignature(_b32(digest), _bytes(signature)).call()
        except (ContractLogicError, ValueError):
            return False
        return bytes(answer) == ERC1271_MAGIC

    def nonce(self, publisher: str) -> int:
        """The nonce the publisher's next signature (registration or batch anchor) must carry."""
        return int(self.contract.functions.nonces(Web3.to_checksum_address(publisher)).call())

    def domain(self) -> Domain:
        """The EIP-712 domain as the contract reports it (ERC-5267 ``eip712Domain``)."""
        _fields, _name, _version, chain_id, verifying_contract, _salt, _ext = (
            self.contract.functions.eip712Domain().call()
        )
        return Domain(chain_id, verifying_contract)

    def domain_separator(self) -> str:
        return "0x" + bytes(self.contract.functions.DOMAIN_SEPARATOR().call()).hex()

    def registration_typehash(self) -> str:
        return "0x" + bytes(self.contract.functions.REGISTRATION_TYPEHASH().call()).hex()

    def batch_anchor_typehash(self) -> str:
        return "0x" + bytes(self.contract.functions.BATCH_ANCHOR_TYPEHASH().call()).hex()

    def admin(self) -> str:
        return str(self.contract.functions.owner().call())

    def pending_admin(self) -> str:
        return str(self.contract.functions.pendingOwner().call())

    def transaction_known(self, tx_hash: str) -> bool:
        """Whether the node knows the transaction at all (pending in its pool, or mined)."""
        try:
            self.w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return True

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        try:
            return dict(self.w3.eth.get_transaction_receipt(tx_hash))
        except TransactionNotFound:
            return None


def _b32(value: str | bytes) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes.fromhex(parse_hash32(value)[2:])


def _bytes(value: str | bytes) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return bytes.fromhex(value.removeprefix("0x"))


DEFAULT_TIP_WEI = 1_000_000_000  # when the node cannot suggest a priority fee (eth_maxPriorityFeePerGas)


def _fees(w3: Web3) -> dict[str, int]:
    """EIP-1559 fees when the chain's blocks carry a base fee (the tip the node suggests, the fee cap at twice the
    base fee plus the tip: room for six full blocks of base-fee growth); legacy gasPrice on chains without one."""
    base = w3.eth.get_block("latest").get("baseFeePerGas") or 0
    if not base:
        return {"gasPrice": w3.eth.gas_price}
    try:
        tip = int(w3.eth.max_priority_fee) or DEFAULT_TIP_WEI
    except (Web3Exception, ValueError):  # method not supported by this node
        tip = DEFAULT_TIP_WEI
    return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}


def _transact(w3: Web3, abi: list[dict[str, Any]], fn: Any, key: bytes | str, wait: bool, gas: int | None = None) -> SentTx:
    """Estimate (which surfaces a revert with its custom error), sign locally, send, optionally wait. With ``gas``
    there is no estimate: a revert then shows in the receipt."""
    sender = Account.from_key(key)
    try:
        tx = fn.build_transaction(
            {
                "from": sender.address,
                "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
                "chainId": w3.eth.chain_id,
                **_fees(w3),
                **({"gas": gas} if gas is not None else {}),
            }
        )
    except ContractLogicError as exc:
        raise contract_revert(abi, exc) from exc
    except Exception as exc:
        # In-process chains (eth-tester) raise their own TransactionFailed carrying the revert data.
        if type(exc).__name__ != "TransactionFailed" or revert_data(exc) is None:
            raise
        raise contract_revert(abi, exc) from exc
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    if not wait:
        return SentTx("0x" + bytes(tx_hash).hex())
    return _wait(w3, tx_hash)


def _wait(w3: Web3, tx_hash: Any) -> SentTx:
    try:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.05)
    except TimeExhausted as exc:
        raise ChainError(f"transaction {bytes(tx_hash).hex()} was not mined within {RECEIPT_TIMEOUT} s") from exc
    if receipt["status"] != 1:
        raise ChainError(f"transaction 0x{bytes(tx_hash).hex()} reverted")
    return SentTx("0x" + bytes(tx_hash).hex(), receipt["blockNumber"], receipt["gasUsed"])

