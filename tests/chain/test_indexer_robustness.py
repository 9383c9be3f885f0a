"""The mirror equals the chain after crashes, reorganisations and node restarts, on SQLite and PostgreSQL.
Each scenario ends with the auditor's independent check (`ledger.adapters.audit.audit_mirror`)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import func, select

from ledger.adapters.anchorer import Anchorer
from ledger.adapters.audit import ChainReader, audit_mirror
from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import connect
from ledger.adapters.indexer.scanner import Indexer
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow, RecordRow, SubmissionRow
from ledger.config import ANVIL_TEST_RELAYER_KEY
from ledger.core.eip712 import Domain
from ledger.core.fingerprint import Fingerprint
from ledger.core.manifest import build_manifest
from ledger.core.records import record_uid
from ledger.usecases.register import accept
from scripts.loadgen import LocalChain, flood, registration, start_local_chain
from tests.conftest import ROOT, wait_for

ABI = load_artifact()["abi"]
FLOOD_EVENTS = 10_000


Chain = LocalChain


@pytest.fixture(scope="module")
def flooded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """A chain holding more than 10,000 events, shared by the crash tests (they only read it)."""
    chain = start_local_chain(tmp_path_factory.mktemp("flooded") / "var")
    try:
        flood(chain.node.url, chain.deployment.address, ABI, chain.publisher, FLOOD_EVENTS)
        yield chain
    finally:
        chain.node.stop()


def fresh_db(url: str) -> Database:
    db = Database(url)
    upgrade(db.engine)
    return db


def assert_mirror_equals_chain(db: Database, chain: Chain) -> None:
    report = audit_mirror(db, ChainReader(connect(chain.node.url), chain.deployment.address, ABI), chain.deployment.block)
    problems = {t.table: (t.missing[:3], t.extra[:3], t.changed[:3]) for t in report.tables if not t.equal}
    assert report.equal, problems


def checkpoint(db: Database, chain: Chain) -> int:
    with db.read() as session:
        row = repo.get_checkpoint(session, chain.deployment.address)
        return row.block_number if row else -1


def count_records(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(RecordRow)) or 0)


def test_kill_9_during_catch_up_then_resume(flooded: Chain, database_url: str) -> None:
    """SIGKILL the indexer process at random points of a >10,000-event catch-up, several times; the final
    mirror has every event exactly once."""
    db = fresh_db(database_url)
    env = {**os.environ, "PROVENANCE_DATA_DIR": str(flooded.data_dir), "PROVENANCE_DATABASE_URL": database_url,
           "PROVENANCE_RPC_URL": flooded.node.url, "PROVENANCE_INDEXER_MAX_RANGE": "1"}  # fmt: skip
    command = [sys.executable, "-m", "ledger.cli.main", "worker", "indexer"]
    head = flooded.head()
    rng = random.Random(20261128)
    kills = 0
    last = checkpoint(db, flooded)
    while kills < 4 and last < head:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: checkpoint(db, flooded) > last, timeout=60, interval=0.02)
            time.sleep(rng.uniform(0.0, 0.15))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        kills += 1
        last = checkpoint(db, flooded)
    assert kills >= 3 and last < head, "the catch-up finished before the indexer could be killed three times"
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: checkpoint(db, flooded) >= head, timeout=120, interval=0.1)
    finally:
        process.terminate()
        process.wait(30)
    assert count_records(db) == FLOOD_EVENTS
    assert_mirror_equals_chain(db, flooded)
    db.dispose()


@pytest.mark.parametrize("how", ["anvil_reorg", "snapshot_revert"])
def test_reorgs_of_depth_1_to_10(chain: Chain, database_url: str, how: str) -> None:
    """For each depth: records mined, mirrored, then their blocks replaced. The mirror follows the new
    canonical chain: records only on the dropped branch disappear, records on the new branch appear."""
    db = fresh_db(database_url)
    indexer = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    client = chain.client
    publisher = Account.from_key(chain.publisher_key).address
    serial = 0
    present: set[str] = set()  # uids of records on the canonical chain
    for depth in range(1, 11):
        indexer.catch_up()
        snapshot = chain.rpc("evm_snapshot")["result"]  # type: ignore[index]
        dropped = []
        for _ in range(depth):  # one registration per block (automine)
            serial += 1
            client.register(chain.publisher_key, registration(serial), wait=True)
            dropped.append(record_uid(publisher, registration(serial).content_hash))
        indexer.catch_up()
        assert count_records(db) == len(present) + depth
        height = chain.head()
        if how == "anvil_reorg":
            chain.rpc("anvil_reorg", depth, [])
        else:
            chain.rpc("evm_revert", snapshot)
            serial += 1  # the new branch carries a different registration, then empty blocks up to the old height
            client.register(chain.publisher_key, registration(serial), wait=True)
            new_uid = record_uid(publisher, registration(serial).content_hash)
            present.add(new_uid)
            while chain.head() < height:
                chain.rpc("evm_mine")
        assert chain.head() == height
        indexer.catch_up()
        with db.read() as session:
            assert all(session.get(RecordRow, uid) is None for uid in dropped), f"depth {depth}"
            assert all(session.get(RecordRow, uid) is not None for uid in present)
        assert count_records(db) == len(present)
        assert_mirror_equals_chain(db, chain)
    db.dispose()


def test_registration_on_a_dropped_branch_is_sent_again(chain: Chain, database_url: str) -> None:
    db = fresh_db(database_url)
    publisher = Account.from_key(chain.publisher_key).address
    with db.write() as session:
        session.add(PublisherAccountRow(address=publisher, name="Wire Service", domain="wire.example", keystore_file="unused", next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
    fp = Fingerprint("0x" + "5a" * 32, "0x" + "5b" * 32, "0x" + "5c" * 32, 100, 10, 10, "PNG")
    uid = accept(db, Domain(31337, chain.deployment.address), publisher, chain.publisher_key, fp,
                 build_manifest(publisher, fp, "caption", "credit"), 3600).uid  # fmt: skip
    anchorer = Anchorer(db, chain.client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY, resend_after=0)
    indexer = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    assert anchorer.step() == 1
    indexer.catch_up()
    with db.read() as session:
        assert session.get(SubmissionRow, uid).status == "anchored"  # type: ignore[union-attr]

    chain.rpc("anvil_reorg", 1, [])  # the registration's block is dropped, its transaction with it
    indexer.catch_up()
    with db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "sent" and session.get(RecordRow, uid) is None
    anchorer.step()  # finds the transaction gone: back to pending
    with db.write() as session:  # skip the retry backoff
        session.get(SubmissionRow, uid).updated_at = repo.utcnow().replace(year=2000)  # type: ignore[union-attr]
    assert anchorer.step() == 1  # sent again
    indexer.catch_up()
    with db.read() as session:
        assert session.get(SubmissionRow, uid).status == "anchored"  # type: ignore[union-attr]
    assert_mirror_equals_chain(db, chain)
    db.dispose()


def test_node_stopped_and_restarted_under_the_indexer(chain: Chain, database_url: str) -> None:
    """The indexer keeps running while the node is down (retrying with backoff) and resumes with nothing lost."""
    db = fresh_db(database_url)
    indexer = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop, 0.1), daemon=True)
    thread.start()
    try:
        for i in range(3):
            chain.client.register(chain.publisher_key, registration(100 + i), wait=True)
        wait_for(lambda: count_records(db) == 3)
        chain.node.stop()
        time.sleep(1.5)  # the indexer fails a few polls here
        assert thread.is_alive()
        chain.node.start()
        for i in range(3, 6):
            chain.client.register(chain.publisher_key, registration(100 + i), wait=True)
        wait_for(lambda: count_records(db) == 6, timeout=60)
        wait_for(lambda: checkpoint(db, chain) >= chain.head(), timeout=60)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert_mirror_equals_chain(db, chain)
    db.dispose()


def test_chain_restarted_from_an_older_state_rewinds_the_mirror(chain: Chain, database_url: str) -> None:
    """anvil killed hard loses the blocks since its last state dump; the mirror must not stay ahead of it."""
    db = fresh_db(database_url)
    indexer = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    snapshot = chain.rpc("evm_snapshot")["result"]
    for i in range(3):
        chain.client.register(chain.publisher_key, registration(500 + i), wait=True)
    indexer.catch_up()
    assert count_records(db) == 3
    chain.rpc("evm_revert", snapshot)  # the chain is now shorter than the mirror's checkpoint
    assert chain.head() < checkpoint(db, chain)
    indexer.catch_up()
    assert count_records(db) == 0 and checkpoint(db, chain) <= chain.head()
    assert_mirror_equals_chain(db, chain)
    db.dispose()


def test_reindex_beside_the_running_indexer_keeps_events_in_chain_order(chain: Chain, database_url: str) -> None:
    """`provenance reindex` while the indexer runs: the running indexer read the checkpoint, then the re-index
    emptied the mirror and rebuilt it to the head, and only then did the running indexer write its range. That range
    (the publisher added, then suspended) must not be applied on top: the publisher was re-enabled later, and the
    checkpoint must not go back. The step writes nothing when the checkpoint moved under it (the indexing lock and
    the checkpoint check), and the mirror equals the chain."""
    from ledger.adapters.indexer import mirror
    from ledger.adapters.store.models import PublisherRow
    from ledger.config import ANVIL_TEST_ADMIN_KEY

    client = chain.client
    for i in range(3):
        client.register(chain.publisher_key, registration(i, salt=7), wait=True)
    suspended = client.suspend_publisher(ANVIL_TEST_ADMIN_KEY, chain.publisher).block_number
    chain.rpc("anvil_mine", hex(5))
    client.reenable_publisher(ANVIL_TEST_ADMIN_KEY, chain.publisher)
    client.register(chain.publisher_key, registration(9, salt=7), wait=True)
    assert suspended is not None

    db = fresh_db(database_url)
    running = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    running.catch_up()
    with db.write() as session:  # what `provenance reindex` does first
        mirror.clear(session)
    reindex = Indexer(db, connect(chain.node.url), chain.deployment, ABI)
    running.range = suspended - chain.deployment.block + 1  # its next range ends with the suspension

    read_range = running._verified

    def racing(*args):  # type: ignore[no-untyped-def]
        events = read_range(*args)
        reindex.catch_up()  # the re-index runs to the head between the running indexer's read and its write
        return events

    running._verified = racing  # type: ignore[method-assign]
    assert running.step() == 0  # its range was read on the emptied mirror's checkpoint: nothing written
    running._verified = read_range  # type: ignore[method-assign]
    with db.read() as session:
        row = session.get(PublisherRow, chain.publisher)
        assert row is not None and row.suspended_block is None  # re-enabled, as on chain
    assert checkpoint(db, chain) >= chain.head() - 1
    assert_mirror_equals_chain(db, chain)
    running.catch_up()  # and the running indexer goes on from the re-index's checkpoint
    assert_mirror_equals_chain(db, chain)
    db.dispose()
