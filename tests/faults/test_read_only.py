"""Issue 14, item 1: the data directory read-only. It lives on a tmpfs the test mounts (it needs root, as CI and
the development machines run) and is remounted read-only.

The kernel refuses to remount a filesystem read-only while any process holds a file on it open for writing (SQLite
keeps its database open), so neither a running ``provenance up`` nor an API process with open connections can be
caught by it; root also ignores file modes. (A filesystem that fails under the running service and turns
read-only by itself: test_read_only_running.py.) Tested here:

- the API opens its database again while the directory is read-only (a connection pool after a restart or a
  recycle): a registration is refused with 503 ``storage_unavailable`` and ``Retry-After``, never a 500; readers
  and ``/healthz`` still answer; once writable again the same upload is accepted, and every earlier 202 is kept;
- ``provenance up`` stopped, its directory made read-only, started again: it refuses in one line (it was a
  traceback from the migration step); writable again, it starts, and every registration accepted before the stop
  is on chain exactly once and in the mirror exactly once within 10 s of it answering."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import SubmissionRow
from tests.api.publishers import add_publisher
from tests.api.test_api import CONTRACT, PASSWORD
from tests.corpus.conftest import corpus_settings
from tests.corpus.generate import picture, save
from tests.faults.scenarios import assert_recovered, read_only_restart, start_service

API_KEY = "pk_test_read_only_only"


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI and the development machines run as root)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def remount(mount: Path, mode: str, release: Callable[[], None] | None = None) -> None:
    """``release`` closes what the test's own code holds open; a background reader (the app's match-index poll)
    may hold the database open for a moment, and the kernel then says "busy": tried again for a few seconds."""
    deadline = time.monotonic() + 10
    while True:
        if release is not None:
            release()
        done = subprocess.run(["mount", "-o", f"remount,{mode}", str(mount)], capture_output=True, text=True)
        if done.returncode == 0:
            return
        if "busy" not in done.stderr or time.monotonic() > deadline:
            raise subprocess.CalledProcessError(done.returncode, done.args, done.stdout, done.stderr)
        time.sleep(0.05)


def register(client: TestClient, seed: int):  # type: ignore[no-untyped-def]
    return client.post("/v1/media", headers={"Authorization": f"Bearer {API_KEY}"},
                       files={"file": (f"{seed}.jpg", save(picture(seed, 200, 150), "JPEG"))},
                       data={"caption": f"read-only test {seed}", "credit": "x"})  # fmt: skip


def test_api_on_a_read_only_data_directory(mounted: Path) -> None:
    settings = corpus_settings(mounted)
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    add_publisher(db, settings.keystore_dir, PASSWORD, API_KEY, "Read Only Daily", "ro.example", key_name="ro")
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    with TestClient(create_app(settings, db=db, deployment=deployment), raise_server_exceptions=False) as client:
        client.app.state.ledger.chain_nonce = lambda _publisher: 0  # type: ignore[attr-defined]  # no chain here
        first = register(client, 1)
        assert first.status_code == 202, first.text

        remount(mounted, "ro", release=db.engine.dispose)  # no file open for writing: the kernel lets it go
        try:
            refused = register(client, 2)
            reader = client.post("/v1/verify", files={"file": ("r.jpg", save(picture(9), "JPEG"))})
            by_hash = client.get(f"/v1/verify/{first.json()['content_hash']}")
            health = client.get("/healthz")
        finally:
            db.engine.dispose()
            remount(mounted, "rw")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "storage_unavailable" and refused.headers["Retry-After"]
        for answer in (reader, by_hash):  # a reader is answered, or told to come back: never a 500
            assert answer.status_code in (200, 503), answer.text
        assert health.status_code in (200, 503), health.text

        again = register(client, 2)
        assert again.status_code == 202, again.text
        accepted = {first.json()["content_hash"], again.json()["content_hash"]}
    with db.read() as session:
        kept = set(session.scalars(select(SubmissionRow.content_hash)))
    assert kept == accepted  # every 202 kept, the refused attempt left nothing behind
    db.dispose()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the service's processes through /proc (Linux)")
def test_provenance_up_on_a_read_only_data_directory(mounted: Path) -> None:
    harness = start_service(mounted)  # the data directory is the mount itself; the service's log is beside it
    harness.conditions["read-only"] = read_only_restart(harness, mounted)
    try:
        result = harness.phase("read-only", uploads=8, kill_after=4)
    finally:
        harness.service.stop()
    print(result, harness.refusals)
    [said] = harness.refusals
    assert "storage_unavailable" in said and "read-only" in said and "Traceback" not in said, said
    assert_recovered(result)
