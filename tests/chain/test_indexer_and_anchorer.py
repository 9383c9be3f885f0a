"""Indexer and anchorer on a real anvil (started through the same AnvilNode `provenance up` uses)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import func, select

from ledger.adapters.anchorer import Anchorer
from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.chain.deployment import Deployment, ensure_deployment
from ledger.adapters.chain.node import AnvilNode
from ledger.adapters.indexer.scanner import Indexer
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow, PublisherRow, RecordRow, SubmissionRow
from ledger.config import ANVIL_TEST_ADMIN_KEY, ANVIL_TEST_RELAYER_KEY
from ledger.core.eip712 import Domain, sign_registration
from ledger.core.fingerprint import Fingerprint
from ledger.core.manifest import build_manifest
from ledger.core.records import Registration, record_uid
from ledger.usecases.register import accept
from tests.conftest import free_port, wait_for


@dataclass
class Chain:
    node: AnvilNode
    client: RegistryClient
    deployment: Deployment
    db: Database
    publisher_key: bytes

    def indexer(self, max_range: int = 2000) -> Indexer:
        return Indexer(self.db, connect(self.node.url), self.deployment, self.client.abi, max_range=max_range)

    def catch_up(self, indexer: Indexer) -> None:
        indexer.catch_up()


@pytest.fixture
def chain(tmp_path: Path, database_url: str) -> Iterator[Chain]:
    node = AnvilNode(tmp_path / "chain", free_port())
    node.start()
    try:
        w3 = connect(node.url)
        deployment = ensure_deployment(w3, tmp_path / "deployment.json", load_artifact(), ANVIL_TEST_ADMIN_KEY, node.url)
        client = RegistryClient(w3, deployment.address, load_artifact()["abi"])
        publisher = Account.create()
        client.add_publisher(ANVIL_TEST_ADMIN_KEY, publisher.address, "Wire Service", "wire.example")
        client.fund(ANVIL_TEST_ADMIN_KEY, publisher.address, 10**20)
        db = Database(database_url)
        upgrade(db.engine)
        yield Chain(node, client, deployment, db, bytes(publisher.key))
        db.dispose()
    finally:
        node.stop()


def registration(i: int) -> Registration:
    h = lambda tag: "0x" + (tag * 16 + i.to_bytes(16, "big")).hex()  # noqa: E731
    return Registration(h(b"\x01"), h(b"\x02"), h(b"\x03"), h(b"\x04"))


def count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_indexer_mirrors_every_event_once_across_restarts(chain: Chain) -> None:
    for i in range(25):
        chain.client.register(chain.publisher_key, registration(i), wait=True)
    # Small ranges so the catch-up takes many committed steps, then "crash" half-way and start a new indexer.
    first = chain.indexer(max_range=3)
    for _ in range(5):
        first.step()
    partial = count(chain.db, RecordRow)
    assert 0 < partial < 25
    second = chain.indexer(max_range=3)
    chain.catch_up(second)
    assert count(chain.db, RecordRow) == 25
    assert count(chain.db, PublisherRow) == 1

    # Rewind the checkpoint to before the deployment and replay everything: upserts, no duplicates.
    with chain.db.write() as session:
        repo.save_checkpoint(session, chain.deployment.address, 31337, chain.deployment.block - 1, None, 0)
    chain.catch_up(chain.indexer())
    assert count(chain.db, RecordRow) == 25
    with chain.db.read() as session:
        rows = session.scalars(select(RecordRow)).all()
        publisher = session.get(PublisherRow, rows[0].publisher)
    assert publisher is not None and publisher.name == "Wire Service"
    assert {r.uid for r in rows} == {record_uid(r.publisher, registration(i).content_hash) for i, r in enumerate(sorted(rows, key=lambda r: (r.block_number, r.log_index)))}


def _accept_one(chain: Chain, address: str) -> str:
    fp = Fingerprint("0x" + "0a" * 32, "0x" + "0b" * 32, "0x" + "0c" * 32, 100, 10, 10, "PNG")
    with chain.db.write() as session:
        session.add(PublisherAccountRow(address=address, name="Wire Service", domain="wire.example", keystore_file="unused", next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
    manifest = build_manifest(address, fp, "caption", "credit")
    return accept(chain.db, Domain(31337, chain.deployment.address), address, chain.publisher_key, fp, manifest, 3600).uid


def test_outbox_row_goes_pending_sent_anchored(chain: Chain) -> None:
    address = Account.from_key(chain.publisher_key).address
    uid = _accept_one(chain, address)
    anchorer = Anchorer(chain.db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    assert anchorer.step() == 1
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "sent" and row.tx_hash
    chain.catch_up(chain.indexer())
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "anchored"
    assert anchorer.step() == 0  # nothing left to send


def test_anchorer_recovers_from_a_crash_after_sending(chain: Chain) -> None:
    """The transaction went out but the 'sent' mark was lost: the retry sees it on chain instead of failing."""
    address = Account.from_key(chain.publisher_key).address
    uid = _accept_one(chain, address)
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None
        reg = Registration(row.content_hash, row.pixel_hash, row.pdq_hash, row.manifest_hash, row.parent)
    chain.client.register(chain.publisher_key, reg, wait=True)  # as if sent just before a crash
    anchorer = Anchorer(chain.db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    assert anchorer.step() == 0
    with chain.db.read() as session:
        assert session.get(SubmissionRow, uid).status == "sent"  # type: ignore[union-attr]
    chain.catch_up(chain.indexer())
    with chain.db.read() as session:
        assert session.get(SubmissionRow, uid).status == "anchored"  # type: ignore[union-attr]


def test_lost_transaction_is_sent_again(chain: Chain) -> None:
    """A 'sent' row whose transaction the chain no longer knows goes back to pending and is re-sent."""
    address = Account.from_key(chain.publisher_key).address
    uid = _accept_one(chain, address)
    with chain.db.write() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None
        row.status, row.tx_hash, row.attempts = "sent", "0x" + "ee" * 32, 1
    anchorer = Anchorer(chain.db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY, resend_after=0)
    anchorer.step()  # finds the transaction missing
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "pending" and "not found" in (row.last_error or "")
        row_attempts = row.attempts
    with chain.db.write() as session:  # skip the retry backoff
        session.get(SubmissionRow, uid).updated_at = repo.utcnow().replace(year=2000)  # type: ignore[union-attr]
    assert anchorer.step() == 1
    chain.catch_up(chain.indexer())
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "anchored" and row.attempts == row_attempts + 1


def test_audit_mirror_reports_missing_extra_and_changed_rows(chain: Chain) -> None:
    from ledger.adapters.audit import ChainReader, audit_mirror

    for i in range(3):
        chain.client.register(chain.publisher_key, registration(i), wait=True)
    chain.catch_up(chain.indexer())
    reader = ChainReader(connect(chain.node.url), chain.deployment.address, chain.client.abi)
    assert audit_mirror(chain.db, reader, chain.deployment.block).equal
    with chain.db.write() as session:
        rows = session.scalars(select(RecordRow).order_by(RecordRow.block_number)).all()
        session.delete(rows[0])
        rows[1].manifest_hash = "0x" + "ff" * 32
        session.add(RecordRow(**{**{c.name: getattr(rows[2], c.name) for c in RecordRow.__table__.columns},
                                 "uid": "0x" + "ee" * 32}))  # fmt: skip
    report = audit_mirror(chain.db, reader, chain.deployment.block)
    records = next(t for t in report.tables if t.table == "records")
    assert not report.equal
    assert len(records.missing) == 1 and len(records.changed) == 1 and len(records.extra) == 1
    assert records.chain_digest != records.mirror_digest


def test_suspended_publishers_work_is_held_then_sent_when_reenabled(chain: Chain) -> None:
    """Issue 12: the admin suspends the publisher on chain while a registration waits. The contract refuses it
    (before the mirror knows: the anchorer holds it at the revert), it stays held with the reason instead of being
    retried, and once the publisher is re-enabled on chain and mirrored it is sent and anchored."""
    address = Account.from_key(chain.publisher_key).address
    uid = _accept_one(chain, address)
    chain.client.suspend_publisher(ANVIL_TEST_ADMIN_KEY, address)
    anchorer = Anchorer(chain.db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    assert anchorer.step() == 0
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "held" and "suspended on chain" in (row.last_error or "")
    chain.catch_up(chain.indexer())  # the mirror sees the suspension: the reason names its block
    for _ in range(3):
        assert anchorer.step() == 0  # held: not retried
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "held" and row.tx_hash is None

    chain.client.reenable_publisher(ANVIL_TEST_ADMIN_KEY, address)
    assert anchorer.step() == 0  # the mirror does not know yet: still held
    chain.catch_up(chain.indexer())
    assert anchorer.step() == 1  # released and sent at once (attempts reset, no backoff)
    with chain.db.read() as session:
        sent = session.get(SubmissionRow, uid)
        assert sent is not None and sent.status == "sent" and sent.tx_hash and sent.attempts == 1
    wait_for(lambda: chain.client.receipt(sent.tx_hash))  # anvil answers a send before it seals the block
    chain.catch_up(chain.indexer())
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "anchored"


def _accept_many(chain: Chain, address: str, n: int) -> list[str]:
    with chain.db.write() as session:
        session.add(PublisherAccountRow(address=address, name="Wire Service", domain="wire.example", keystore_file="unused", next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
    uids = []
    for i in range(n):
        fp = Fingerprint("0x" + f"{i + 1:064x}", "0x" + f"{i + 100:064x}", "0x" + "0c" * 32, 100, 10, 10, "PNG")
        manifest = build_manifest(address, fp, f"caption {i}", "credit")
        uids.append(accept(chain.db, Domain(31337, chain.deployment.address), address, chain.publisher_key, fp,
                           manifest, 3600).uid)  # fmt: skip
    return uids


def test_relayer_sends_the_stored_signature_with_the_contracts_nonce(chain: Chain) -> None:
    """Issue 12 (custody, service-held keys): the anchorer relays `registerBySig` from its own account with the
    signature stored in the receipt. Five registrations go out in one step (nonces 0-4, the later ones pipelined);
    then a nonce is used behind the service's back, and the next registration is signed again with the contract's
    nonce, the new signature stored before it is sent."""
    from eth_account import Account as Acct
    from web3 import Web3

    from ledger.config import ANVIL_TEST_ADMIN_KEY as admin_key
    from ledger.core.eip712 import sign_registration

    address = Account.from_key(chain.publisher_key).address
    relayer = Acct.from_key(ANVIL_TEST_RELAYER_KEY).address
    assert relayer not in (address, Acct.from_key(admin_key).address)
    uids = _accept_many(chain, address, 5)
    anchorer = Anchorer(chain.db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    assert anchorer.step() == 5
    with chain.db.read() as session:
        rows = [session.get(SubmissionRow, uid) for uid in uids]
    w3 = Web3(Web3.HTTPProvider(chain.node.url))
    for row in rows:
        assert row is not None and row.status == "sent"
        wait_for(lambda row=row: chain.client.receipt(row.tx_hash))
        tx = w3.eth.get_transaction(row.tx_hash)
        assert tx["from"] == relayer  # the relayer pays; the publisher's key never sends
        fn, args = chain.client.contract.decode_function_input(tx["input"])
        assert fn.fn_name == "registerBySig" and args["publisher"] == address
        assert "0x" + bytes(args["signature"]).hex() == row.signature and args["deadline"] == row.deadline
        assert chain.client.receipt(row.tx_hash)["status"] == 1
    assert sorted(r.nonce for r in rows if r) == [0, 1, 2, 3, 4] and chain.client.nonce(address) == 5
    chain.catch_up(chain.indexer())
    for uid in uids:
        assert chain.client.get_record(uid).relayed

    # Nonce 5 is used elsewhere (the newsroom relayed a registration itself): the queued one is signed again with 6.
    [late] = _accept_more(chain, address)
    other = registration(77)
    chain.client.register_by_sig(ANVIL_TEST_RELAYER_KEY, other, address, 2**40,
                                 sign_registration(chain.publisher_key, chain.client.domain(), other, 5, 2**40), wait=True)  # fmt: skip
    assert anchorer.step() == 1
    with chain.db.read() as session:
        row = session.get(SubmissionRow, late)
    assert row is not None and row.nonce == 6 and row.status == "sent"
    wait_for(lambda: chain.client.receipt(row.tx_hash))
    _, args = chain.client.contract.decode_function_input(w3.eth.get_transaction(row.tx_hash)["input"])
    assert "0x" + bytes(args["signature"]).hex() == row.signature
    chain.catch_up(chain.indexer())
    with chain.db.read() as session:
        assert session.get(SubmissionRow, late).status == "anchored"  # type: ignore[union-attr]


def _accept_more(chain: Chain, address: str) -> list[str]:
    fp = Fingerprint("0x" + "6a" * 32, "0x" + "6b" * 32, "0x" + "6c" * 32, 100, 10, 10, "PNG")
    manifest = build_manifest(address, fp, "late", "credit")
    return [accept(chain.db, Domain(31337, chain.deployment.address), address, chain.publisher_key, fp, manifest,
                   3600).uid]  # fmt: skip


def test_newsroom_signature_whose_nonce_was_used_is_refused_and_never_relayed(chain: Chain) -> None:
    """Issue 12 (custody, newsroom-held keys): a signature whose nonce the contract has used is refused before it is
    queued (409 `nonce_in_use`, the contract's next nonce in the sentence); one queued before its nonce was used
    elsewhere is marked `refused` by the anchorer and never sent, however often the anchorer runs; signed again
    with the next nonce, it goes on chain once."""
    from web3 import Web3

    from ledger.core.signed import sign_bundle
    from ledger.errors import NonceInUse
    from ledger.usecases.context import Context
    from ledger.usecases.signed import register_signed

    newsroom = Account.from_key(chain.publisher_key).address
    with chain.db.write() as session:
        session.add(PublisherAccountRow(address=newsroom, name="Wire Service", domain="wire.example", keystore_file=None,
                                        next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
    domain = Domain(31337, chain.deployment.address)

    def bundle(i: int, nonce: int) -> dict:  # type: ignore[type-arg]
        fp = Fingerprint("0x" + f"{i + 500:064x}", "0x" + f"{i + 600:064x}", "0x" + "0c" * 32, 100, 10, 10, "PNG")
        manifest = build_manifest(newsroom, fp, f"caption {i}", "credit")
        return sign_bundle(chain.publisher_key, domain, newsroom, manifest, nonce, 2**40).as_json()

    checked = Context(chain.db, 31337, chain.deployment.address, chain_nonce=chain.client.nonce)
    unchecked = Context(chain.db, 31337, chain.deployment.address)  # as if the nonce were used after the check
    queued = register_signed(checked, newsroom, bundle(1, 0))
    # Behind the service's back the newsroom relays another registration with nonce 0 itself.
    other = registration(88)
    chain.client.register_by_sig(ANVIL_TEST_RELAYER_KEY, other, newsroom, 2**40,
                                 sign_registration(chain.publisher_key, domain, other, 0, 2**40), wait=True)  # fmt: skip
    assert chain.client.nonce(newsroom) == 1

    w3 = Web3(Web3.HTTPProvider(chain.node.url))
    relayer = Account.from_key(ANVIL_TEST_RELAYER_KEY).address
    sent_before = w3.eth.get_transaction_count(relayer)
    anchorer = Anchorer(chain.db, chain.client, lambda _a: b"", relayer_key=ANVIL_TEST_RELAYER_KEY)
    for _ in range(3):
        assert anchorer.step() == 0
        with chain.db.write() as session:
            row = session.get(SubmissionRow, queued.uid)
            assert row is not None and row.status == "refused" and row.tx_hash is None
            assert "nonce 0 was already used on chain" in (row.last_error or "")
            row.updated_at = row.updated_at.replace(year=2000)  # no backoff: it would be sent now if it could be
    assert w3.eth.get_transaction_count(relayer) == sent_before  # never relayed

    # Before queueing, the contract's nonce is asked: a used nonce is refused with the next one named.
    try:
        register_signed(checked, newsroom, bundle(2, 0))
        raise AssertionError("a used nonce was accepted")
    except NonceInUse as exc:
        assert exc.code == "nonce_in_use" and "next nonce" in exc.message and "is 1" in exc.message
    with chain.db.read() as session:
        assert session.scalar(select(func.count()).select_from(SubmissionRow)) == 1  # nothing queued
    # The refused registration, signed again with the next nonce, replaces the refused row and goes on chain once.
    again = register_signed(unchecked, newsroom, bundle(1, 1))
    assert again.uid == queued.uid
    assert anchorer.step() == 1
    with chain.db.read() as session:
        row = session.get(SubmissionRow, queued.uid)
    assert row is not None and row.status == "sent" and row.nonce == 1
    wait_for(lambda: chain.client.receipt(row.tx_hash))
    chain.catch_up(chain.indexer())
    assert anchorer.step() == 0
    assert w3.eth.get_transaction_count(relayer) == sent_before + 1
    with chain.db.read() as session:
        assert session.get(SubmissionRow, queued.uid).status == "anchored"  # type: ignore[union-attr]
