"""Load for tests and benchmarks: many registrations sent to a local anvil as JSON-RPC batches.

The publisher's address is impersonated (``anvil_impersonateAccount``) so anvil signs natively: signing
in Python with eth-account costs about 1 ms a transaction and would dominate a 100,000-event load.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_abi import encode
from eth_account import Account
from web3 import Web3

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.chain.deployment import Deployment, ensure_deployment
from ledger.adapters.chain.node import AnvilNode
from ledger.config import ANVIL_TEST_ADMIN_KEY
from ledger.core.records import Registration
from ledger.runtime.wiring import contract_abi

WAIT_SECONDS = 120
REGISTRATION_TUPLE = "(bytes32,bytes32,bytes32,bytes32,bytes32)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalChain:
    """An anvil started for a test or benchmark, the contract deployed, and one funded publisher."""

    node: AnvilNode
    deployment: Deployment
    data_dir: Path
    publisher_key: bytes

    @property
    def abi(self) -> list[dict[str, Any]]:
        return contract_abi()

    @property
    def publisher(self) -> str:
        return Account.from_key(self.publisher_key).address

    @property
    def client(self) -> RegistryClient:
        return RegistryClient(connect(self.node.url), self.deployment.address, self.abi)

    def rpc(self, method: str, *params: object) -> Any:
        return connect(self.node.url).provider.make_request(method, list(params))  # type: ignore[arg-type]

    def head(self) -> int:
        return int(connect(self.node.url).eth.block_number)

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until the node has mined every transaction it accepted: anvil answers eth_sendRawTransaction before
        it mines the block, so an indexer reading right after a send may not see it yet (seen under load)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.rpc("txpool_status").get("result", {})
            if int(str(status.get("pending", "0x0")), 16) == 0:
                return
            time.sleep(0.02)
        raise TimeoutError(f"transactions still pending after {timeout} s")


def start_local_chain(data_dir: Path, extra_args: list[str] | None = None) -> LocalChain:
    node = AnvilNode(data_dir / "chain", free_port(), extra_args=extra_args or [])
    node.start()
    try:
        w3 = connect(node.url)
        artifact = load_artifact()
        deployment = ensure_deployment(
            w3, data_dir / "deployment.json", artifact, ANVIL_TEST_ADMIN_KEY, node.url, local_node=node.name
        )
        publisher = Account.create()
        client = RegistryClient(w3, deployment.address, artifact["abi"])
        client.add_publisher(ANVIL_TEST_ADMIN_KEY, publisher.address, "Wire Service", "wire.example")
        client.fund(ANVIL_TEST_ADMIN_KEY, publisher.address, 10**21)
    except BaseException:
        node.stop()
        raise
    return LocalChain(node, deployment, data_dir, bytes(publisher.key))


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
