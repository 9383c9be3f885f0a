"""Issue 14, item 1: the data directory's disk full. The data directory (SQLite database and
keystore) lives on a 16 MB tmpfs this test mounts (it needs root, as CI and the development machines run). A
registration that cannot be written is refused with 503 ``storage_unavailable`` and ``Retry-After`` (never a 500),
readers are still answered, what was accepted before is kept, and the same upload is accepted once there is room
again. (A read-only data directory: tests/faults/test_read_only.py.)"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow
from tests.api.publishers import add_publisher
from tests.api.test_api import CONTRACT, PASSWORD
from tests.corpus.conftest import corpus_settings
from tests.corpus.generate import picture, save
from tests.faults.scenarios import fill_filesystem

API_KEY = "pk_test_disk_full_only"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI and the development machines run as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def register(client: TestClient, seed: int):  # type: ignore[no-untyped-def]
    return client.post("/v1/media", headers={"Authorization": f"Bearer {API_KEY}"},
                       files={"file": (f"{seed}.jpg", save(picture(seed, 200, 150), "JPEG"))},
                       data={"caption": f"disk test {seed}", "credit": "x"})  # fmt: skip


def test_full_data_directory(small_disk: Path) -> None:
    settings = corpus_settings(small_disk)
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    add_publisher(db, settings.keystore_dir, PASSWORD, API_KEY, "Disk Daily", "disk.example", key_name="disk")
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    with TestClient(create_app(settings, db=db, deployment=deployment), raise_server_exceptions=False) as client:
        client.app.state.ledger.chain_nonce = lambda _publisher: 0  # type: ignore[attr-defined]  # no chain here
        first = register(client, 1)
        assert first.status_code == 202, first.text

        filler = fill_filesystem(small_disk)
        refused = [register(client, seed) for seed in (2, 3, 4)]  # several: the first may still fit in free pages
        full = [r for r in refused if r.status_code != 202]
        assert full, "the disk was full but every registration was accepted"
        for response in full:
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "storage_unavailable" and response.headers["Retry-After"]
        assert client.post("/v1/verify", files={"file": ("r.jpg", save(picture(9), "JPEG"))}).status_code == 200
        assert client.get("/healthz").status_code == 200

        filler.unlink()
        again = register(client, 4)
        assert again.status_code in (202, 409), again.text  # 409: seed 4 had fitted before the disk was full

        # Nothing accepted was lost: every 202 has its receipt.
        accepted = [first, *[r for r in refused if r.status_code == 202]]
        for response in accepted:
            status = client.get(f"/v1/media/{response.json()['content_hash']}", headers={"Authorization": f"Bearer {API_KEY}"})
            assert status.status_code == 200, status.text
    db.dispose()
