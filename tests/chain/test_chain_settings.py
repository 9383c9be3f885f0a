"""Pure rules about chains: the code comparison before adopting a contract, which admin key is used where, the
default confirmations, and deployment records written before the chain choice existed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.bytecode import immutable_slots, same_code
from ledger.adapters.chain.deployment import Deployment
from ledger.config import ANVIL_TEST_ADMIN_KEY, REMOTE_CONFIRMATIONS, Settings
from ledger.errors import ConfigError

TEST_KEY = "0x" + "4b" * 32  # a TEST key, nothing holds funds with it


def test_code_comparison_masks_only_immutables() -> None:
    code = bytes.fromhex(load_artifact()["deployedBytecode"][2:])
    slots = immutable_slots(code)
    assert len(slots) >= 5  # EIP712 caches domain separator, chain id, own address, hashed name and version
    filled = bytearray(code)
    for n, slot in enumerate(slots):
        filled[slot : slot + 32] = (n + 1).to_bytes(32, "big")
    assert same_code(bytes(filled), code)
    changed = bytearray(filled)
    changed[len(code) // 2] ^= 0x01  # one byte of real code
    assert changed[len(code) // 2] != code[len(code) // 2]
    assert not same_code(bytes(changed), code)
    assert not same_code(code + b"\x00", code)
    assert not same_code(bytes.fromhex(load_artifact(target="shanghai")["deployedBytecode"][2:]), code)


def test_development_admin_key_only_for_a_node_the_service_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVENANCE_ADMIN_PRIVATE_KEY", raising=False)
    assert Settings().admin_key(started_node=True) == ANVIL_TEST_ADMIN_KEY
    with pytest.raises(ConfigError, match="PROVENANCE_ADMIN_KEYSTORE"):
        Settings().admin_key(started_node=False)  # even if that chain reports id 31337
    with pytest.raises(ConfigError):
        Settings(environment="production").admin_key(started_node=True)
    assert Settings(admin_private_key=TEST_KEY).admin_key(started_node=False) == TEST_KEY


def test_admin_key_from_an_encrypted_keystore(tmp_path: Path) -> None:
    keystore = tmp_path / "admin.json"
    keystore.write_text(json.dumps(Account.encrypt(TEST_KEY, "test-password-1")))
    password_file = tmp_path / "password"
    password_file.write_text("test-password-1\n")
    assert Settings(admin_keystore=keystore, admin_keystore_password_file=password_file).admin_key(False) == TEST_KEY
    with pytest.raises(ConfigError, match="cannot decrypt"):
        Settings(admin_keystore=keystore, admin_keystore_password="wrong-password").admin_key(False)
    with pytest.raises(ConfigError, match="needs its password"):
        Settings(admin_keystore=keystore).admin_key(False)


def test_confirmations_default_above_zero_on_a_chain_the_service_did_not_start() -> None:
    assert Settings().resolved_confirmations(started_node=True) == 0
    assert Settings().resolved_confirmations(started_node=False) == REMOTE_CONFIRMATIONS > 0
    assert Settings(confirmations=12).resolved_confirmations(started_node=True) == 12


def test_records_from_before_the_chain_choice(tmp_path: Path) -> None:
    record = {"chain_id": 31337, "address": "0x" + "11" * 20, "block": 1, "tx_hash": None, "artifact_digest": "0x00",
              "rpc_url": "http://127.0.0.1:8545", "deployed_at": "2026-11-28T00:00:00Z"}  # fmt: skip
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(record))
    assert Deployment.load(path).local_node == "anvil"  # `provenance up` started anvil then
    path.write_text(json.dumps({**record, "rpc_url": "https://rpc.example.org"}))
    assert Deployment.load(path).local_node is None and not Deployment.load(path).started_node
    Deployment.load(path).save(tmp_path / "saved.json")
    assert (tmp_path / "saved.json").stat().st_mode & 0o777 == 0o600
