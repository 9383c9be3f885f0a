from __future__ import annotations

import json

import pytest
from eth_utils import keccak

from ledger.core.fingerprint import Fingerprint
from ledger.core.manifest import build_manifest, parse_timestamp
from ledger.errors import LedgerValueError

FP = Fingerprint("0x" + "01" * 32, "0x" + "02" * 32, "0x" + "03" * 32, 100, 640, 480, "JPEG")
PUBLISHER = "0x" + "aa" * 20


def test_canonical_form_is_sorted_compact_json_and_hash_is_keccak() -> None:
    manifest = build_manifest(PUBLISHER, FP, "  Crowd at the square  ", "Jane Doe", "https://example.org/a", "2026-11-01T12:00:00+01:00")
    raw = manifest.canonical_bytes()
    data = json.loads(raw)
    assert raw == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert data["caption"] == "Crowd at the square"
    assert data["taken_at"] == "2026-11-01T11:00:00Z"
    assert manifest.hash() == "0x" + keccak(raw).hex()
    assert build_manifest(PUBLISHER, FP, "Crowd at the square", "Jane Doe", "https://example.org/a",
                          "2026-11-01T11:00:00Z").hash() == manifest.hash()  # fmt: skip


def test_unicode_caption_survives() -> None:
    manifest = build_manifest(PUBLISHER, FP, "Демонстрация — 示威", "Ж. Доу", None, None)
    assert "Демонстрация — 示威".encode() in manifest.canonical_bytes()


@pytest.mark.parametrize(
    ("caption", "credit", "url", "taken"),
    [("", "c", None, None), ("c", " ", None, None), ("c", "c", "ftp://x", None), ("c", "c", None, "soon"),
     ("x" * 2001, "c", None, None), ("c", "c", None, "2026-11-01T10:00:00")],
)  # fmt: skip
def test_bad_fields_are_refused(caption: str, credit: str, url: str | None, taken: str | None) -> None:
    with pytest.raises(LedgerValueError):
        build_manifest(PUBLISHER, FP, caption, credit, url, taken)


def test_bare_date_means_midnight_utc() -> None:
    assert parse_timestamp("2026-11-01") == "2026-11-01T00:00:00Z"
    assert parse_timestamp("") is None
