"""Issue 12, credentials: named API keys (several per publisher, created and last-used times, revocation that holds
at once in every API process), and publishers suspended or re-enabled on chain refused (403) or accepted again,
their queued work held with a reason instead of retried forever. SQLite and PostgreSQL, no chain: the mirror is
written as the indexer writes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.store import outbox
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import ApiKeyRow, SubmissionRow
from ledger.config import Settings
from ledger.errors import AlreadyRevoked, KeyNameTaken, LedgerValueError, NotFound
from ledger.usecases.publishers import add_api_key, list_api_keys, revoke_api_key
from tests.api.test_api import API_KEY, CONTRACT, PASSWORD, error_code, photo, register, setup  # noqa: F401 (fixture)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def receipt_status(client: TestClient, key: str) -> int:
    return client.get("/v1/media/0x" + "ab" * 32, headers=auth(key)).status_code  # 404 = authenticated, no such image


def test_several_named_keys_and_revocation_in_every_process(setup, tmp_path: Path, database_url: str,  # type: ignore[no-untyped-def]
                                                             pdq_fixtures: Path) -> None:
    client, db, address = setup
    cms = add_api_key(db, address, "cms-2026")
    archive = add_api_key(db, "example.org", "archive import")  # by domain too
    assert len({cms.api_key, archive.api_key, API_KEY}) == 3 and cms.api_key.startswith("pk_")
    with pytest.raises(KeyNameTaken):
        add_api_key(db, address, "cms-2026")
    with pytest.raises(LedgerValueError):
        add_api_key(db, address, "  ")
    with pytest.raises(NotFound):
        add_api_key(db, "nobody.example", "x")
    with db.read() as session:  # only hashes are stored
        stored = [k.key_hash for k in session.scalars(select(ApiKeyRow))]
    assert cms.api_key not in str(stored) and len(stored) == 3

    # A second API process: its own engine and app over the same database.
    settings = Settings(data_dir=tmp_path, keystore_password=PASSWORD, database_url=database_url)
    other_db = Database(database_url)
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    with TestClient(create_app(settings, db=other_db, deployment=deployment)) as other:
        for key in (API_KEY, cms.api_key, archive.api_key):
            assert receipt_status(client, key) == 404 and receipt_status(other, key) == 404
        listing = {k.name: k for k in list_api_keys(db, address)}
        assert set(listing) == {"initial", "cms-2026", "archive import"}
        assert all(k.status == "active" and k.last_used_at is not None and k.created_at <= k.last_used_at
                   for k in listing.values())  # fmt: skip

        revoked = revoke_api_key(db, address, "cms-2026")
        assert revoked.revoked_at is not None
        for api in (client, other):  # at once, in both processes: no key cache outlives a revocation
            refused = api.get("/v1/media/0x" + "ab" * 32, headers=auth(cms.api_key))
            assert refused.status_code == 401 and error_code(refused) == "api_key_revoked"
            upload = register(api, photo(pdq_fixtures), key=cms.api_key)
            assert upload.status_code == 401 and error_code(upload) == "api_key_revoked"
            assert receipt_status(api, archive.api_key) == 404  # the publisher's other keys still work
        with pytest.raises(AlreadyRevoked):
            revoke_api_key(db, address, cms.key_id)  # by id as well as by name
        assert {k.name: k.status for k in list_api_keys(db)}["cms-2026"] == "revoked"
    other_db.dispose()


def suspend(db: Database, address: str, block: int, reenable: bool = False) -> None:
    name = "PublisherReenabled" if reenable else "PublisherSuspended"
    with db.write() as session:
        mirror.apply_events(session, [DecodedEvent(name, {"publisher": address}, block, "0x" + f"{block:02x}" * 32,
                                                   "0x" + "cd" * 32, 0)])  # fmt: skip


def test_suspended_publisher_is_refused_and_its_work_held(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, address = setup
    queued = register(client, photo(pdq_fixtures))
    assert queued.status_code == 202
    suspend(db, address, 7)

    refused = register(client, photo(pdq_fixtures, "q0122.jpg"))
    assert refused.status_code == 403 and error_code(refused) == "publisher_suspended"
    assert "block 7" in refused.json()["error"]["message"]
    assert client.get(f"/v1/media/{queued.json()['content_hash']}", headers=auth(API_KEY)).status_code == 403

    assert outbox.hold_and_release(db) == (1, 0)
    with db.read() as session:
        row = session.scalars(select(SubmissionRow)).one()
    assert row.status == "held" and "suspended on chain in block 7" in (row.last_error or "")
    assert outbox.open_work(db).singles == []  # the anchorer does not retry it
    assert outbox.hold_and_release(db) == (0, 0)

    suspend(db, address, 9, reenable=True)
    assert outbox.hold_and_release(db) == (0, 1)
    [row] = outbox.open_work(db).singles
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    assert register(client, photo(pdq_fixtures, "q0122.jpg")).status_code == 202
    receipt = client.get(f"/v1/media/{queued.json()['content_hash']}", headers=auth(API_KEY))
    assert receipt.status_code == 200 and receipt.json()["status"] == "pending"
