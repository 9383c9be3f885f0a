"""Issue 12, bulk: several registrations in one request (`POST /v1/media/batch`), each item accepted or refused with
its own code and sentence; the whole request refused only for what makes it unusable (its shape, its item count, its
size); the receipts of many files in one lookup (`POST /v1/media/receipts`)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from api.app import create_app
from api.spread import WorkerLoads
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow, SubmissionRow
from ledger.config import Settings
from ledger.core.eip712 import Domain
from ledger.core.fingerprint import registration_probe
from ledger.core.manifest import build_manifest
from ledger.core.signed import sign_bundle

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
SERVICE_KEY = "pk_test_key_batch_service_custody_only"
NEWSROOM_KEY = "pk_test_key_batch_newsroom_custody_only"
PASSWORD = "test-password-not-secret"


def jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    rng = np.random.default_rng(seed)
    out = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC).save(
        out, format="JPEG", quality=90)
    return out.getvalue()


class Api:
    def __init__(self, client: TestClient, db: Database, service: str, newsroom: str, newsroom_key: bytes) -> None:
        self.client, self.db, self.service, self.newsroom, self.newsroom_key = client, db, service, newsroom, newsroom_key

    def batch(self, items: object, files: dict[str, bytes], key: str = SERVICE_KEY):  # type: ignore[no-untyped-def]
        parts = [(name, (f"{name}.jpg", data, "image/jpeg")) for name, data in files.items()]
        return self.client.post("/v1/media/batch", headers={"Authorization": f"Bearer {key}"},
                                data={"items": json.dumps(items)}, files=parts or None)  # fmt: skip


def make_api(tmp_path: Path, database_url: str, loads: WorkerLoads | None = None, **overrides: object) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path, keystore_password=PASSWORD, max_upload_bytes=2_000_000,
                        max_pixels=4_000_000, database_url=database_url, **overrides)  # type: ignore[arg-type]  # fmt: skip
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    service, key_file = create_key(settings.keystore_dir, PASSWORD)
    newsroom = Account.create()  # a TEST key: the newsroom's own, never given to the service
    with db.write() as session:
        session.add(PublisherAccountRow(address=service, name="Daily Example", domain="example.org",
                                        keystore_file=key_file, next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
        session.add(PublisherAccountRow(address=newsroom.address, name="Newsroom", domain="newsroom.example",
                                        keystore_file=None, next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
        repo.add_api_key(session, service, "bulk", SERVICE_KEY)
        repo.add_api_key(session, newsroom.address, "bulk", NEWSROOM_KEY)
        for n, (address, name) in enumerate(((service, "Daily Example"), (newsroom.address, "Newsroom"))):
            mirror.apply_events(session, [DecodedEvent("PublisherAdded", {"publisher": address, "name": name,
                                                                      "domain": "x.example"}, 2, "0x" + "22" * 32,
                                                   "0x" + f"{n:02x}" * 32, n)])  # fmt: skip
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    with TestClient(create_app(settings, db=db, deployment=deployment, loads=loads)) as client:
        # No chain behind these API tests: what it would answer is given here (the newsroom's nonce on chain is still
        # 0, no address is a contract wallet). tests/e2e/test_newsroom_custody.py asks a real node.
        client.app.state.ledger.chain_nonce = lambda _publisher: 0  # type: ignore[attr-defined]
        client.app.state.ledger.contract_signature = lambda *_args: False  # type: ignore[attr-defined]
        yield Api(client, db, service, newsroom.address, bytes(newsroom.key))
    db.dispose()


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    yield from make_api(tmp_path, database_url)


def signed_bundle(api: Api, data: bytes, nonce: int, signer: bytes | None = None) -> dict:  # type: ignore[type-arg]
    manifest = build_manifest(api.newsroom, registration_probe(data).fingerprint, "Flooded street", "Newsroom staff")
    return sign_bundle(signer or api.newsroom_key, Domain(31337, CONTRACT), api.newsroom, manifest, nonce,
                       int(time.time()) + 86400).as_json()  # fmt: skip


def submissions(db: Database) -> dict[str, SubmissionRow]:
    with db.read() as session:
        return {row.content_hash: row for row in session.scalars(select(SubmissionRow))}


def test_each_item_is_accepted_or_refused_on_its_own(api: Api) -> None:
    a, b, c = jpeg(1), jpeg(2), jpeg(3)
    items = [
        {"file": "a", "caption": "Flooded street", "credit": "Jane Doe", "published_url": "https://example.org/1"},
        {"file": "b", "caption": "Bridge", "credit": "Jane Doe", "keep_reference": False},
        {"file": "dup", "caption": "The same picture again", "credit": "Jane Doe"},
        {"file": "text", "caption": "Not a picture", "credit": "Jane Doe"},
        {"file": "nocaption", "credit": "Jane Doe"},
        {"file": "orphan", "caption": "A derived picture", "credit": "Jane Doe", "parent": "0x" + "ab" * 32},
        {"caption": "No file named", "credit": "Jane Doe"},
        "not an object",
    ]
    files = {"a": a, "b": b, "dup": a, "text": b"plain text, no image", "nocaption": c, "orphan": c}
    response = api.batch(items, files)
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["result"] for r in results] == ["accepted", "accepted"] + ["refused"] * 6
    assert (body["accepted"], body["refused"]) == (2, 6)
    refusals = [(r["file"], r["error_code"], r["http_status"]) for r in results[2:]]
    assert refusals == [("dup", "already_registered", 409), ("text", "not_an_image", 422),
                        ("nocaption", "invalid_item", 422), ("orphan", "unknown_record", 422),
                        (None, "invalid_item", 422), (None, "invalid_item", 422)]  # fmt: skip
    assert all(r["message"] and r["uid"] is None for r in results[2:])  # a sentence each
    assert "caption is required" in results[4]["message"]
    assert results[1]["note"] and "without a reference copy" in results[1]["note"]

    # Only the accepted items are queued, each durable with its own nonce and signature, as after POST /v1/media.
    rows = submissions(api.db)
    assert set(rows) == {results[0]["content_hash"], results[1]["content_hash"]}
    assert sorted(r.nonce for r in rows.values()) == [0, 1]
    assert all(r.status == "pending" and r.publisher == api.service and r.custody == "service" for r in rows.values())
    assert rows[results[0]["content_hash"]].uid == results[0]["uid"]

    # The receipts of many files in one lookup: registered ones, and null for the others.
    unknown = "0x" + "cd" * 32
    lookup = api.client.post("/v1/media/receipts", headers={"Authorization": f"Bearer {SERVICE_KEY}"},
                             json={"content_hashes": [results[1]["content_hash"], unknown, results[0]["content_hash"]]})  # fmt: skip
    assert lookup.status_code == 200, lookup.text
    found = lookup.json()["receipts"]
    assert found[1] is None and found[0]["uid"] == results[1]["uid"] and found[2]["status"] == "pending"
    assert found[2]["signature"] == rows[results[0]["content_hash"]].signature
    other = api.client.post("/v1/media/receipts", headers={"Authorization": f"Bearer {NEWSROOM_KEY}"},
                            json={"content_hashes": [results[0]["content_hash"]]})  # fmt: skip
    assert other.json()["receipts"] == [None]  # another publisher's registration is not this one's receipt


def test_newsroom_signed_items_with_and_without_their_files(api: Api) -> None:
    a, b, c = jpeg(11), jpeg(12), jpeg(13)
    first, second = signed_bundle(api, a, 0), signed_bundle(api, b, 1)
    forged = signed_bundle(api, c, 2, signer=bytes(Account.create().key))
    reused = signed_bundle(api, c, 1)  # nonce 1 again: the second item holds it
    items = [{"signed": first, "file": "a"}, {"signed": second}, {"signed": forged, "file": "c"},
             {"signed": reused}, {"signed": first}, {"signed": second, "caption": "changed"},
             {"signed": signed_bundle(api, c, 3), "file": "b"}]  # fmt: skip
    response = api.batch(items, {"a": a, "c": c, "b": b}, key=NEWSROOM_KEY)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["result"], r["error_code"]) for r in results] == [
        ("accepted", None), ("accepted", None), ("refused", "invalid_signature"), ("refused", "nonce_in_use"),
        ("refused", "already_registered"), ("refused", "invalid_item"), ("refused", "file_mismatch")]  # fmt: skip
    assert "fingerprints only" in results[1]["note"]
    rows = submissions(api.db)
    assert {r.custody for r in rows.values()} == {"publisher"} and len(rows) == 2
    assert rows[first["manifest"]["content_hash"]].signature == first["signature"]  # relayed as signed

    # The service-custody publisher's key cannot send a newsroom's signature as its own.
    theirs = api.batch([{"signed": signed_bundle(api, c, 3)}], {})
    assert theirs.json()["results"][0]["error_code"] == "invalid_signature"
    # And a newsroom holding its key cannot send unsigned items: the service has no key to sign them with.
    unsigned = api.batch([{"file": "c", "caption": "x", "credit": "y"}], {"c": c}, key=NEWSROOM_KEY)
    assert unsigned.json()["results"][0]["error_code"] == "publisher_holds_key"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_whole_request_refusals(tmp_path: Path, database_url: str) -> None:
    for api in make_api(tmp_path, database_url, registration_batch_max_items=3,
                        registration_batch_max_bytes=300_000):  # fmt: skip
        item = {"file": "a", "caption": "c", "credit": "d"}

        def code(response) -> tuple[int, str]:  # type: ignore[no-untyped-def]
            return response.status_code, response.json()["error"]["code"]

        assert code(api.batch([item] * 4, {})) == (422, "invalid_input")  # more items than allowed
        four = api.batch([{**item, "file": n} for n in "abcd"], {n: jpeg(20) for n in "abcd"})
        assert code(four) == (400, "bad_request")  # more files than items allowed: the form parser stops at the 4th
        assert code(api.batch([], {})) == (422, "invalid_input")
        assert code(api.batch({"file": "a"}, {"a": jpeg(21)})) == (422, "invalid_input")  # not a list
        assert code(api.batch([item], {"a": jpeg(21), "extra": jpeg(22)})) == (422, "invalid_input")  # a part no item names
        assert code(api.batch([item, {**item, "caption": "again"}], {"a": jpeg(21)})) == (422, "invalid_input")
        raw = api.client.post("/v1/media/batch", headers={"Authorization": f"Bearer {SERVICE_KEY}"},
                              data={"items": "[{"}, files=[("a", ("a.jpg", jpeg(21)))])  # fmt: skip
        assert code(raw) == (422, "invalid_input") and "not JSON" in raw.json()["error"]["message"]
        stray = api.client.post("/v1/media/batch", headers={"Authorization": f"Bearer {SERVICE_KEY}"},
                                data={"items": json.dumps([item]), "caption": "x"}, files=[("a", ("a.jpg", jpeg(21)))])  # fmt: skip
        assert code(stray) == (422, "invalid_input")
        big = api.batch([{**item, "file": n} for n in "ab"], {n: jpeg(30 + i, (1600, 1200)) + b"\0" * 200_000
                                                             for i, n in enumerate("ab")})  # fmt: skip
        assert code(big) == (413, "too_large")  # the body as a whole, counted as it arrives
        keyless = api.client.post("/v1/media/batch", data={"items": json.dumps([item])}, files=[("a", ("a.jpg", jpeg(21)))])
        assert keyless.status_code == 401
        assert submissions(api.db) == {}  # nothing of a refused request was queued
        ok = api.batch([item], {"a": jpeg(21)})
        assert ok.status_code == 200 and ok.json()["accepted"] == 1
