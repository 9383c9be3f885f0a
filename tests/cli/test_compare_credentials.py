"""`provenance compare` reports the copy's Content Credentials and, for a copy stripped of the ones its original
carried, says so (no chain, no database)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.c2pa.jpeg import strip_c2pa
from tests.conftest import ROOT


def compare(original: Path, copy: Path) -> dict:  # type: ignore[type-arg]
    result = subprocess.run([sys.executable, "-m", "ledger.cli.main", "compare", str(original), str(copy)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_compare_names_the_copys_credentials_and_the_stripped_ones(c2pa_fixtures: Path, tmp_path: Path) -> None:
    original = c2pa_fixtures / "adobe-20220124-CAI.jpg"
    same = compare(original, original)
    assert same["verdict"] == "original" and same["content_credentials"]["state"] == "valid"
    assert same["credentials_removed"] is None

    stripped = tmp_path / "stripped.jpg"
    stripped.write_bytes(strip_c2pa(original.read_bytes()))
    answer = compare(original, stripped)
    assert answer["verdict"] == "same_pixels" and answer["content_credentials"] is None
    note = answer["credentials_removed"]
    assert note["message"] == ("Content Credentials were removed from this copy; the original carried them, signed by "
                               "C2PA Signer (C2PA Test Signing Cert).")  # fmt: skip
    assert note["original"]["title"] == "CAI.jpg"
    assert answer["matches"][0]["content_credentials"]["state"] == "valid"
