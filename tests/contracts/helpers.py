"""Shared helpers for the contract tests: deployment, revert decoding, sample registrations, a real anvil node."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract

from ledger.adapters.chain.errors import decode_custom_error, revert_data
from ledger.core.records import Registration
from ledger.core.types import ZERO_HASH

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL_BINARY = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def deploy_registry(w3: Web3, artifact: dict[str, Any], deployer: str) -> Contract:
    """Deploy MediaRegistry from the artifact; ``deployer`` becomes the owner (admin)."""
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor().transact({"from": deployer})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def sample_hash(label: str) -> str:
    """A deterministic 32-byte hash (0x hex) named by ``label``."""
    return "0x" + hashlib.sha256(label.encode()).hexdigest()


def sample_registration(label: str, parent: str = ZERO_HASH) -> Registration:
    return Registration(
        content_hash=sample_hash(f"{label}/content"),
        pixel_hash=sample_hash(f"{label}/pixels"),
        pdq_hash=sample_hash(f"{label}/pdq"),
        manifest_hash=sample_hash(f"{label}/manifest"),
        parent=parent,
    )


def hexstr(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def reverted_with(abi: list[dict[str, Any]], action: Callable[[], Any]) -> tuple[str, tuple[Any, ...]]:
    """Run ``action``, which must revert; return the decoded custom error ``(name, args)``."""
    try:
        action()
    except Exception as exc:  # eth-tester's TransactionFailed, web3's ContractLogicError, ...
        data = revert_data(exc)
        if data is None:
            raise AssertionError(f"reverted without decodable data: {exc!r}") from exc
        return decode_custom_error(abi, data)
    raise AssertionError("expected a revert, the call succeeded")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def anvil_node(startup_timeout: float = 15.0) -> Iterator[Web3]:
    """Start the real anvil binary on a free loopback port, yield a connected Web3, terminate it afterwards.

    The binary itself is started (not the ``node_modules/.bin/anvil`` node wrapper) so that its PID is the one
    we stop. ``--prune-history 64`` keeps anvil from filling ``~/.foundry/anvil/tmp`` (see TOOLCHAIN.md).
    """
    port = free_port()
    proc = subprocess.Popen(
        [str(ANVIL_BINARY), "--port", str(port), "--host", "127.0.0.1", "--silent", "--prune-history", "64"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 10}))
        deadline = time.monotonic() + startup_timeout
        while not w3.is_connected():
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"anvil exited with {proc.returncode}: {err}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"anvil did not answer on port {port} within {startup_timeout} s")
            time.sleep(0.05)
        yield w3
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


# ------------------------------------------------------------------------------------------ test harnesses

HARNESS_UNITS = ("contracts/test/TestMediaRegistry.sol", "contracts/test/TestERC1271Wallet.sol")


@functools.cache
def harness_artifacts() -> dict[str, dict[str, Any]]:
    """Compile the app sources plus the test harnesses (never into the committed artifact).

    Returns ``{"TestMediaRegistry": {"abi", "bytecode"}, "TestERC1271Wallet": {...}, "MediaRegistry": {...}}``.
    """
    from ledger.adapters.chain.compile import compile_with_harnesses

    return compile_with_harnesses(REPO_ROOT, HARNESS_UNITS)


def eth_tester_keys(w3: Web3) -> list[str]:
    """The private keys (0x hex) of an eth-tester chain's funded accounts, in ``w3.eth.accounts`` order."""
    keys = w3.provider.ethereum_tester.backend.account_keys  # type: ignore[attr-defined]
    return [k.to_hex() for k in keys]
