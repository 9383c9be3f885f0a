"""Every C2PA test image in ../shared/fixtures/c2pa read through ``ledger.adapters.c2pa.reader``, against what the
fixtures say of it: the validation state and failing checks in the fixtures' README (c2pa-python 0.38.1, no trust
list) and, for files with a manifest, upstream's extracted manifest store (``expected/NAME/manifest_store.json``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ledger.adapters.c2pa.reader import NO_TRUST, CredentialReader
from ledger.core.content_credentials import UNREADABLE
from tests.c2pa.jpeg import corrupt_c2pa, strip_c2pa
from tests.conftest import C2PA


def expected_table(fixtures: Path) -> dict[str, tuple[str | None, list[str]]]:
    """file name -> (validation state or None for "no manifest", status codes), from the fixtures' README table."""
    rows: dict[str, tuple[str | None, list[str]]] = {}
    for line in (fixtures.parent / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"[\w.-]+\.jpe?g", cells[0]):
            state = None if cells[1] == "(no manifest)" else cells[1]
            rows[cells[0]] = (state, [c.strip() for c in cells[2].split(",")])
    return rows


FILES = sorted(p.name for p in C2PA.glob("*.jp*g")) if C2PA.is_dir() else []


def test_the_table_names_every_fixture_file(c2pa_fixtures: Path) -> None:
    table = expected_table(c2pa_fixtures)
    assert len(FILES) >= 26 and sorted(table) == FILES


@pytest.mark.parametrize("name", FILES)
def test_state_and_failing_checks_are_the_reference_readers(c2pa_fixtures: Path, name: str) -> None:
    state, codes = expected_table(c2pa_fixtures)[name]
    credentials = NO_TRUST.read((c2pa_fixtures / name).read_bytes(), "JPEG")
    if state is None:
        assert codes == ["C2paManifestNotFound"] and credentials is None
        return
    assert credentials is not None
    assert credentials.state == state.lower()
    assert credentials.failure_codes == sorted(codes)
    assert all(f.explanation for f in credentials.failures)


@pytest.mark.parametrize("name", [n for n in FILES if (C2PA / "expected" / Path(n).stem).is_dir()])
def test_summary_agrees_with_the_extracted_manifest_store(c2pa_fixtures: Path, name: str) -> None:
    store = json.loads((c2pa_fixtures / "expected" / Path(name).stem / "manifest_store.json").read_text())
    active = store["manifests"][store["active_manifest"]]
    credentials = NO_TRUST.read((c2pa_fixtures / name).read_bytes(), "JPEG")
    assert credentials is not None
    assert credentials.active_manifest == store["active_manifest"]
    assert credentials.manifests == len(store["manifests"])
    assert credentials.claim_generator == active["claim_generator"]
    assert credentials.title == active["title"] and credentials.format == active["format"]
    info = active["signature_info"]
    assert credentials.signer is not None and credentials.signer.issuer == info["issuer"]
    assert credentials.signer.serial_number == info.get("cert_serial_number")
    assert credentials.signed_at == info.get("time")
    assert [(i.title, i.relationship) for i in credentials.ingredients] == [
        (i["title"], i["relationship"]) for i in active.get("ingredients", [])]
    actions = [a["action"] for x in active.get("assertions", []) if x["label"].startswith("c2pa.actions")
               for a in x["data"]["actions"]]  # fmt: skip
    assert [a.action for a in credentials.actions] == actions


def test_stripped_and_corrupted_manifests(c2pa_fixtures: Path) -> None:
    data = (c2pa_fixtures / "adobe-20220124-CA.jpg").read_bytes()
    assert NO_TRUST.read(strip_c2pa(data), "JPEG") is None
    broken = NO_TRUST.read(corrupt_c2pa(data, offset=200), "JPEG")  # the JUMBF boxes themselves
    assert broken is not None and broken.state == "invalid" and broken.failure_codes == [UNREADABLE]
    assert broken.failures[0].explanation and "JUMD" in broken.failures[0].explanation
    changed = NO_TRUST.read(corrupt_c2pa(data, offset=5000), "JPEG")  # inside an assertion
    assert changed is not None and changed.state == "invalid" and "assertion.hashedURI.mismatch" in changed.failure_codes


def test_a_format_without_c2pa_support_or_no_image_carries_nothing() -> None:
    assert NO_TRUST.read(b"BM" + b"\x00" * 64, "BMP") is None


def test_reading_never_fetches(c2pa_fixtures: Path) -> None:
    """Remote manifests and OCSP are off: an uploaded file could otherwise make the server fetch any URL."""
    settings = CredentialReader().settings
    assert settings["verify"] == {"remote_manifest_fetch": False, "ocsp_fetch": False}
