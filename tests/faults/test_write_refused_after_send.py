"""Issue 14: the database refuses the anchorer's "sent" mark right after its transaction went out (another process
holds a lock past the busy timeout, as in test_sqlite_lock_past_timeout.py; or the disk filled). The registration is
mined with the nonce its stored signature carries, but the outbox still says "pending, never sent". The anchorer
must find it on chain, not sign it again: a new signature with the next nonce would be stored in the receipt although
the chain verified the old one (the estimate then says "already registered", so nothing is doubled, but the receipt
is wrong); a newsroom-signed one was marked refused ("nonce already used: sign it again") until the indexer
mirrored it. Both failed before the anchorer looked such rows up on chain. The same for a retraction: a newsroom's
signed one (``revokeBySig``) was marked refused the same way until the anchorer looked it up (``getRevocation``); a
service-held publisher's (``revoke`` from its account) is estimated first, and the estimate's "already revoked" says
it is on chain. Real anvil; the lock is real (SQLite: BEGIN EXCLUSIVE from another connection, PostgreSQL: LOCK
TABLE from another session), taken the moment the transaction was sent; on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import pytest
from eth_account import Account

from ledger.adapters.anchorer import Anchorer
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import RetractionRow, SubmissionRow
from ledger.config import ANVIL_TEST_RELAYER_KEY
from ledger.errors import StorageUnavailable
from tests.chain.test_batches import accept_images
from tests.chain.test_indexer_and_anchorer import Chain, chain  # noqa: F401 - the fixture
from tests.faults.counting import registered_events, revoked_events

Row = TypeVar("Row", SubmissionRow, RetractionRow)
LOCK_WAIT_SECONDS = 0.3  # how long the anchorer's writes wait for the lock before they are refused


def impatient_database(url: str) -> Database:
    """The same database, opened by a writer that gives up on a lock after LOCK_WAIT_SECONDS."""
    if url.startswith("sqlite"):
        return Database(url, busy_timeout_seconds=LOCK_WAIT_SECONDS)
    return Database(f"{url}?options=-c%20lock_timeout%3D{int(LOCK_WAIT_SECONDS * 1000)}")


def lock_database(url: str, table: str) -> Callable[[], None]:
    """Another process's lock on the outbox (on PostgreSQL, on ``table``); returns what releases it."""
    if url.startswith("sqlite"):
        connection: Any = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")

        def release() -> None:
            connection.execute("ROLLBACK")
            connection.close()

        return release
    connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    connection.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")

    def release_pg() -> None:
        connection.rollback()
        connection.close()

    return release_pg


def service_signed(chain: Chain) -> str:  # noqa: F811
    [uid] = accept_images(chain.db, chain, 1, first=1)  # type: ignore[arg-type]
    return uid


def newsroom_signed(chain: Chain) -> str:  # noqa: F811
    return newsroom_registration(chain)


def newsroom_registration(chain: Chain, nonce: int = 0, seed: int = 501) -> str:  # noqa: F811
    """A registration the newsroom signed itself (issue 12's custody b) with ``nonce``, queued for relaying."""
    from ledger.adapters.store import repository as repo
    from ledger.adapters.store.models import PublisherAccountRow
    from ledger.core.eip712 import Domain
    from ledger.core.fingerprint import Fingerprint
    from ledger.core.manifest import build_manifest
    from ledger.core.signed import sign_bundle
    from ledger.usecases.context import Context
    from ledger.usecases.signed import register_signed

    newsroom = Account.from_key(chain.publisher_key).address
    with chain.db.write() as session:
        if session.get(PublisherAccountRow, newsroom) is None:
            session.add(PublisherAccountRow(address=newsroom, name="Wire Service", domain="wire.example",
                                            keystore_file=None, next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
    domain = Domain(31337, chain.deployment.address)
    fp = Fingerprint("0x" + f"{seed:064x}", "0x" + f"{seed + 100:064x}", "0x" + "0c" * 32, 100, 10, 10, "PNG")
    manifest = build_manifest(newsroom, fp, "caption", "credit")
    bundle = sign_bundle(chain.publisher_key, domain, newsroom, manifest, nonce, 2**40)
    context = Context(chain.db, 31337, chain.deployment.address, chain_nonce=chain.client.nonce)
    return str(register_signed(context, newsroom, bundle.as_json()).uid)


def step_with_mark_refused(chain: Chain, db: Database, sender: str, table: str) -> Anchorer:  # noqa: F811
    """One anchorer step on ``db`` whose transaction (sent with ``chain.client.<sender>``) goes out and whose "sent"
    mark is then refused: another process locks ``table`` the moment the node took the transaction. Returns the
    anchorer, for the steps after the lock is gone."""
    releases: list[Callable[[], None]] = []
    send = getattr(chain.client, sender)

    def send_then_lock(*args: Any, **kwargs: Any) -> Any:
        tx = send(*args, **kwargs)
        releases.append(lock_database(chain.db.url, table))  # the moment after the node took it
        return tx

    setattr(chain.client, sender, send_then_lock)
    anchorer = Anchorer(db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    try:
        with pytest.raises(StorageUnavailable):
            anchorer.step()  # run() logs this and goes on
    finally:
        for release in releases:
            release()
        setattr(chain.client, sender, send)
    assert len(releases) == 1  # sent once
    return anchorer


def found_on_chain_not_sent_again(chain: Chain, db: Database, anchorer: Anchorer, model: type[Row], uid: str) -> Row:  # noqa: F811
    """After the refused mark (the row still pending, never sent): the next step sends nothing and marks the row
    sent, on chain already, then the indexer anchors it. Returns the anchored row."""

    def current() -> Row:
        with db.read() as session:
            row = session.get(model, uid)
            assert row is not None
            return row

    row = current()
    assert row.status == "pending" and row.attempts == 0  # the mark was refused
    assert anchorer.step() == 0  # nothing sent: it is on chain already
    row = current()
    # Not "refused: nonce already used, sign it again" (what a newsroom's row became until the indexer caught up).
    assert row.status == "sent" and row.last_error is None, (row.status, row.last_error)
    chain.catch_up(chain.indexer())
    row = current()
    assert row.status == "anchored", (row.status, row.last_error)
    return row


@pytest.mark.parametrize("queue", [service_signed, newsroom_signed], ids=["service-key", "newsroom-key"])
def test_a_registration_whose_sent_mark_was_refused_is_found_on_chain_not_signed_again(
    chain: Chain, queue: Callable[[Chain], str]  # noqa: F811
) -> None:
    uid = queue(chain)
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None
        signed = (row.nonce, row.signature)
    address = Account.from_key(chain.publisher_key).address
    db = impatient_database(chain.db.url)
    anchorer = step_with_mark_refused(chain, db, "register_by_sig", "submissions")
    assert chain.client.nonce(address) == signed[0] + 1  # mined with the stored signature's nonce
    row = found_on_chain_not_sent_again(chain, db, anchorer, SubmissionRow, uid)
    assert (row.nonce, row.signature) == signed  # the receipt holds the signature the chain verified
    assert registered_events(chain.client, 0) == {row.content_hash: 1}
    db.dispose()


REASON = "The caption named the wrong town."


def anchor(chain: Chain, uid: str) -> None:  # noqa: F811
    """Send the registration and mirror it, with the ordinary database: the retraction is what the fault hits."""
    anchorer = Anchorer(chain.db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    assert anchorer.step() == 1
    chain.catch_up(chain.indexer())
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "anchored"


def retract_with_service_key(chain: Chain, uid: str) -> str:  # noqa: F811
    """The service-held publisher's retraction, sent with ``revoke`` from its own account; returns what sends it."""
    from ledger.usecases.context import Context
    from ledger.usecases.retract import retract

    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None
        content_hash = row.content_hash
    retract(Context(chain.db, 31337, chain.deployment.address), row.publisher, content_hash, 1, REASON)
    return "revoke"


def retract_with_newsroom_key(chain: Chain, uid: str) -> str:  # noqa: F811
    """The newsroom's own signed retraction (its next nonce, 1), relayed with ``revokeBySig``."""
    from ledger.core.eip712 import Domain
    from ledger.core.signed import sign_retraction
    from ledger.usecases.context import Context
    from ledger.usecases.retract import retract_signed

    newsroom = Account.from_key(chain.publisher_key).address
    signed = sign_retraction(chain.publisher_key, Domain(31337, chain.deployment.address), newsroom, uid, 1, REASON,
                             chain.client.nonce(newsroom), 2**40)  # fmt: skip
    context = Context(chain.db, 31337, chain.deployment.address, chain_nonce=chain.client.nonce)
    retract_signed(context, newsroom, signed.as_json())
    return "revoke_by_sig"


@pytest.mark.parametrize(
    ("queue", "retract"),
    [(service_signed, retract_with_service_key), (newsroom_signed, retract_with_newsroom_key)],
    ids=["service-key", "newsroom-key"],
)
def test_a_retraction_whose_sent_mark_was_refused_is_found_on_chain_not_refused(
    chain: Chain, queue: Callable[[Chain], str], retract: Callable[[Chain, str], str]  # noqa: F811
) -> None:
    """The same fault on a retraction: sent, mined, its "sent" mark refused. A newsroom's signed one was then marked
    refused ("nonce already used: sign this retraction again") although the chain had it, until the indexer
    mirrored it; the service-held publisher's is sent with an estimate, which says "already revoked"."""
    uid = queue(chain)
    anchor(chain, uid)
    address = Account.from_key(chain.publisher_key).address
    sender = retract(chain, uid)
    nonce_before = chain.client.nonce(address)
    db = impatient_database(chain.db.url)
    anchorer = step_with_mark_refused(chain, db, sender, "retractions")
    revocation = chain.client.revocation(uid)
    assert revocation is not None and revocation.revoked_by == address and not revocation.by_admin  # mined
    found_on_chain_not_sent_again(chain, db, anchorer, RetractionRow, uid)
    assert revoked_events(chain.client, 0) == {uid: 1}  # retracted once: neither lost nor sent twice
    assert chain.client.nonce(address) == nonce_before + (sender == "revoke_by_sig")  # its signature's nonce, once
    db.dispose()
