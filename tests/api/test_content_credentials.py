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


def install_test_signer(tmp_path: Path, db, address: str) -> bytes:  # type: ignore[no-untyped-def]
    """A TEST signer for the publisher from a TEST CA in the data directory; the CA's certificate (PEM)."""
    from ledger.adapters.c2pa.signers import SignerStore
    from ledger.usecases.c2pa_signers import issue_test_signer_for
    from tests.api.test_api import PASSWORD

    store = SignerStore(tmp_path.resolve() / "c2pa" / "signers", PASSWORD)
    installed = issue_test_signer_for(db, store, tmp_path.resolve() / "c2pa" / "test-ca", address)
    assert installed.created_ca and "TEST signer" in installed.subject
    return installed.test_ca.read_bytes()  # type: ignore[union-attr]


def test_signed_at_registration_read_back_valid_and_tampered_copies_invalid(setup, pdq_fixtures: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                             tmp_path: Path) -> None:  # fmt: skip
    import hashlib

    from ledger.adapters.c2pa.reader import CredentialReader
    from ledger.core.content_credentials import REGISTRATION_ASSERTION
    from ledger.core.records import record_uid
    from tests.api.test_api import API_KEY, CONTRACT, photo, register

    client, db, address = setup
    refused = register(client, photo(pdq_fixtures), c2pa="true")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "c2pa_signer_missing"

    trusted = CredentialReader(install_test_signer(tmp_path, db, address).decode())
    response = register(client, photo(pdq_fixtures), c2pa="true")
    assert response.status_code == 202, response.text
    body = response.json()
    signed = client.get(body["file_url"], headers={"Authorization": f"Bearer {API_KEY}"})
    assert signed.status_code == 200 and signed.headers["content-type"] == "image/jpeg"
    published = signed.content
    # The ledger registered exactly the published file: its SHA-256, and the uid the contract derives from it.
    assert "0x" + hashlib.sha256(published).hexdigest() == body["content_hash"]
    assert body["uid"] == record_uid(address, body["content_hash"])

    credentials = trusted.read(published, "JPEG")
    assert credentials is not None and credentials.state == "trusted" and credentials.failures == []
    assert [a.action for a in credentials.actions] == ["c2pa.opened", "c2pa.published"]
    assert credentials.signer is not None and credentials.signer.issuer == "Daily Example"
    assert credentials.signer.common_name == "example.org TEST signer"
    registration = credentials.ledger_registration
    assert registration is not None and registration["chain_id"] == 31337 and registration["contract"] == CONTRACT
    assert registration["publisher"] == address and registration["record_uid_rule"].startswith("keccak256(")
    assert body["content_credentials"]["ledger_registration"] == registration
    assert REGISTRATION_ASSERTION.encode() in published
    # Without the TEST CA on the trust list the same file is valid, its signer untrusted.
    untrusted = CredentialReader().read(published, "JPEG")
    assert untrusted is not None and untrusted.state == "valid" and untrusted.failure_codes == ["signingCredential.untrusted"]

    # Tampered copies: a changed byte of the picture, and a changed byte of the ledger's assertion.
    pixels = bytearray(published)
    pixels[-100] ^= 0xFF
    changed = trusted.read(bytes(pixels), "JPEG")
    assert changed is not None and changed.state == "invalid" and "assertion.dataHash.mismatch" in changed.failure_codes
    at = published.index(address.encode())
    claim = bytearray(published)
    claim[at + 5] = ord("0") if claim[at + 5] != ord("0") else ord("1")
    forged = trusted.read(bytes(claim), "JPEG")
    assert forged is not None and forged.state == "invalid" and "assertion.hashedURI.mismatch" in forged.failure_codes

    # A file not signed here for this publisher is 404.
    assert client.get(f"/v1/media/0x{'00' * 32}/file", headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 404


def test_a_stripped_copy_of_a_signed_original_says_the_credentials_were_removed(setup, pdq_fixtures: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                                 tmp_path: Path) -> None:  # fmt: skip
    from tests.api.test_api import API_KEY, mirror_registration, photo, register
    from tests.c2pa.jpeg import strip_c2pa

    client, db, address = setup
    install_test_signer(tmp_path, db, address)
    body = register(client, photo(pdq_fixtures, "q0122.jpg"), c2pa="true").json()
    published = client.get(body["file_url"], headers={"Authorization": f"Bearer {API_KEY}"}).content
    mirror_registration(db, body["uid"])
    client.app.state.ledger.matcher.refresh()

    original = verify(client, published)
    assert original["verdict"] == "original" and original["credentials_removed"] is None
    assert original["content_credentials"]["state"] == "valid"  # the API trusts no TEST CA unless told to
    assert original["matches"][0]["content_credentials"]["ledger_registration"]["publisher"] == address

    stripped = verify(client, strip_c2pa(published))
    assert stripped["verdict"] == "same_pixels" and stripped["content_credentials"] is None
    note = stripped["credentials_removed"]
    assert note["message"] == ("Content Credentials were removed from this copy; the original carried them, signed by "
                               "example.org TEST signer (Daily Example), and this ledger recorded it "
                               f"at {stripped['matches'][0]['registered_at']}.")  # fmt: skip
    assert note["uid"] == body["uid"] and note["original"]["ledger_registration"]["publisher"] == address

    broken = verify(client, corrupt_c2pa(published, offset=200))
    assert broken["verdict"] == "same_pixels"
    assert broken["credentials_removed"]["message"].startswith("The Content Credentials of this copy do not validate")
    by_hash = client.get(f"/v1/verify/{body['content_hash']}").json()
    assert by_hash["matches"][0]["content_credentials"]["state"] == "valid"


def test_a_newsroom_signed_registration_keeps_the_manifest_its_file_carried(setup, c2pa_fixtures: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                             tmp_path: Path) -> None:  # fmt: skip
    """A newsroom that signs C2PA itself (a camera's or its CMS's manifest) and its registrations too
    (POST /v1/registrations with the file): the manifest is kept, and a stripped copy is told what it carried."""
    import json

    from ledger.adapters.keystore import load_key
    from ledger.config import Settings
    from ledger.usecases.signing import sign_files
    from tests.api.test_api import API_KEY, CONTRACT, PASSWORD, mirror_registration
    from tests.c2pa.jpeg import strip_c2pa

    client, db, address = setup
    client.app.state.ledger.chain_nonce = lambda _publisher: 0  # no chain here: the contract's nonce, as main's tests do
    image = tmp_path / "cai.jpg"
    image.write_bytes((c2pa_fixtures / "adobe-20220124-CAI.jpg").read_bytes())
    key = load_key(Settings(data_dir=tmp_path).keystore_dir, f"{address}.json", PASSWORD)
    [(_, bundle)] = sign_files([image], key, 31337, CONTRACT, 0, "Composite test image", "Adobe test files", None,
                               None, None, 3600, tmp_path / "signed")  # fmt: skip
    response = client.post("/v1/registrations", headers={"Authorization": f"Bearer {API_KEY}"},
                           data={"registration": bundle.read_text()}, files={"file": ("cai.jpg", image.read_bytes())})  # fmt: skip
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["content_credentials"]["title"] == "CAI.jpg"
    mirror_registration(db, body["uid"])
    client.app.state.ledger.matcher.refresh()
    answer = verify(client, strip_c2pa(image.read_bytes()))
    assert answer["verdict"] == "same_pixels"
    assert answer["credentials_removed"]["message"].startswith("Content Credentials were removed from this copy; the "
                                                               "original carried them, signed by C2PA Signer (C2PA "
                                                               "Test Signing Cert)")  # fmt: skip
    assert json.loads(bundle.read_text())["manifest"]["content_hash"] == body["content_hash"]
