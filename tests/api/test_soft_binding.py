"""Issue 13, item 4: the C2PA Soft Binding Resolution API at /v1/c2pa, sent what a C2PA client sends (query
parameters `alg`, `value`, `maxResults`; `POST /matches/byContent` with the image as the raw body), on a temporary
database with two mirrored registrations: a plain photo, and a file that carried Content Credentials."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import c2pa
from eth_utils import keccak
from PIL import Image

from ledger.core.fingerprint import fingerprint_bytes
from tests.api.test_api import mirror_registration, photo, register, setup  # noqa: F401 - setup is the fixture

BASE = "/v1/c2pa"


def b64(hex_hash: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_hash[2:])).decode()


def registered(client, db, data: bytes) -> dict:  # type: ignore[no-untyped-def, type-arg]
    body = register(client, data).json()
    mirror_registration(db, body["uid"])
    return body  # type: ignore[no-any-return]


def test_soft_binding_resolution(setup, pdq_fixtures: Path, c2pa_fixtures: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, db, address = setup
    plain_bytes = photo(pdq_fixtures)
    carried_bytes = (c2pa_fixtures / "adobe-20220124-CAI.jpg").read_bytes()
    plain, carried = registered(client, db, plain_bytes), registered(client, db, carried_bytes)
    client.app.state.ledger.matcher.refresh()

    algorithms = client.get(f"{BASE}/services/supportedAlgorithms").json()
    assert algorithms == {"watermarks": [], "fingerprints": [{"alg": "org.provenance-ledger.pdq.1"},
                          {"alg": "org.provenance-ledger.sha256.1"}, {"alg": "org.provenance-ledger.pixel-sha256.1"}]}  # fmt: skip

    # Exact file hash: the plain photo is named by the ledger's own manifest, served as its canonical JSON.
    exact = client.get(f"{BASE}/matches/byBinding", params={"alg": "org.provenance-ledger.sha256.1",
                                                            "value": b64(plain["content_hash"])}).json()  # fmt: skip
    [match] = exact["matches"]
    assert match["manifestId"] == f"urn:provenance-ledger:record:{plain['uid']}" and match["similarityScore"] == 100
    assert match["recordUid"] == plain["uid"] and match["publisher"] == address and "endpoint" not in match
    ledger_manifest = client.get(f"{BASE}/manifests/{match['manifestId']}")
    assert ledger_manifest.headers["content-type"] == "application/json"
    status = client.get(f"/v1/media/{plain['content_hash']}", headers={"Authorization": "Bearer pk_test_key_for_api_tests_only"})
    assert "0x" + keccak(ledger_manifest.content).hex() == status.json()["manifest_hash"]

    # Pixel hash of the file that carried Content Credentials: named by its C2PA manifest, served as application/c2pa.
    pixels = fingerprint_bytes(carried_bytes).pixel_sha256
    by_pixels = client.post(f"{BASE}/matches/byBinding", json={"alg": "org.provenance-ledger.pixel-sha256.1",
                                                               "value": b64(pixels)}).json()  # fmt: skip
    [match] = by_pixels["matches"]
    active = json.loads(c2pa.Reader("image/jpeg", io.BytesIO(carried_bytes)).json())["active_manifest"]
    assert match["manifestId"] == active and match["recordUid"] == carried["uid"]
    store = client.get(f"{BASE}/manifests/{active}")
    assert store.status_code == 200 and store.headers["content-type"] == "application/c2pa"
    with c2pa.Reader("application/c2pa", io.BytesIO(store.content)) as reader:
        assert json.loads(reader.json())["active_manifest"] == active

    # PDQ: a hash 6 bits from the registered one is a match, scored below an exact one; 40 bits away is none.
    pdq = bytearray(bytes.fromhex(fingerprint_bytes(plain_bytes).pdq[2:]))
    pdq[0] ^= 0b00111111
    near = client.get(f"{BASE}/matches/byBinding", params={"alg": "org.provenance-ledger.pdq.1",
                                                           "value": base64.b64encode(bytes(pdq)).decode()}).json()  # fmt: skip
    assert [(m["recordUid"], m["match"], m["similarityScore"]) for m in near["matches"]] == [(plain["uid"], "pdq", 91)]
    for i in range(1, 6):
        pdq[i] ^= 0xFF
    far = client.get(f"{BASE}/matches/byBinding", params={"alg": "org.provenance-ledger.pdq.1",
                                                          "value": base64.b64encode(bytes(pdq)).decode()}).json()  # fmt: skip
    assert far == {"matches": []}

    # By content: a resized, re-encoded copy, as raw image bytes; and by one binding of the image only.
    copy = io.BytesIO()
    image = Image.open(io.BytesIO(plain_bytes))
    image.resize((image.width // 2, image.height // 2)).save(copy, format="JPEG", quality=70)
    found = client.post(f"{BASE}/matches/byContent", content=copy.getvalue(), headers={"Content-Type": "image/jpeg"})
    assert found.status_code == 200, found.text
    assert [m["recordUid"] for m in found.json()["matches"]] == [plain["uid"]]
    assert found.json()["matches"][0]["match"] == "pdq"
    only_sha = client.post(f"{BASE}/matches/byContent", params={"alg": "org.provenance-ledger.sha256.1", "maxResults": 1},
                           content=carried_bytes, headers={"Content-Type": "image/jpeg"}).json()  # fmt: skip
    assert [m["manifestId"] for m in only_sha["matches"]] == [active]
    none = client.post(f"{BASE}/matches/byContent", params={"alg": "org.provenance-ledger.sha256.1"},
                       content=copy.getvalue(), headers={"Content-Type": "image/jpeg"}).json()  # fmt: skip
    assert none == {"matches": []}


def test_soft_binding_refusals(setup) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    client, _, _ = setup

    def code(response) -> tuple[int, str]:  # type: ignore[no-untyped-def]
        return response.status_code, response.json()["error"]["code"]

    value = base64.b64encode(b"\x01" * 32).decode()
    assert code(client.get(f"{BASE}/matches/byBinding", params={"alg": "com.example.watermark.1", "value": value})) == (
        400, "unsupported_algorithm")
    assert code(client.get(f"{BASE}/matches/byBinding", params={"alg": "org.provenance-ledger.sha256.1",
                                                                "value": "not base64!"})) == (400, "invalid_binding_value")  # fmt: skip
    assert code(client.post(f"{BASE}/matches/byBinding", json={"alg": "org.provenance-ledger.pdq.1",
                                                               "value": base64.b64encode(b"short").decode()})) == (
        400, "invalid_binding_value")  # fmt: skip
    assert code(client.post(f"{BASE}/matches/byContent", content=b"plain text", headers={"Content-Type": "image/jpeg"})) == (
        422, "not_an_image")
    assert code(client.get(f"{BASE}/manifests/urn:c2pa:00000000-0000-0000-0000-000000000000")) == (404, "not_found")
    assert code(client.get(f"{BASE}/manifests/urn:provenance-ledger:record:0x{'00' * 32}")) == (404, "not_found")
    big = client.post(f"{BASE}/matches/byContent", content=b"\xff" * 2_100_000, headers={"Content-Type": "image/jpeg"})
    assert code(big) == (413, "too_large")
