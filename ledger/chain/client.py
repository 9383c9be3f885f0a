"""The registry contract over web3.py: deploy, admin calls, registrations, logs.

Everything that touches RPC for the contract goes through here, so the rest of the project sees plain
values and ``ContractRevert`` errors that carry the decoded custom-error name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound

from ledger.chain.errors import contract_revert
from ledger.errors import ChainError
from ledger.records import Registration

log = logging.getLogger("ledger.chain")

RECEIPT_TIMEOUT = 60


def connect(rpc_url: str, timeout: float = 10.0) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))


@dataclass(frozen=True, slots=True)
class SentTx:
    tx_hash: str
    block_number: int | None = None
    gas_used: int | None = None


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

    def has_code(self) -> bool:
        return len(self.w3.eth.get_code(self.address)) > 0

    # -- writes --------------------------------------------------------------------------------------
    def add_publisher(self, admin_key: str, publisher: str, name: str, domain: str) -> SentTx:
        fn = self.contract.functions.addPublisher(Web3.to_checksum_address(publisher), name, domain)
        return _transact(self.w3, self.abi, fn, admin_key, wait=True)

    def register(self, publisher_key: bytes | str, registration: Registration, wait: bool = False) -> SentTx:
        fn = self.contract.functions.register(registration.as_contract_tuple())
        return _transact(self.w3, self.abi, fn, publisher_key, wait=wait)

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

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        try:
            return dict(self.w3.eth.get_transaction_receipt(tx_hash))
        except TransactionNotFound:
            return None


def _fees(w3: Web3) -> dict[str, int]:
    base = w3.eth.get_block("latest").get("baseFeePerGas") or 0
    tip = 1_000_000_000 if base else 0
    if not base:
        return {"gasPrice": w3.eth.gas_price}
    return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}


def _transact(w3: Web3, abi: list[dict[str, Any]], fn: Any, key: bytes | str, wait: bool) -> SentTx:
    """Estimate (which surfaces a revert with its custom error), sign locally, send, optionally wait."""
    sender = Account.from_key(key)
    try:
        tx = fn.build_transaction(
            {
                "from": sender.address,
                "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
                "chainId": w3.eth.chain_id,
                **_fees(w3),
            }
        )
    except ContractLogicError as exc:
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

