"""Issue 12, bulk: `provenance register DIR --url --api-key-file` against a running service: progress, bounded
concurrency, one JSON line per file, a summary, a failure that the user sees, and resume by hash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT, Published, wait_for
from tests.e2e.test_newsroom_custody import picture


def run_register(folder: Path, url: str, key_file: Path, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "register", str(folder), "--url", url, "--api-key-file", str(key_file),
         "--caption", "Archive photo", "--credit", "Archive desk", "--concurrency", "4", "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_register_a_folder_then_resume(published: Published, tmp_path: Path) -> None:
    service = published.service
    api_key = service.add_publisher("Archive Gazette", "archive.example")
    key_file = tmp_path / "api-key"
    key_file.write_text(api_key + "\n")
    folder = tmp_path / "archive"
    (folder / "2019").mkdir(parents=True)
    images = [picture(100 + i, folder / ("2019" if i % 2 else "") / f"img{i:03d}.jpg") for i in range(24)]
    (folder / "img000.jpg.json").write_text(json.dumps({"caption": "Harbour at dawn, 2019", "taken_at": "2019-05-01"}))
    (folder / "broken.jpg").write_bytes(b"not a picture")
    (folder / "notes.txt").write_text("not an image file, not picked up")
    report = tmp_path / "report.jsonl"

    first = run_register(folder, service.url, key_file, report)
    assert first.returncode == 1, first.stderr  # a failed file makes the run fail, visibly
    assert api_key not in first.stderr + first.stdout
    summary = json.loads(first.stdout.strip().splitlines()[-1])["summary"]
    assert summary == {"files": 25, "accepted": 24, "skipped": 0, "failed": 1}
    assert "failed" in first.stderr and "broken.jpg" in first.stderr and "not_an_image" in first.stderr
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(lines) == 25 and {line["file"] for line in lines} == {str(p) for p in [*images, folder / "broken.jpg"]}
    [broken] = [line for line in lines if line["result"] == "failed"]
    assert broken["http_status"] == 422 and broken["error_code"] == "not_an_image"
    assert all(line["uid"] and line["sha256"] for line in lines if line["result"] == "accepted")

    again = run_register(folder, service.url, key_file, report)
    summary = json.loads(again.stdout.strip().splitlines()[-1])["summary"]
    assert summary == {"files": 25, "accepted": 0, "skipped": 24, "failed": 1}  # resumed: nothing uploaded twice
    assert len(report.read_text().splitlines()) == 50  # the report is appended to

    sha = next(line["sha256"] for line in lines if line["file"] == str(images[0]))

    def verified() -> dict | None:  # type: ignore[type-arg]
        body = httpx.get(f"{service.url}/v1/verify/{sha}").json()
        return body if body["verdict"] == "original" else None

    match = wait_for(verified, timeout=90)["matches"][0]
    assert match["caption"] == "Harbour at dawn, 2019" and match["credit"] == "Archive desk"  # the sidecar's caption
    assert match["taken_at"] == "2019-05-01T00:00:00Z"


def test_register_a_newsroom_signed_folder(published: Published, tmp_path: Path) -> None:
    """Newsroom-held keys: `provenance sign` writes NAME.signed.json beside each image; `provenance register` sends
    each image with its signed registration (a batch a request), and a signed document given without its image
    alone (fingerprints only). Run again, everything is skipped."""
    from tests.e2e.test_newsroom_custody import keystore, receipt, sign

    service = published.service
    chain = httpx.get(f"{service.url}/v1/chain").json()
    address, key, password = keystore(tmp_path, "bulk-newsroom")
    added = service.cli("publisher", "add", "Bulk Newsroom", "--domain", "bulk-newsroom.example", "--address", address)
    assert added.returncode == 0, added.stderr
    key_file = tmp_path / "api-key"
    key_file.write_text(added.stdout.strip().splitlines()[-1])
    folder = tmp_path / "signed-archive"
    folder.mkdir()
    images = [picture(300 + i, folder / f"s{i}.jpg") for i in range(5)]
    bundles = sign(images, key, password, chain, 0, folder)  # beside the images
    alone = tmp_path / "elsewhere"
    alone.mkdir()
    (lonely,) = sign([picture(399, tmp_path / "lonely.jpg")], key, password, chain, 5, alone)  # its image not beside

    report = tmp_path / "signed-report.jsonl"
    first = run_register_paths([folder, alone / "lonely.jpg.signed.json"], service.url, key_file, report)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.strip().splitlines()[-1])["summary"] == {"files": 6, "accepted": 6, "skipped": 0,
                                                                              "failed": 0}  # fmt: skip
    for bundle in [*bundles, lonely]:
        done = wait_for(lambda b=bundle: (r := receipt(service, key_file.read_text(), b["manifest"]["content_hash"]))
                        ["status"] == "anchored" and r, timeout=90)  # fmt: skip
        assert done["signature"] == bundle["signature"] and done["nonce"] == bundle["nonce"]  # relayed as signed
    again = run_register_paths([folder, alone / "lonely.jpg.signed.json"], service.url, key_file, report)
    assert json.loads(again.stdout.strip().splitlines()[-1])["summary"] == {"files": 6, "accepted": 0, "skipped": 6,
                                                                              "failed": 0}  # fmt: skip


def run_register_paths(paths: list[Path], url: str, key_file: Path, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "register", *map(str, paths), "--url", url, "--api-key-file",
         str(key_file), "--batch-size", "4", "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
