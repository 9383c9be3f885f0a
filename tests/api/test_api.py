"""API behaviour on a temporary SQLite with no chain: errors, the outbox, and verdicts from the mirror.
(The same routes on a real node are covered by tests/e2e.)"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from api.app import create_app
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow, SubmissionRow
from ledger.config import Settings
from tests.api.publishers import add_publisher

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
API_KEY = "pk_test_key_for_api_tests_only"
PASSWORD = "test-password-not-secret"


@pytest.fixture
def setup(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Database, str]]:
    settings = Settings(data_dir=tmp_path, keystore_password=PASSWORD, max_upload_bytes=2_000_000, max_pixels=4_000_000,
                        database_url=database_url)  # fmt: skip
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    address = add_publisher(db, settings.keystore_dir, PASSWORD, API_KEY, mirrored_in_block=2)
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    with TestClient(create_app(settings, db=db, deployment=deployment)) as client:
        yield client, db, address
    db.dispose()


def photo(pdq_fixtures: Path, name: str = "q0746.jpg") -> bytes:
    return (pdq_fixtures / "reg-test-input" / "labelme-subset" / name).read_bytes()


def register(client: TestClient, data: bytes, key: str = API_KEY, **fields: str):  # type: ignore[no-untyped-def]
    form = {"caption": "Rain on a street", "credit": "Jane Doe", **fields}
    return client.post("/v1/media", headers={"Authorization": f"Bearer {key}"}, files={"file": ("a.jpg", data)}, data=form)


def mirror_registration(db: Database, uid: str) -> None:
    """Mark a submission as mined, as the indexer does when it sees the Registered event."""
    with db.write() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None
        args = {"uid": row.uid, "publisher": row.publisher, "contentHash": row.content_hash, "pixelHash": row.pixel_hash,
                "pdqHash": row.pdq_hash, "manifestHash": row.manifest_hash, "parent": row.parent, "registeredAt": 1795884909}
        mirror.apply_events(session, [DecodedEvent("Registered", args, 5, "0x" + "55" * 32, "0x" + "bb" * 32, 3)])
        repo.save_checkpoint(session, CONTRACT, 31337, 5, "0x" + "55" * 32, 6)


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["error"]["code"]


def test_register_commits_an_outbox_row_before_replying(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, address = setup
    response = register(client, photo(pdq_fixtures), published_url="https://example.org/a", taken_at="2026-11-01")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    with db.read() as session:
        row = session.scalars(select(SubmissionRow)).one()
    assert (row.uid, row.content_hash, row.status, row.nonce) == (body["uid"], body["content_hash"], "pending", 0)
    status = client.get(f"/v1/media/{body['content_hash']}", headers={"Authorization": f"Bearer {API_KEY}"}).json()
    assert status["status"] == "pending" and status["tx_hash"] is None


def test_nonces_increase_per_publisher(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = setup
    for name in ("q0746.jpg", "q0122.jpg", "q1050.jpg"):
        assert register(client, photo(pdq_fixtures, name)).status_code == 202
    with db.read() as session:
        assert sorted(r.nonce for r in session.scalars(select(SubmissionRow))) == [0, 1, 2]


def test_same_image_twice_is_409(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = setup
    assert register(client, photo(pdq_fixtures)).status_code == 202
    again = register(client, photo(pdq_fixtures))
    assert again.status_code == 409 and error_code(again) == "already_registered"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong-key", "Basic abc"])
def test_missing_or_wrong_key_is_401(setup, pdq_fixtures: Path, header: str | None) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = setup
    headers = {"Authorization": header} if header else {}
    response = client.post("/v1/media", headers=headers, files={"file": ("a.jpg", photo(pdq_fixtures))},
                           data={"caption": "c", "credit": "c"})  # fmt: skip
    assert response.status_code == 401 and error_code(response) == "unauthorized"
    assert client.get("/v1/media/0x" + "00" * 32, headers=headers).status_code == 401


def test_bad_uploads_are_4xx_with_codes(setup) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = setup
    not_image = register(client, b"just some text")
    assert not_image.status_code == 422 and error_code(not_image) == "not_an_image"

    bmp = io.BytesIO()
    Image.new("RGB", (32, 32), "red").save(bmp, format="BMP")
    unsupported = client.post("/v1/verify", files={"file": ("a.bmp", bmp.getvalue())})
    assert unsupported.status_code == 415 and error_code(unsupported) == "unsupported_format"

    big = client.post("/v1/verify", files={"file": ("a.jpg", b"\xff" * 2_100_000)})
    assert big.status_code == 413 and error_code(big) == "too_large"

    png = io.BytesIO()
    Image.new("L", (2500, 2000)).save(png, format="PNG")  # 5 MP > the 4 MP limit, yet a small file
    many_pixels = client.post("/v1/verify", files={"file": ("a.png", png.getvalue())})
    assert many_pixels.status_code == 413 and error_code(many_pixels) == "too_large"

    small = io.BytesIO()
    Image.effect_noise((300, 300), 50).save(small, format="PNG")
    truncated = client.post("/v1/verify", files={"file": ("a.png", small.getvalue()[:5000])})
    assert truncated.status_code == 422 and error_code(truncated) == "not_an_image"

    missing_caption = client.post("/v1/media", headers={"Authorization": f"Bearer {API_KEY}"},
                                  files={"file": ("a.jpg", b"x")}, data={"credit": "c"})  # fmt: skip
    assert missing_caption.status_code == 422 and error_code(missing_caption) == "invalid_request"

    no_file = client.post("/v1/verify")
    assert no_file.status_code == 422 and error_code(no_file) == "invalid_request"


def test_bad_fields_and_hashes(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = setup
    bad_url = register(client, photo(pdq_fixtures), published_url="javascript:alert(1)")
    assert bad_url.status_code == 422 and error_code(bad_url) == "invalid_input"
    bad_time = register(client, photo(pdq_fixtures), taken_at="yesterday")
    assert bad_time.status_code == 422
    bad_hash = client.get("/v1/verify/not-a-hash")
    assert bad_hash.status_code == 422 and error_code(bad_hash) == "invalid_hash"
    unknown = client.get("/v1/media/0x" + "ab" * 32, headers={"Authorization": f"Bearer {API_KEY}"})
    assert unknown.status_code == 404 and error_code(unknown) == "not_found"
    assert error_code(client.get("/v1/nothing-here")) == "not_found"


def test_verdicts_come_from_the_mirror(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, address = setup
    original = photo(pdq_fixtures)
    accepted = register(client, original, published_url="https://example.org/a").json()

    # Accepted but not yet mined: a reader must not be told it is registered.
    assert client.post("/v1/verify", files={"file": ("a.jpg", original)}).json()["verdict"] == "unknown"

    mirror_registration(db, accepted["uid"])
    exact = client.post("/v1/verify", files={"file": ("a.jpg", original)}).json()
    assert exact["verdict"] == "original"
    assert exact["matches"][0]["publisher"] == {"address": address, "name": "Daily Example", "domain": "example.org"}
    assert exact["matches"][0]["caption"] == "Rain on a street"
    assert exact["matches"][0]["tx_hash"] == "0x" + "bb" * 32
    assert (exact["indexed_block"], exact["head_block"]) == (5, 6)

    png = io.BytesIO()
    Image.open(io.BytesIO(original)).save(png, format="PNG")
    assert client.post("/v1/verify", files={"file": ("a.png", png.getvalue())}).json()["verdict"] == "same_pixels"
    # By hash, answers come from the hot index: it takes the new record at its next poll (0.5 s), here at once.
    client.app.state.ledger.matcher.refresh()
    assert client.get(f"/v1/verify/{accepted['content_hash']}").json()["verdict"] == "original"
    assert client.get("/v1/verify/" + "cd" * 32).json()["verdict"] == "unknown"

    status = client.get(f"/v1/media/{accepted['content_hash']}", headers={"Authorization": f"Bearer {API_KEY}"}).json()
    assert status["status"] == "anchored" and status["block_number"] == 5 and status["log_index"] == 3


def test_chain_health_and_page(setup) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = setup
    chain = client.get("/v1/chain").json()
    assert chain["chain_id"] == 31337 and chain["contract"] == CONTRACT and chain["deploy_block"] == 1
    assert any(item.get("name") == "register" for item in chain["abi"])
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["pending_registrations"] == 0
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert client.get("/static/app.js").status_code == 200


@pytest.mark.parametrize(("chain_id", "local_node", "development"), [(31337, None, True), (1337, None, True),
                                                                     (10, "anvil", True), (10, None, False)])  # fmt: skip
def test_every_verify_answer_says_whether_the_chain_is_a_development_chain(
    tmp_path: Path, chain_id: int, local_node: str | None, development: bool
) -> None:
    """A chain the service started, or one with a development chain id, lets anyone on the machine send as any
    publisher: every answer and /v1/chain say so (and the page shows chain_warning)."""
    settings = Settings(data_dir=tmp_path, keystore_password=PASSWORD)
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    deployment = Deployment(chain_id, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z", local_node)
    with TestClient(create_app(settings, db=db, deployment=deployment)) as client:
        body = client.get("/v1/verify/0x" + "ab" * 32).json()
        chain = client.get("/v1/chain").json()
    db.dispose()
    assert body["verdict"] == "unknown" and body["development_chain"] is development
    assert chain["development_chain"] is development and chain["chain_warning"] == body["chain_warning"]
    assert (body["chain_warning"] == "development chain: anyone on this machine can write to it") is development
