"""Two API instances (real ``python -m api`` processes, one of them with two workers) on one PostgreSQL, as two hosts
would run: a registration through one is verified through the other, by upload and by hash, and the heatmap of an
`edited` answer is found by either. The test plays the indexer (it mirrors the registration into the database)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow
from tests.api.instances import ApiInstance
from tests.api.publishers import add_publisher
from tests.api.test_api import API_KEY, CONTRACT, PASSWORD, mirror_registration
from tests.api.test_verify_matching import bridge, jpeg

DEPLOYMENT = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")


def prepared_database(url: str, keystore_dir: Path) -> Database:
    db = Database(url)
    upgrade(db.engine)
    add_publisher(db, keystore_dir, PASSWORD, API_KEY, mirrored_in_block=2)
    return db


def wait_until(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_register_through_one_verify_through_the_other(tmp_path: Path, postgres_server, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.create_database()
    db = prepared_database(url, tmp_path / "a" / "keystore")
    a = ApiInstance(tmp_path / "a", url, DEPLOYMENT, {"PROVENANCE_KEYSTORE_PASSWORD": PASSWORD, "PROVENANCE_API_WORKERS": "2"})
    b = ApiInstance(tmp_path / "b", url, DEPLOYMENT, {"PROVENANCE_API_WORKERS": "1"})  # no keystore: reads only
    try:
        a.start()
        b.start()
        original = bridge(pdq_fixtures)
        accepted = httpx.post(f"{a.url}/v1/media", headers={"Authorization": f"Bearer {API_KEY}"},
                              files={"file": ("a.jpg", original)}, data={"caption": "Bridge", "credit": "Jane Doe"},
                              timeout=60)  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        content_hash = accepted.json()["content_hash"]
        mirror_registration(db, accepted.json()["uid"])

        by_hash = {i.url: wait_until(lambda i=i: (r := httpx.get(f"{i.url}/v1/verify/{content_hash}"))
                                     .json()["verdict"] == "original" and r) for i in (a, b)}  # fmt: skip
        assert len({r.headers["etag"] for r in by_hash.values()}) == 1  # the same answer from every host
        assert by_hash[a.url].json()["matches"] == by_hash[b.url].json()["matches"]

        image = Image.open(io.BytesIO(original)).convert("RGB")
        ImageDraw.Draw(image).rectangle([100, 80, 500, 330], fill=(250, 250, 250))
        edited = jpeg(image)
        for verifier, other in ((b, a), (a, b)):
            # The index of every worker of the verifying instance must hold the picture: ask until one answers.
            body = wait_until(lambda v=verifier: (j := httpx.post(f"{v.url}/v1/verify", files={"file": ("e.jpg", edited)},
                                                                  timeout=60).json())["verdict"] == "edited" and j)  # fmt: skip
            assert body["matches"][0]["caption"] == "Bridge"
            for server in (other, verifier):
                png = httpx.get(server.url + body["changes"]["heatmap_url"])
                assert png.status_code == 200 and png.headers["content-type"] == "image/png"
                assert Image.open(io.BytesIO(png.content)).size == (512, 321)
    finally:
        a.stop()
        b.stop()
        db.dispose()
