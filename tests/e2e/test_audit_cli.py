"""The auditor's commands against the running service's chain: they need only the RPC URL and the contract
(plus the database for `audit mirror`), and they fail when a claim does not hold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import PUBLISHER_NAME, ROOT, Published


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledger.cli.main", *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def chain_of(published: Published) -> list[str]:
    deployment = json.loads((published.service.data_dir / "deployment.json").read_text())
    return ["--rpc-url", deployment["rpc_url"], "--contract", deployment["address"]]


def test_audit_receipt_holds_and_a_tampered_one_fails(published: Published, tmp_path: Path) -> None:
    receipt = httpx.get(f"{published.service.url}/v1/media/{published.content_hash}",
                        headers={"Authorization": f"Bearer {published.api_key}"}).json()  # fmt: skip
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(receipt))
    rpc = chain_of(published)[:2]
    result = run("audit", "receipt", str(good), *rpc, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c["ok"] for c in json.loads(result.stdout)["checks"]}
    assert checks["signature"] and checks["record"] and checks["Registered event"] and checks["chain"]

    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**receipt, "pdq_hash": "0x" + "00" * 32}))
    result = run("audit", "receipt", str(tampered), *rpc, "--json")
    assert result.returncode == 1
    failed = {c["name"] for c in json.loads(result.stdout)["checks"] if not c["ok"]}
    assert {"signature", "Registered event"} <= failed


def test_audit_file_and_publishers(published: Published, pdq_fixtures: Path, c2pa_fixtures: Path) -> None:
    found = run("audit", "file", str(published.image), *chain_of(published), "--json")
    assert found.returncode == 0, found.stderr
    [record] = json.loads(found.stdout)["records"]
    assert record["contentHash"] == published.content_hash
    missing = run("audit", "file", str(pdq_fixtures / "reg-test-input" / "labelme-subset" / "q2821.jpg"), *chain_of(published))
    assert missing.returncode == 1 and "No registration" in missing.stdout
    assert "Content Credentials (C2PA): none." in missing.stdout

    tampered = run("audit", "file", str(c2pa_fixtures / "adobe-20220124-E-sig-CA.jpg"), *chain_of(published))
    assert tampered.returncode == 1
    assert ("Content Credentials (C2PA): invalid, signed by C2PA Signer (C2PA Test Signing Cert) with "
            "make_test_xxxxxx/0.16.1 c2pa-rs/0.16.1; failing checks: claimSignature.mismatch, "
            "signingCredential.untrusted.") in tampered.stdout  # fmt: skip
    as_json = json.loads(run("audit", "file", str(c2pa_fixtures / "adobe-20220124-CA.jpg"), *chain_of(published),
                             "--json").stdout)  # fmt: skip
    assert as_json["records"] == [] and as_json["content_credentials"]["state"] == "valid"

    publishers = run("audit", "publishers", *chain_of(published), "--json")
    assert publishers.returncode == 0, publishers.stderr
    names = {p["name"]: p["active"] for p in json.loads(publishers.stdout)["publishers"]}
    assert names[PUBLISHER_NAME] is True


def test_audit_mirror_and_reindex(published: Published) -> None:
    database = f"sqlite:///{published.service.data_dir / 'ledger.sqlite3'}"
    audit = run("audit", "mirror", "--database-url", database, *chain_of(published), "--json")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    report = json.loads(audit.stdout)
    assert report["equal"] and {t["table"] for t in report["tables"]} == {"chain_events", "records", "publishers"}

    rebuilt = run("reindex", "--data-dir", str(published.service.data_dir))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Mirror rebuilt" in rebuilt.stdout
    assert run("audit", "mirror", "--database-url", database, *chain_of(published)).returncode == 0
    body = httpx.get(f"{published.service.url}/v1/verify/{published.content_hash}").json()
    assert body["verdict"] == "original"
