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
from typer.testing import CliRunner

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.bytecode import same_code
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.chain.node import AnvilNode, GanacheNode, node_binary
from ledger.cli.main import app
from ledger.config import ANVIL_TEST_ADMIN_KEY, ANVIL_TEST_RELAYER_KEY, Settings
from ledger.errors import LedgerError
from ledger.runtime.supervisor import prepare
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


def refused(data_dir: Path, env: dict[str, str] | None = None, deploy: bool = False, **settings: object) -> str:
    """What `provenance up` would say when it refuses to start: its preparation (node, deployment) run in this
    process, which is much faster than a subprocess importing everything; returns the error's message."""
    umask = os.umask(0o022)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in (env or {}).items():
                patch.setenv(name, value)
            prepare(Settings(data_dir=data_dir, chain_port=free_port(), **settings), deploy=deploy)  # type: ignore[arg-type]
    except LedgerError as exc:
        return exc.message
    finally:
        os.umask(umask)
    raise AssertionError("the service would have started")


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
        assert "keeps its chain in memory only" in service.log()
        before = json.loads((service.data_dir / "deployment.json").read_text())
        assert service.stop() == 0

        # The chain went with the node: the service refuses to start and says what happened and what to do.
        message = refused(service.data_dir, chain="hardhat")
        assert "keeps no state" in message and before["address"] in message and "--redeploy" in message

        service.start("--chain", "hardhat", "--redeploy")
        after = json.loads((service.data_dir / "deployment.json").read_text())
        # A fresh Hardhat chain gives the same deployer nonce, hence the same address: what tells the new contract
        # apart is the record moved aside and the mirror emptied.
        assert json.loads((service.data_dir / "deployment.json.old").read_text()) == before
        assert "the mirror of the previous one was emptied, 1 publisher(s) added to the new one; 1 registration" in service.log()
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
            "PROVENANCE_ADMIN_KEYSTORE_PASSWORD": TEST_ADMIN_KEYSTORE_PASSWORD,
            "PROVENANCE_RELAYER_PRIVATE_KEY": ANVIL_TEST_RELAYER_KEY}  # a funded development account of that anvil  # fmt: skip
    service = RunningService(tmp_path / "var", extra_env=keys)

    # Neither --contract nor --deploy: nothing is deployed behind the user's back.
    assert "--deploy" in refused(service.data_dir, keys, rpc_url=url)
    try:
        service.start("--rpc-url", url, "--deploy")
        deployment = json.loads((service.data_dir / "deployment.json").read_text())
        assert deployment["local_node"] is None
        # The admin key reached no service: not the API's, the indexer's or the anchorer's environment.
        for name in ("api", "indexer", "anchorer"):
            [pid] = child_pids(service.log(), name)
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert b"PROVENANCE_ADMIN_" not in environ and ANVIL_TEST_ADMIN_KEY[2:].encode() not in environ
            assert (ANVIL_TEST_RELAYER_KEY[2:].encode() in environ) == (name == "anchorer")  # the relayer's only there
            assert b"PROVENANCE_CONFIRMATIONS=3" in environ
        api_key = service.add_publisher("Remote Daily", "remote.example")
        client = RegistryClient(connect(url), deployment["address"], load_artifact()["abi"])
        [added] = client.contract.events.PublisherAdded().get_logs(from_block=deployment["block"])
        # A chain the service did not start: nobody funds the publisher; the relayer pays for its registrations.
        assert connect(url).eth.get_balance(added["args"]["publisher"]) == 0

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
    _, adopted, _ = prepare(Settings(data_dir=tmp_path / "adopter", rpc_url=url, contract=deployment["address"]))
    assert (adopted.address, adopted.chain_id, adopted.block) == (deployment["address"], 31337, deployment["block"])
    # ... but only on the chain the data directory follows: another chain with the same contract at the same address
    # (same deployer, same nonce) is refused.
    elsewhere = AnvilNode(tmp_path / "elsewhere", free_port(), extra_args=["--chain-id", "999"])
    elsewhere.start()
    try:
        twin, _ = RegistryClient.deploy(connect(elsewhere.url), load_artifact(), ANVIL_TEST_ADMIN_KEY)
        assert twin.address == deployment["address"]
        message = refused(tmp_path / "adopter", rpc_url=elsewhere.url, contract=twin.address)
        assert "follows chain 31337" in message and "is chain 999" in message
    finally:
        elsewhere.stop()
    # A contract that is not the registry (here: code of another build) is refused before anything is recorded.
    other, _ = RegistryClient.deploy(connect(url), load_artifact(target="shanghai"), ANVIL_TEST_ADMIN_KEY)
    assert "not this checkout's MediaRegistry" in refused(tmp_path / "stranger", rpc_url=url, contract=other.address)
    assert not (tmp_path / "stranger" / "deployment.json").exists()
    # The development admin key is not used for a chain the service did not start, even with id 31337.
    assert "PROVENANCE_ADMIN_KEYSTORE" in refused(tmp_path / "keyless", rpc_url=url, deploy=True)


def separate_anvil_rpc(url: str, method: str) -> None:
    assert "result" in httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).json()


def test_cli_refuses_mixed_chain_options(tmp_path: Path) -> None:
    for args in (["--chain", "hardhat", "--rpc-url", "http://127.0.0.1:1"], ["--chain", "besu"], ["--deploy"],
                 ["--rpc-url", "http://127.0.0.1:1", "--deploy", "--contract", "0x" + "11" * 20]):  # fmt: skip
        result = CliRunner().invoke(app, ["up", "--data-dir", str(tmp_path), *args])
        assert result.exit_code == 2, (args, result.output)


def test_hardhat_deploy_script_writes_the_record_the_service_uses(tmp_path: Path) -> None:
    """scripts/hardhat/deploy.js deploys the committed artifact with Hardhat (here on a Ganache the test started: the
    network's evmTarget picks the shanghai build) and writes the deployment record; `provenance up --rpc-url` on that
    data directory then uses the contract as its own: no deployment and no admin key needed."""
    ganache = GanacheNode(tmp_path / "ganache", free_port())
    ganache.start()
    try:
        env = {**os.environ, "PROVENANCE_DATA_DIR": str(tmp_path / "var"), "PROVENANCE_CHAIN_PORT": str(ganache.port)}
        result = subprocess.run(
            [str(node_binary()), "node_modules/hardhat/dist/src/cli.js", "run", "--no-compile", "--network", "ganache",
             "scripts/hardhat/deploy.js"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        record = json.loads((tmp_path / "var" / "deployment.json").read_text())
        assert record["evm_target"] == "shanghai" and record["chain_id"] == 1337 and record["local_node"] is None
        assert stat.S_IMODE((tmp_path / "var" / "deployment.json").stat().st_mode) == 0o600
        umask = os.umask(0o022)
        try:
            _, used, _ = prepare(Settings(data_dir=tmp_path / "var", rpc_url=ganache.url, evm_target="shanghai"))
        finally:
            os.umask(umask)
        assert used.address.lower() == record["address"] and used.tx_hash == record["tx_hash"]
        code = bytes(connect(ganache.url).eth.get_code(used.address))
        assert same_code(code, bytes.fromhex(load_artifact(target="shanghai")["deployedBytecode"][2:]))
    finally:
        ganache.stop()
