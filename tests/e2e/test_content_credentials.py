"""Issue 13 end to end on the running service: a TEST C2PA signer from `provenance c2pa test-signer`, bulk
registration with `--c2pa` (the signed file written beside each source, resume by it), the signed file found as
`original`, read back valid with the TEST CA trusted by `provenance audit file`, and a stripped copy answered with
what the original carried."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.c2pa.jpeg import strip_c2pa
from tests.conftest import ROOT, Published, wait_for
from tests.e2e.test_audit_cli import chain_of
from tests.e2e.test_newsroom_custody import picture


def run_register(folder: Path, url: str, key_file: Path, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "register", str(folder), "--url", url, "--api-key-file", str(key_file),
         "--caption", "Flood in the valley", "--credit", "Signed Daily", "--c2pa", "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_signed_at_registration_then_stripped(published: Published, tmp_path: Path) -> None:
    service = published.service
    api_key = service.add_publisher("Signed Daily", "signed.example")
    issued = service.cli("c2pa", "test-signer", "signed.example")
    assert issued.returncode == 0, issued.stderr
    test_ca = service.data_dir.resolve() / "c2pa" / "test-ca" / "test-ca.pem"
    assert test_ca.is_file() and "TEST" in issued.stdout
    key_file = tmp_path / "api-key"
    key_file.write_text(api_key + "\n")
    folder = tmp_path / "desk"
    folder.mkdir()
    sources = [picture(700 + i, folder / f"flood{i}.jpg") for i in range(2)]
    report = tmp_path / "report.jsonl"

    first = run_register(folder, service.url, key_file, report)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1])["summary"] == {"files": 2, "accepted": 2, "skipped": 0,
                                                                            "failed": 0}  # fmt: skip
    signed = [source.with_name(f"{source.stem}.c2pa.jpg") for source in sources]
    lines = {line["file"]: line for line in map(json.loads, report.read_text().splitlines())}
    for source, path in zip(sources, signed, strict=True):
        assert lines[str(source)]["published_file"] == str(path)
        assert lines[str(source)]["sha256"] == "0x" + hashlib.sha256(path.read_bytes()).hexdigest()
    again = run_register(folder, service.url, key_file, report)  # resume: by the signed files, nothing signed twice
    assert json.loads(again.stdout.strip().splitlines()[-1])["summary"]["skipped"] == 2

    sha = lines[str(sources[0])]["sha256"]
    wait_for(lambda: httpx.get(f"{service.url}/v1/verify/{sha}").json()["verdict"] == "original", timeout=90)

    audit = subprocess.run([sys.executable, "-m", "ledger.cli.main", "audit", "file", str(signed[0]), *chain_of(published),
                            "--c2pa-trust", str(test_ca), "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert audit.returncode == 0, audit.stderr
    found = json.loads(audit.stdout)
    assert found["content_credentials"]["state"] == "trusted" and found["content_credentials"]["failures"] == []
    registration = found["content_credentials"]["ledger_registration"]
    [record] = found["records"]
    assert registration["publisher"] == record["publisher"] and registration["contract"] == chain_of(published)[3]
    assert registration["ledger_url"] == service.url

    stripped = strip_c2pa(signed[0].read_bytes())
    answer = httpx.post(f"{service.url}/v1/verify", files={"file": ("copy.jpg", stripped)}, timeout=60).json()
    assert answer["verdict"] == "same_pixels" and answer["content_credentials"] is None
    note = answer["credentials_removed"]
    assert note["message"].startswith("Content Credentials were removed from this copy; the original carried them, "
                                      "signed by signed.example TEST signer (Signed Daily), and this ledger recorded "
                                      "it at ")  # fmt: skip
    assert note["uid"] == record["uid"]
