"""Batch mode end to end on anvil: outbox -> Merkle batches -> anchorBatch -> mirror with proofs; retraction of
batch items and single records; a reorg that drops a root; the auditor's check of all of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import select

from ledger.adapters.anchorer import Anchorer, batch_content_hashes_of, registration_of
from ledger.adapters.audit import check_receipt
from ledger.adapters.chain.client import connect
from ledger.adapters.indexer.scanner import Indexer
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import BatchRow, PublisherAccountRow, RecordRow, RetractionRow, SubmissionRow
from ledger.config import ANVIL_TEST_RELAYER_KEY
from ledger.core.eip712 import Domain, recover_batch_anchor_signer, sign_batch_anchor
from ledger.core.fingerprint import Fingerprint
from ledger.core.manifest import build_manifest
from ledger.core.merkle import registration_leaf, verify_proof
from ledger.core.records import Registration
from ledger.usecases.context import Context
from ledger.usecases.receipt import receipt
from ledger.usecases.register import accept
from scripts.loadgen import LocalChain as Chain
from scripts.loadgen import start_local_chain
from tests.chain.test_indexer_robustness import ABI, assert_mirror_equals_chain, fresh_db


def accept_images(db: Database, chain: Chain, count: int, first: int = 0) -> list[str]:
    publisher = Account.from_key(chain.publisher_key).address
    with db.write() as session:
        if session.get(PublisherAccountRow, publisher) is None:
            session.add(PublisherAccountRow(address=publisher, name="Wire Service", domain="wire.example",
                                            keystore_file="unused", next_nonce=0,
                                            created_at=repo.utcnow()))  # fmt: skip
    uids = []
    for i in range(first, first + count):
        fp = Fingerprint("0x" + f"{i:064x}", "0x" + f"{i + 10**6:064x}", "0x" + "7c" * 32, 100, 10, 10, "PNG")
        manifest = build_manifest(publisher, fp, f"caption {i}", "credit")
        uids.append(accept(db, Domain(31337, chain.deployment.address), publisher, chain.publisher_key, fp, manifest, 3600).uid)
    return uids


def statuses(db: Database, uids: list[str]) -> list[str]:
    with db.read() as session:
        return [session.get(SubmissionRow, uid).status for uid in uids]  # type: ignore[union-attr]


def statuses_hash(db: Database, uid: str) -> str:
    with db.read() as session:
        return session.get(SubmissionRow, uid).content_hash  # type: ignore[union-attr]


def skip_backoff(db: Database) -> None:
    with db.write() as session:
        for model in (SubmissionRow, BatchRow):
            for row in session.scalars(select(model)):
                row.updated_at = repo.utcnow().replace(year=2000)


def test_batches_are_formed_anchored_mirrored_and_provable(chain: Chain, database_url: str) -> None:
    db = fresh_db(database_url)
    uids = accept_images(db, chain, 5)
    anchorer = Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY, mode="batch", batch_max_items=4,
                        batch_max_seconds=3600)  # fmt: skip
    indexer = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    publisher = Account.from_key(chain.publisher_key).address
    relayer = Account.from_key(ANVIL_TEST_RELAYER_KEY).address
    w3 = connect(chain.node.url)
    publisher_txs = w3.eth.get_transaction_count(publisher)
    assert anchorer.step() == 1  # one full batch of 4; the fifth waits for more or for time
    chain.settle()
    indexer.catch_up()
    assert statuses(db, uids) == ["anchored"] * 4 + ["pending"]

    anchorer.batch_max_seconds = 0  # the fifth has now waited long enough
    assert anchorer.step() == 1
    chain.settle()
    indexer.catch_up()
    assert statuses(db, uids) == ["anchored"] * 5

    # Issue 12: each root went on chain as anchorBatchBySig from the relayer's account, with the BatchAnchor
    # signature stored with the batch (the contract's nonces 0 and 1); the publisher's account sent nothing.
    with db.read() as session:
        batches = sorted(session.scalars(select(BatchRow)), key=lambda b: b.nonce or 0)
    assert [b.nonce for b in batches] == [0, 1] and chain.client.nonce(publisher) == 2
    for batch in batches:
        tx = w3.eth.get_transaction(batch.tx_hash)
        fn, args = chain.client.contract.decode_function_input(tx["input"])
        assert tx["from"] == relayer and fn.fn_name == "anchorBatchBySig" and args["publisher"] == publisher
        assert "0x" + bytes(args["signature"]).hex() == batch.signature and args["deadline"] == batch.deadline
        # Issue 11: the anchor lists the items' file hashes in the order of the tree's values, under the signature.
        listed = ["0x" + bytes(h).hex() for h in args["contentHashes"]]
        assert listed == batch_content_hashes_of(batch) and len(listed) == batch.count
        assert recover_batch_anchor_signer(Domain(31337, chain.deployment.address), batch.root, batch.count, batch.uri,
                                           listed, publisher, batch.nonce, batch.deadline, batch.signature) == publisher  # fmt: skip
    assert {statuses_hash(db, uid) for uid in uids} == {h for b in batches for h in batch_content_hashes_of(b)}
    assert w3.eth.get_transaction_count(publisher) == publisher_txs
    receipt_of_item = receipt(Context(db, 31337, chain.deployment.address), publisher, statuses_hash(db, uids[0]))
    assert receipt_of_item["batch_signature"] == batches[0].signature and receipt_of_item["batch_nonce"] == 0
    assert receipt_of_item["batch_count"] == 4
    checks = {c.name: c for c in check_receipt(w3, ABI, receipt_of_item)}  # what `provenance audit receipt` runs
    assert checks["batch signature"].ok and all(c.ok for c in checks.values()), checks
    assert checks["content hash listed"].ok and "BatchAnchored event" in checks
    forged = sign_batch_anchor(bytes(Account.create().key), Domain(31337, chain.deployment.address),
                               batches[0].root, 4, batches[0].uri, batch_content_hashes_of(batches[0]), 0,
                               batches[0].deadline)  # fmt: skip
    assert not {c.name: c for c in check_receipt(w3, ABI, {**receipt_of_item, "batch_signature": forged})}["batch signature"].ok

    with db.read() as session:
        rows = [session.get(SubmissionRow, uid) for uid in uids]
        records = [session.get(RecordRow, uid) for uid in uids]
    for row, record in zip(rows, records, strict=True):
        assert row is not None and record is not None and record.batch_root == row.batch_root
        proof = json.loads(row.proof or "[]")
        leaf = registration_leaf(registration_of(row), publisher)
        assert verify_proof(row.batch_root, leaf, proof)  # type: ignore[arg-type]
        assert chain.client.verify_inclusion(row.batch_root, registration_of(row), publisher, proof)
    assert len({r.batch_root for r in rows if r}) == 2
    assert_mirror_equals_chain(db, chain)

    # Retract one batch item (with its proof) and check the mirror records when and why.
    first = rows[0]
    assert first is not None
    chain.client.revoke_batch_item(chain.publisher_key, first.batch_root, registration_of(first), publisher,
                                   json.loads(first.proof or "[]"), 2, "the caption was wrong", wait=True)  # fmt: skip
    chain.settle()
    indexer.catch_up()
    with db.read() as session:
        revoked = session.get(RecordRow, first.uid)
        assert revoked is not None and revoked.revoked_at and revoked.revoke_code == 2
        assert revoked.revoke_reason == "the caption was wrong" and revoked.revoked_by_admin is False
    assert_mirror_equals_chain(db, chain)
    db.dispose()


def test_single_record_retraction_and_a_reorg_that_drops_a_root(chain: Chain, database_url: str) -> None:
    db = fresh_db(database_url)
    single = accept_images(db, chain, 1, first=100)
    Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY).step()  # single mode
    indexer = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    chain.settle()
    indexer.catch_up()
    chain.client.revoke(chain.publisher_key, single[0], 4, "published in error", wait=True)
    chain.settle()
    indexer.catch_up()
    with db.read() as session:
        assert session.get(RecordRow, single[0]).revoke_code == 4  # type: ignore[union-attr]

    batched = accept_images(db, chain, 3, first=200)
    anchorer = Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY, mode="batch", batch_max_items=3,
                        resend_after=0)  # fmt: skip
    assert anchorer.step() == 1
    chain.settle()
    indexer.catch_up()
    assert statuses(db, batched) == ["anchored"] * 3

    chain.rpc("anvil_reorg", 1, [])  # drops the block holding the root
    chain.settle()
    indexer.catch_up()
    assert statuses(db, batched) == ["sent"] * 3
    with db.read() as session:
        assert all(session.get(RecordRow, uid) is None for uid in batched)
        assert session.scalars(select(BatchRow)).one().status == "sent"
    assert_mirror_equals_chain(db, chain)

    anchorer.step()  # the root's transaction is gone: back to pending
    skip_backoff(db)
    assert anchorer.step() == 1  # anchored again, same root
    chain.settle()
    indexer.catch_up()
    assert statuses(db, batched) == ["anchored"] * 3
    with db.read() as session:
        assert session.get(RecordRow, single[0]).revoke_code == 4  # type: ignore[union-attr]
    assert_mirror_equals_chain(db, chain)
    db.dispose()


def test_publisher_retractions_go_on_chain_for_single_and_batched_records(chain: Chain, database_url: str) -> None:
    from ledger.usecases.retract import request_retraction

    db = fresh_db(database_url)
    single = accept_images(db, chain, 1, first=300)
    indexer = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    single_mode = Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    batch_mode = Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY, mode="batch", batch_max_items=2)
    publisher = Account.from_key(chain.publisher_key).address

    # Asked before the registration is on chain: it waits, then goes out.
    request_retraction(db, publisher, single[0], 1, "wrong caption")
    assert single_mode.step() == 1  # the registration only
    chain.settle()
    indexer.catch_up()
    assert single_mode.step() == 1  # now the retraction
    batched = accept_images(db, chain, 2, first=400)
    assert batch_mode.step() == 1
    chain.settle()
    indexer.catch_up()
    request_retraction(db, publisher, batched[1], 2, "manipulated")
    assert batch_mode.step() == 1  # revokeBatchItem with the stored proof
    chain.settle()
    indexer.catch_up()
    with db.read() as session:
        for uid, code in ((single[0], 1), (batched[1], 2)):
            record = session.get(RecordRow, uid)
            assert record is not None and record.revoke_code == code and record.revoked_at
            assert session.get(RetractionRow, uid).status == "anchored"  # type: ignore[union-attr]
        assert session.get(RecordRow, batched[0]).revoked_at is None  # type: ignore[union-attr]
    assert chain.client.revocation(batched[1]) is not None
    assert_mirror_equals_chain(db, chain)
    db.dispose()


def test_verify_answer_of_a_batched_image_carries_its_proof(chain: Chain, database_url: str) -> None:
    from ledger.core.merkle import registration_leaf, verify_proof
    from ledger.usecases.verify import verify_hash

    db = fresh_db(database_url)
    [uid] = accept_images(db, chain, 1, first=600)
    Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY, mode="batch", batch_max_items=1).step()
    chain.settle()
    Indexer(db, connect(chain.node.url), chain.deployment, ABI).catch_up()
    with db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None
        content_hash, registration = row.content_hash, registration_of(row)
    body = verify_hash(Context(db, 31337, chain.deployment.address), content_hash).model_dump()
    [match] = body["matches"]
    assert body["verdict"] == "original" and match["batch_root"] and match["leaf_index"] == 0
    leaf = registration_leaf(registration, Account.from_key(chain.publisher_key).address)
    assert verify_proof(match["batch_root"], leaf, match["proof"])
    db.dispose()


def test_batch_anchors_share_the_publishers_nonce_and_are_signed_again_when_it_moved(chain: Chain, database_url: str) -> None:
    """Two full batches leave in one step (nonces 0 and 1, the second sent before the first is mined); then the
    publisher's nonce is used behind the service's back, and the next batch's stored signature (made for the old
    nonce) is replaced by one for the contract's next nonce before it is sent."""
    from ledger.core.eip712 import sign_registration

    db = fresh_db(database_url)
    publisher = Account.from_key(chain.publisher_key).address
    uids = accept_images(db, chain, 8, first=800)
    anchorer = Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY,
                        mode="batch", batch_max_items=4, batch_max_seconds=3600)  # fmt: skip
    indexer = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    assert anchorer.step() == 2
    chain.settle()
    indexer.catch_up()
    assert statuses(db, uids) == ["anchored"] * 8 and chain.client.nonce(publisher) == 2

    more = accept_images(db, chain, 4, first=900)
    anchorer.form_batches()
    with db.write() as session:  # as if a signature had been made for nonce 2 at an earlier attempt
        [waiting] = session.scalars(select(BatchRow).where(BatchRow.status == "pending")).all()
        waiting.nonce, waiting.deadline, waiting.signature = 2, 2**40, "0x" + "11" * 65
    other = Registration("0x" + "ee" * 32, "0x" + "ef" * 32, "0x" + "f0" * 32, "0x" + "f1" * 32)
    domain = Domain(31337, chain.deployment.address)
    chain.client.register_by_sig(ANVIL_TEST_RELAYER_KEY, other, publisher, 2**40,
                                 sign_registration(chain.publisher_key, domain, other, 2, 2**40), wait=True)  # fmt: skip
    assert anchorer.step() == 1
    chain.settle()
    indexer.catch_up()
    assert statuses(db, more) == ["anchored"] * 4
    with db.read() as session:
        sent = session.get(BatchRow, (waiting.publisher, waiting.root))
    assert sent is not None and sent.nonce == 3 and sent.signature != "0x" + "11" * 65
    assert recover_batch_anchor_signer(domain, sent.root, sent.count, sent.uri, batch_content_hashes_of(sent), publisher, 3,
                                       sent.deadline, sent.signature) == publisher  # fmt: skip
    assert chain.client.nonce(publisher) == 4

    # A stored signature with the right nonce, but for another contract (one replaced by --redeploy; likewise one in
    # the BatchAnchor type from before the content hashes were signed): signed again, not sent to be refused.
    last = accept_images(db, chain, 4, first=1000)
    anchorer.form_batches()
    with db.write() as session:
        [waiting] = session.scalars(select(BatchRow).where(BatchRow.status == "pending")).all()
        stale = sign_batch_anchor(chain.publisher_key, Domain(31337, "0x" + "12" * 20), waiting.root, waiting.count,
                                  waiting.uri, batch_content_hashes_of(waiting), 4, 2**40)  # fmt: skip
        waiting.nonce, waiting.deadline, waiting.signature = 4, 2**40, stale
    assert anchorer.step() == 1
    chain.settle()
    indexer.catch_up()
    assert statuses(db, last) == ["anchored"] * 4
    with db.read() as session:
        sent = session.get(BatchRow, (waiting.publisher, waiting.root))
    assert sent is not None and sent.nonce == 4 and sent.signature != stale
    db.dispose()
