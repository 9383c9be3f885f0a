"""Content Credentials (C2PA) in the reader's answer, through the API on a temporary database."""

from __future__ import annotations

from pathlib import Path

from tests.api.test_api import setup  # noqa: F401 - the fixture
from tests.c2pa.jpeg import corrupt_c2pa


def verify(client, data: bytes):  # type: ignore[no-untyped-def]
    response = client.post("/v1/verify", files={"file": ("x.jpg", data, "image/jpeg")})
    assert response.status_code == 200, response.text
    return response.json()


def test_verify_reports_the_manifest_valid_invalid_or_none(setup, c2pa_fixtures: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, _, _ = setup
    valid = verify(client, (c2pa_fixtures / "adobe-20220124-CAI.jpg").read_bytes())["content_credentials"]
    assert valid["state"] == "valid" and valid["claim_generator"] == "make_test_images/0.16.1 c2pa-rs/0.16.1"
    assert valid["signer"]["issuer"] == "C2PA Test Signing Cert" and valid["signed_at"] == "2023-01-24T14:48:57+00:00"
    assert [i["title"] for i in valid["ingredients"]] == ["A.jpg", "I.jpg"]
    assert [f["code"] for f in valid["failures"]] == ["signingCredential.untrusted"]

    tampered = verify(client, (c2pa_fixtures / "adobe-20220124-E-sig-CA.jpg").read_bytes())["content_credentials"]
    assert tampered["state"] == "invalid"
    assert {f["code"] for f in tampered["failures"]} == {"claimSignature.mismatch", "signingCredential.untrusted"}

    answer = verify(client, (c2pa_fixtures / "adobe-20220124-A.jpg").read_bytes())
    assert answer["content_credentials"] is None and answer["credentials_removed"] is None


def test_a_broken_manifest_is_an_invalid_answer_not_a_server_error(setup, c2pa_fixtures: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, _, _ = setup
    broken = corrupt_c2pa((c2pa_fixtures / "adobe-20220124-CA.jpg").read_bytes(), offset=200)
    answer = verify(client, broken)
    assert answer["verdict"] == "unknown"
    assert answer["content_credentials"]["state"] == "invalid"
    assert [f["code"] for f in answer["content_credentials"]["failures"]] == ["manifest.unreadable"]
