"""Verify by hash from the hot index: answers computed once per mirror change (no database read per request),
ETag / If-None-Match / Cache-Control, and answers that change (with their ETag) after a retraction or a new
registration. Same temporary database setup as test_api.py, no chain."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event

import ledger.usecases.hash_answers as hash_answers
from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.usecases.verify import hash_decision
from tests.api.test_api import CONTRACT, photo, setup  # noqa: F401 (fixture)
from tests.api.test_verify_matching import registered_and_mirrored

UNKNOWN_HASH = "0x" + "cd" * 32


@pytest.fixture
def manual(setup):  # type: ignore[no-untyped-def]
    """The app with its index feed polled by the test (``matcher.refresh()``) instead of its thread, so the
    statements counted are the requests' own."""
    setup[0].app.state.ledger.matcher.stop()
    return setup


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def retract_in_mirror(db: Database, uid: str, publisher: str, block: int) -> None:
    """A Revoked event as the indexer mirrors it: rows and a new checkpoint in one transaction."""
    args = {"uid": uid, "revokedBy": publisher, "byAdmin": False, "reasonCode": 1, "reason": "wrong place",
            "revokedAt": 1795990000}  # fmt: skip
    with db.write() as session:
        mirror.apply_events(session, [DecodedEvent("Revoked", args, block, "0x" + "77" * 32, "0x" + "cc" * 32, 0)])
        repo.save_checkpoint(session, CONTRACT, 31337, block, "0x" + "77" * 32, block + 1)


def test_registered_answer_is_cached_and_revalidated(manual, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = manual
    body = registered_and_mirrored(client, db, photo(pdq_fixtures))
    url = f"/v1/verify/{body['content_hash']}"
    first = client.get(url)
    assert first.status_code == 200 and first.json()["verdict"] == "original"
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "public, max-age=60"
    assert first.json()["indexed_block"] == 5 and first.json()["verification_id"].startswith("v_")

    with counted_statements(db) as statements:
        again = [client.get(url) for _ in range(20)]
    assert statements == []  # computed once for this state of the mirror, not per request
    assert {r.content for r in again} == {first.content} and {r.headers["etag"] for r in again} == {etag}

    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": f'"other", {etag.removeprefix("W/")}'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_retraction_changes_the_answer_and_its_etag(manual, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, address = manual
    body = registered_and_mirrored(client, db, photo(pdq_fixtures))
    url = f"/v1/verify/{body['content_hash']}"
    before = client.get(url)
    assert before.json()["verdict"] == "original"

    retract_in_mirror(db, body["uid"], address, block=7)
    # Until the feed's next poll the answer of the last one stands (the feed polls every 0.5 s).
    assert client.get(url).headers["etag"] == before.headers["etag"]
    client.app.state.ledger.matcher.refresh()
    after = client.get(url, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200, "a stale ETag must not be confirmed after a retraction"
    assert after.json()["verdict"] == "retracted" and after.json()["matches"][0]["retraction_reason"] == "wrong place"
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["verification_id"] != before.json()["verification_id"]


def test_unknown_is_kept_briefly_and_changes_when_registered(manual, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = manual
    client.app.state.ledger.matcher.refresh()
    unknown = client.get(f"/v1/verify/{UNKNOWN_HASH}")
    assert unknown.status_code == 200 and unknown.json()["verdict"] == "unknown"
    assert unknown.json()["query"] == {"sha256": UNKNOWN_HASH} | {k: None for k in unknown.json()["query"] if k != "sha256"}
    assert unknown.headers["cache-control"] == "public, max-age=10"
    with counted_statements(db) as statements:
        others = [client.get(f"/v1/verify/0x{i:064x}") for i in range(1, 30)]
    assert statements == [] and all(r.json()["verdict"] == "unknown" for r in others)
    assert len({r.headers["etag"] for r in others}) == len(others)  # an ETag per hash
    assert [r.json()["query"]["sha256"] for r in others] == [f"0x{i:064x}" for i in range(1, 30)]

    data = photo(pdq_fixtures)
    import hashlib

    content_hash = "0x" + hashlib.sha256(data).hexdigest()
    before = client.get(f"/v1/verify/{content_hash}")
    assert before.json()["verdict"] == "unknown"
    registered_and_mirrored(client, db, data)
    after = client.get(f"/v1/verify/{content_hash}", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.json()["verdict"] == "original"
    assert after.headers["cache-control"] == "public, max-age=60"


def test_bad_hash_is_422(setup) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = setup
    response = client.get("/v1/verify/0x1234")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_hash"


def test_after_the_mirror_moved_one_request_reads_a_hash_answer(manual, pdq_fixtures: Path,  # type: ignore[no-untyped-def]
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Every registration moves the mirror and drops every kept answer at once: the requests for a popular hash that
    arrive while one reads its answer from the database wait for that answer instead of each reading it."""
    client, db, _ = manual
    body = registered_and_mirrored(client, db, photo(pdq_fixtures))
    url = f"/v1/verify/{body['content_hash']}"
    assert client.get(url).json()["verdict"] == "original"
    with db.write() as session:  # the mirror moves: a new block indexed
        repo.save_checkpoint(session, CONTRACT, 31337, 6, "0x" + "66" * 32, 7)
    client.app.state.ledger.matcher.refresh()
    reads = []

    def slow_decision(*args):  # type: ignore[no-untyped-def]
        reads.append(args[2])
        time.sleep(0.3)  # a read that takes a while, as under load: the others arrive meanwhile
        return hash_decision(*args)

    monkeypatch.setattr(hash_answers, "hash_decision", slow_decision)

    async def together() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as concurrent:
            return await asyncio.gather(*(concurrent.get(url) for _ in range(12)))

    answers = client.portal.call(together)
    assert [r.status_code for r in answers] == [200] * 12 and len({r.content for r in answers}) == 1
    assert reads == [body["content_hash"]]
