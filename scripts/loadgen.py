"""Load for tests and benchmarks: many registrations sent to a local anvil as JSON-RPC batches.

The publisher's address is impersonated (``anvil_impersonateAccount``) so anvil signs natively: signing
in Python with eth-account costs about 1 ms a transaction and would dominate a 100,000-event load.
"""

from __future__ import annotations

from typing import Any

import httpx
from eth_abi import encode
from web3 import Web3

from ledger.records import Registration

WAIT_SECONDS = 120
REGISTRATION_TUPLE = "(bytes32,bytes32,bytes32,bytes32,bytes32)"


def registration(i: int, salt: int = 0) -> Registration:
    def h(tag: int) -> str:
        return "0x" + bytes([tag]).hex() * 15 + salt.to_bytes(1, "big").hex() + i.to_bytes(16, "big").hex()

    return Registration(h(1), h(2), h(3), h(4))


def _call(client: httpx.Client, url: str, method: str, *params: Any) -> Any:
    answer = client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).json()
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def flood(rpc_url: str, contract_address: str, abi: list[dict[str, Any]], publisher: str, count: int, salt: int = 0,
          start: int = 0, batch: int = 250) -> int:  # fmt: skip
    """Send ``count`` register transactions from ``publisher`` (an address; anvil signs); returns the last block."""
    contract = Web3().eth.contract(address=Web3.to_checksum_address(contract_address), abi=abi)
    selector = contract.encode_abi("register", args=[registration(0).as_contract_tuple()])[:10]
    sender = Web3.to_checksum_address(publisher)
    with httpx.Client(timeout=120) as client:
        _call(client, rpc_url, "anvil_impersonateAccount", sender)
        # Automine with many pending transactions from one sender slows anvil to a crawl: mine by hand,
        # one block per batch. 250 registrations (~13M gas) stay under the 15M gas target, so the base fee does
        # not climb block after block.
        _call(client, rpc_url, "evm_setAutomine", False)
        nonce = int(_call(client, rpc_url, "eth_getTransactionCount", sender, "pending"), 16)
        try:
            for first in range(start, start + count, batch):
                body = []
                for i in range(first, min(start + count, first + batch)):
                    # eth_abi directly: web3's encode_abi re-validates the ABI on every call.
                    data = selector + encode([REGISTRATION_TUPLE], [registration(i, salt).as_contract_tuple()]).hex()
                    tx = {"from": sender, "to": contract.address, "data": data, "gas": hex(120_000),
                          "nonce": hex(nonce + i - start),
                          "maxFeePerGas": hex(100 * 10**9), "maxPriorityFeePerGas": hex(10**9)}  # fmt: skip
                    body.append({"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction", "params": [tx]})
                for answer in client.post(rpc_url, json=body).json():
                    if "error" in answer:
                        raise RuntimeError(f"transaction refused: {answer['error']}")
                _call(client, rpc_url, "evm_mine")
            while int(_call(client, rpc_url, "txpool_status")["pending"], 16):
                _call(client, rpc_url, "evm_mine")
        finally:
            _call(client, rpc_url, "evm_setAutomine", True)
            _call(client, rpc_url, "anvil_stopImpersonatingAccount", sender)
        return int(_call(client, rpc_url, "eth_blockNumber"), 16)
