"""Issue 14: the database refuses the anchorer's "sent" mark right after its transaction went out (another process
holds a lock past the busy timeout, as in test_sqlite_lock_past_timeout.py; or the disk filled). The registration is
mined with the nonce its stored signature carries, but the outbox still says "pending, never sent". The anchorer
must find it on chain, not sign it again: a new signature with the next nonce would be stored in the receipt although
the chain verified the old one (the estimate then says "already registered", so nothing is doubled, but the receipt
is wrong). Real anvil; the lock is real (SQLite: BEGIN EXCLUSIVE from another connection, PostgreSQL: LOCK TABLE
from another session), taken the moment the transaction was sent; on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from eth_account import Account

from ledger.adapters.anchorer import Anchorer
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import SubmissionRow
from ledger.config import ANVIL_TEST_RELAYER_KEY
from ledger.errors import StorageUnavailable
from tests.chain.test_batches import accept_images
from tests.chain.test_indexer_and_anchorer import Chain, chain  # noqa: F401 - the fixture
from tests.faults.counting import registered_events

LOCK_WAIT_SECONDS = 0.3  # how long the anchorer's writes wait for the lock before they are refused


def impatient_database(url: str) -> Database:
    """The same database, opened by a writer that gives up on a lock after LOCK_WAIT_SECONDS."""
    if url.startswith("sqlite"):
        return Database(url, busy_timeout_seconds=LOCK_WAIT_SECONDS)
    return Database(f"{url}?options=-c%20lock_timeout%3D{int(LOCK_WAIT_SECONDS * 1000)}")


def lock_database(url: str) -> Callable[[], None]:
    """Another process's lock on the outbox; returns what releases it."""
    if url.startswith("sqlite"):
        connection: Any = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")

        def release() -> None:
            connection.execute("ROLLBACK")
            connection.close()

        return release
    connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    connection.execute("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE")

    def release_pg() -> None:
        connection.rollback()
        connection.close()

    return release_pg


def test_a_registration_whose_sent_mark_was_refused_is_found_on_chain_not_signed_again(chain: Chain) -> None:  # noqa: F811
    [uid] = accept_images(chain.db, chain, 1, first=1)  # type: ignore[arg-type]
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None
        signed = (row.nonce, row.signature)
    address = Account.from_key(chain.publisher_key).address
    db = impatient_database(chain.db.url)
    releases: list[Callable[[], None]] = []
    send = chain.client.register_by_sig

    def send_then_lock(*args: Any, **kwargs: Any) -> Any:
        tx = send(*args, **kwargs)
        releases.append(lock_database(chain.db.url))  # the moment after the node took it
        return tx

    chain.client.register_by_sig = send_then_lock  # type: ignore[method-assign]
    anchorer = Anchorer(db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    try:
        with pytest.raises(StorageUnavailable):
            anchorer.step()  # run() logs this and goes on
    finally:
        for release in releases:
            release()
    chain.client.register_by_sig = send  # type: ignore[method-assign]
    assert chain.client.nonce(address) == signed[0] + 1  # mined with the stored signature's nonce
    with db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "pending" and row.attempts == 0  # the mark was refused

    assert anchorer.step() == 0  # nothing sent: it is on chain already
    chain.catch_up(chain.indexer())
    with db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "anchored", (row.status if row else None, row.last_error if row else None)
        assert (row.nonce, row.signature) == signed  # the receipt holds the signature the chain verified
    assert registered_events(chain.client, 0) == {row.content_hash: 1}
    db.dispose()
