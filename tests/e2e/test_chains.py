"""The end-to-end path on each local node `provenance up` can start (Hardhat node and Ganache here; anvil is the
session service of test_end_to_end.py and test_audit_cli.py), and once on a chain the test started itself and
passed by --rpc-url: register over HTTP, anchored, mirrored, verified, and `provenance audit mirror` finds the
mirror equal to the chain. Then what a restart does on each: Ganache keeps everything; Hardhat keeps nothing,
and the service says so instead of showing records that no longer exist."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.bytecode import same_code
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.chain.node import AnvilNode
from ledger.config import ANVIL_TEST_ADMIN_KEY
from scripts.loadgen import free_port
from tests.conftest import ROOT, RunningService, wait_for

TEST_ADMIN_KEYSTORE_PASSWORD = "test-admin-keystore-password"  # a TEST password for the TEST admin key


def register(service: RunningService, api_key: str, image: Path, caption: str) -> str:
    accepted = httpx.post(
        f"{service.url}/v1/media", headers={"Authorization": f"Bearer {api_key}"},
        files={"file": (image.name, image.read_bytes())}, data={"caption": caption, "credit": "Chain Tests"},
        timeout=30,
    )  # fmt: skip
    assert accepted.status_code == 202, accepted.text
    return str(accepted.json()["content_hash"])


def verdict(service: RunningService, content_hash: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(f"{service.url}/v1/verify/{content_hash}", timeout=10).json()  # type: ignore[no-any-return]


def audit_mirror(service: RunningService) -> dict:  # type: ignore[type-arg]
    deployment = json.loads((service.data_dir / "deployment.json").read_text())
    result = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "audit", "mirror", "--database-url",
         f"sqlite:///{service.data_dir / 'ledger.sqlite3'}", "--rpc-url", deployment["rpc_url"],
         "--contract", deployment["address"], "--json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def failed_start(service: RunningService, *args: str) -> str:
    try:
        service.start(*args, timeout=30)
    except RuntimeError as exc:
        return str(exc)
    service.stop()
    raise AssertionError("the service started")


def start_and_publish(service: RunningService, image: Path, *args: str) -> tuple[str, str, dict]:  # type: ignore[type-arg]
    service.start(*args)
    api_key = service.add_publisher("Chain Tests", "chains.example")
    content_hash = register(service, api_key, image, "A bridge")
    body = wait_for(lambda: (v := verdict(service, content_hash))["verdict"] == "original" and v, timeout=60)
    return api_key, content_hash, body


def test_ganache_end_to_end_and_restart_keeps_everything(tmp_path: Path, pdq_fixtures: Path) -> None:
    service = RunningService(tmp_path / "var")
    try:
        _, content_hash, body = start_and_publish(service, pdq_fixtures / "bridge-mods" / "aaa-orig.jpg", "--chain", "ganache")
        assert body["matches"][0]["chain_id"] == 1337
        assert body["development_chain"] is True and body["chain_warning"].startswith("development chain")
        assert audit_mirror(service)["equal"]
        deployment = json.loads((service.data_dir / "deployment.json").read_text())
        assert deployment["local_node"] == "ganache" and deployment["evm_target"] == "shanghai"
        assert (service.data_dir / "chain" / "ganache-db").is_dir()
        assert service.stop() == 0

        service.start("--chain", "ganache")
        again = verdict(service, content_hash)
        assert again["verdict"] == "original" and again["matches"][0]["tx_hash"] == body["matches"][0]["tx_hash"]
        assert httpx.get(f"{service.url}/v1/chain").json()["contract"] == deployment["address"]
    finally:
        service.stop()
    assert "Traceback" not in service.log(), service.log()


def test_hardhat_end_to_end_and_a_restart_that_lost_the_chain(tmp_path: Path, pdq_fixtures: Path) -> None:
    service = RunningService(tmp_path / "var")
    image = pdq_fixtures / "bridge-mods" / "aaa-orig.jpg"
    try:
        api_key, content_hash, body = start_and_publish(service, image, "--chain", "hardhat")
        assert body["matches"][0]["chain_id"] == 31337 and body["development_chain"] is True
        assert audit_mirror(service)["equal"]
        assert "keeps its chain in memory only" in service.log()
        before = json.loads((service.data_dir / "deployment.json").read_text())
        assert service.stop() == 0

        # The chain went with the node: the service refuses to start and says what happened and what to do.
        message = failed_start(service, "--chain", "hardhat")
        assert "keeps no state" in message and before["address"] in message and "--redeploy" in message

        service.start("--chain", "hardhat", "--redeploy")
        after = json.loads((service.data_dir / "deployment.json").read_text())
        # A fresh Hardhat chain gives the same deployer nonce, hence the same address: what tells the new contract
        # apart is the record moved aside and the mirror emptied.
        assert json.loads((service.data_dir / "deployment.json.old").read_text()) == before
        assert "the mirror of the previous one was emptied, 1 publisher(s) added" in service.log()
        # The old record is not shown as if it were on the new chain; the outbox anchors the image again, on the
        # new contract, by the same publisher (added to the new contract by --redeploy).
        again = wait_for(lambda: (v := verdict(service, content_hash))["verdict"] == "original" and v, timeout=60)
        assert again["matches"][0]["contract"] == after["address"]
        assert again["matches"][0]["publisher"]["name"] == "Chain Tests"
        second = register(service, api_key, pdq_fixtures / "bridge-mods" / "high-contrast.jpg", "Contrast")
        wait_for(lambda: verdict(service, second)["verdict"] == "original", timeout=60)
        assert audit_mirror(service)["equal"]
    finally:
        service.stop()
    assert "Traceback" not in service.log(), service.log()


@pytest.fixture
def separate_anvil(tmp_path: Path) -> Iterator[AnvilNode]:
    """A chain the service does not start: the test runs it, as an operator would run their own node."""
    node = AnvilNode(tmp_path / "operator-node", free_port())
    node.start()
    try:
        yield node
    finally:
        node.stop()


def admin_keystore(path: Path) -> Path:
    path.write_text(json.dumps(Account.encrypt(ANVIL_TEST_ADMIN_KEY, TEST_ADMIN_KEYSTORE_PASSWORD)))
    path.chmod(0o600)
    return path


def child_pids(log: str, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"started {name} \(pid (\d+)\)", log)]


def test_a_chain_by_url_deploy_adopt_confirmations_and_keys(
    tmp_path: Path, pdq_fixtures: Path, separate_anvil: AnvilNode
) -> None:
    url = separate_anvil.url
    keys = {"PROVENANCE_ADMIN_KEYSTORE": str(admin_keystore(tmp_path / "admin.json")),
            "PROVENANCE_ADMIN_KEYSTORE_PASSWORD": TEST_ADMIN_KEYSTORE_PASSWORD}  # fmt: skip
    service = RunningService(tmp_path / "var", extra_env=keys)

    # Neither --contract nor --deploy: nothing is deployed behind the user's back.
    assert "--deploy" in failed_start(service, "--rpc-url", url)
    try:
        service.start("--rpc-url", url, "--deploy")
        deployment = json.loads((service.data_dir / "deployment.json").read_text())
        assert deployment["local_node"] is None
        # The admin key reached no service: not the API's, the indexer's or the anchorer's environment.
        for name in ("api", "indexer", "anchorer"):
            [pid] = child_pids(service.log(), name)
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert b"PROVENANCE_ADMIN_" not in environ and ANVIL_TEST_ADMIN_KEY[2:].encode() not in environ
            assert b"PROVENANCE_CONFIRMATIONS=3" in environ
        api_key = service.add_publisher("Remote Daily", "remote.example")
        client = RegistryClient(connect(url), deployment["address"], load_artifact()["abi"])
        [added] = client.contract.events.PublisherAdded().get_logs(from_block=deployment["block"])
        # A chain the service did not start: nobody funds the publisher but its operator.
        assert connect(url).eth.get_balance(added["args"]["publisher"]) == 0
        client.fund(ANVIL_TEST_ADMIN_KEY, added["args"]["publisher"], 10**19)

        content_hash = register(service, api_key, pdq_fixtures / "bridge-mods" / "aaa-orig.jpg", "Remote bridge")
        status_url = f"{service.url}/v1/media/{content_hash}"
        auth = {"Authorization": f"Bearer {api_key}"}
        wait_for(lambda: httpx.get(status_url, headers=auth).json()["status"] == "sent", timeout=60)
        mined = connect(url).eth.block_number
        # Three confirmations by default: mined but not yet mirrored until three more blocks exist.
        wait_for(lambda: httpx.get(f"{service.url}/v1/chain").json()["head_block"] == mined, timeout=30)
        assert verdict(service, content_hash)["verdict"] == "unknown"
        for _ in range(3):
            separate_anvil_rpc(url, "evm_mine")
        body = wait_for(lambda: (v := verdict(service, content_hash))["verdict"] == "original" and v, timeout=60)
        assert body["development_chain"] is True  # chain id 31337, even though the service did not start it
        assert audit_mirror(service)["equal"]
        for path in [service.data_dir / "deployment.json", service.data_dir / "ledger.sqlite3",
                     *(service.data_dir / "keystore").glob("*.json")]:  # fmt: skip
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(service.data_dir.stat().st_mode) == 0o700
    finally:
        service.stop()
    assert "Traceback" not in service.log(), service.log()

    # Another data directory adopts the deployed registry: its code is the checkout's (immutables aside).
    code = bytes(connect(url).eth.get_code(deployment["address"]))
    assert code != bytes.fromhex(load_artifact()["deployedBytecode"][2:]) and same_code(
        code, bytes.fromhex(load_artifact()["deployedBytecode"][2:])
    )
    auditor = RunningService(tmp_path / "adopter")
    try:
        auditor.start("--rpc-url", url, "--contract", deployment["address"])
        wait_for(lambda: verdict(auditor, content_hash)["verdict"] == "original", timeout=60)
    finally:
        auditor.stop()
    # A contract that is not the registry (here: code of another build) is refused before anything is recorded.
    other, _ = RegistryClient.deploy(connect(url), load_artifact(target="shanghai"), ANVIL_TEST_ADMIN_KEY)
    stranger = RunningService(tmp_path / "stranger")
    message = failed_start(stranger, "--rpc-url", url, "--contract", other.address)
    assert "not this checkout's MediaRegistry" in message
    assert not (stranger.data_dir / "deployment.json").exists()
    # The development admin key is not used for a chain the service did not start, even with id 31337.
    keyless = RunningService(tmp_path / "keyless")
    assert "PROVENANCE_ADMIN_KEYSTORE" in failed_start(keyless, "--rpc-url", url, "--deploy")


def separate_anvil_rpc(url: str, method: str) -> None:
    assert "result" in httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).json()


def test_cli_refuses_mixed_chain_options(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")}
    for args in (["--chain", "hardhat", "--rpc-url", "http://127.0.0.1:1"], ["--chain", "besu"], ["--deploy"]):
        result = subprocess.run([sys.executable, "-m", "ledger.cli.main", "up", "--data-dir", str(tmp_path), *args],
                                capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)  # fmt: skip
        assert result.returncode == 2, (args, result.stderr)
