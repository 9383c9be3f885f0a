"""Many registrations quickly: pre-signed transactions sent as JSON-RPC batches (about 5,000 tx/s on anvil)."""

from __future__ import annotations

from typing import Any

import httpx
from eth_account import Account
from web3 import Web3

from ledger.records import Registration

WAIT_SECONDS = 120


def registration(i: int, salt: int = 0) -> Registration:
    def h(tag: int) -> str:
        return "0x" + bytes([tag]).hex() * 15 + salt.to_bytes(1, "big").hex() + i.to_bytes(16, "big").hex()

    return Registration(h(1), h(2), h(3), h(4))


def flood(rpc_url: str, contract_address: str, abi: list[dict[str, Any]], key: bytes, count: int, salt: int = 0,
          start: int = 0, batch: int = 400) -> list[str]:  # fmt: skip
    """Send ``count`` register transactions from ``key``; returns their hashes once all are mined."""
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    contract = w3.eth.contract(address=Web3.to_checksum_address(contract_address), abi=abi)
    sender = Account.from_key(key)
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    chain_id = w3.eth.chain_id
    raw = []
    for offset in range(count):
        data = contract.encode_abi("register", args=[registration(start + offset, salt).as_contract_tuple()])
        tx = {"to": contract.address, "data": data, "nonce": nonce + offset, "chainId": chain_id, "gas": 120_000,
              "maxFeePerGas": 100 * 10**9, "maxPriorityFeePerGas": 10**9}  # fmt: skip
        raw.append("0x" + bytes(sender.sign_transaction(tx).raw_transaction).hex())
    hashes: list[str] = []
    # Automine with a big pool of pending transactions from one sender slows anvil to a crawl: mine by hand,
    # one block per batch (400 registrations fit in the 30M gas limit).
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    with httpx.Client(timeout=120) as client:
        for first in range(0, len(raw), batch):
            body = [{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [tx]}
                    for i, tx in enumerate(raw[first : first + batch])]  # fmt: skip
            for answer in sorted(client.post(rpc_url, json=body).json(), key=lambda a: a["id"]):
                if "error" in answer:
                    raise RuntimeError(f"transaction refused: {answer['error']}")
                hashes.append(answer["result"])
            w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    while int(w3.provider.make_request("txpool_status", [])["result"]["pending"], 16):  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    w3.eth.wait_for_transaction_receipt(hashes[-1], timeout=WAIT_SECONDS, poll_latency=0.1)
    return hashes
