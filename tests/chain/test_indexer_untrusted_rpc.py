"""The indexer trusts no single RPC answer: a fault-injecting JSON-RPC proxy on loopback (tests/chain/rpc_proxy.py)
sits in front of a real anvil and answers some calls wrongly: logs from a dropped branch, logs of another contract,
a node behind the others, a reorganisation landing between two calls, errors and timeouts. Each test ends with the
auditor's independent check that the mirror equals the chain.

SQLite only: what is checked here happens before the database is written (the database-side replays and rewinds
run on both databases in test_indexer_robustness.py).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.audit import ChainReader, audit_mirror
from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.indexer import scanner
from ledger.adapters.indexer.bloom import address_bytes, may_contain
from ledger.adapters.indexer.scanner import Indexer
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import RecordRow
from ledger.config import ANVIL_TEST_ADMIN_KEY
from ledger.core.records import record_uid
from ledger.errors import InconsistentAnswers
from scripts.loadgen import LocalChain, registration, start_local_chain
from tests.chain.rpc_proxy import FaultyRpc, http_status, replay, result, rewrite, rpc_error, slow, then
from tests.conftest import wait_for

ABI = load_artifact()["abi"]
serials = itertools.count(10_000)  # one chain for the module: every registration distinct


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalChain]:
    local = start_local_chain(tmp_path_factory.mktemp("untrusted") / "var")
    try:
        yield local
    finally:
        local.node.stop()


@pytest.fixture
def proxy(chain: LocalChain) -> Iterator[FaultyRpc]:
    faulty = FaultyRpc(chain.node.url)
    try:
        yield faulty
    finally:
        faulty.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'mirror.sqlite3'}")
    upgrade(database.engine)
    yield database
    database.dispose()


def indexer_through(proxy: FaultyRpc, db: Database, chain: LocalChain, timeout: float = 10.0) -> Indexer:
    return Indexer(db, connect(proxy.url, timeout=timeout), chain.deployment, ABI)


def register(chain: LocalChain, client: RegistryClient | None = None) -> str:
    """One registration in a block of its own (automine); returns its record uid."""
    serial = next(serials)
    (client or chain.client).register(chain.publisher_key, registration(serial), wait=True)
    return record_uid(chain.publisher, registration(serial).content_hash)


def mirrored(db: Database) -> set[str]:
    with db.read() as session:
        return set(session.scalars(RecordRow.__table__.select().with_only_columns(RecordRow.uid)))


def on_chain(chain: LocalChain) -> set[str]:
    logs = chain.client.contract.events.Registered().get_logs(from_block=chain.deployment.block)
    return {"0x" + e["args"]["uid"].hex() for e in logs}


def assert_mirror_equals_chain(db: Database, chain: LocalChain) -> None:
    report = audit_mirror(db, ChainReader(connect(chain.node.url), chain.deployment.address, ABI), chain.deployment.block)
    assert report.equal, {t.table: (t.missing[:3], t.extra[:3], t.changed[:3]) for t in report.tables if not t.equal}
    assert mirrored(db) == on_chain(chain)


def empty_block(chain: LocalChain) -> None:
    chain.rpc("evm_mine")


def test_reorg_between_get_logs_and_the_header_checks(chain: LocalChain, proxy: FaultyRpc, db: Database) -> None:
    """The case the old indexer got wrong: a registration in the range's second-to-last block, the last block
    empty, and a real reorganisation (anvil_reorg) right after eth_getLogs answered. Checking only the range's
    last block against the logs found nothing wrong (no log there) and kept the dropped registration."""
    indexer = indexer_through(proxy, db, chain)
    indexer.catch_up()
    dropped = register(chain)
    empty_block(chain)
    proxy.inject("eth_getLogs", then(lambda: chain.rpc("anvil_reorg", 2, [])))
    indexer.catch_up()
    assert proxy.pending("eth_getLogs") == 0, "the reorganisation was not triggered"
    assert dropped not in mirrored(db)
    assert indexer.inconsistencies >= 1
    assert_mirror_equals_chain(db, chain)


def test_logs_recorded_on_a_dropped_branch(chain: LocalChain, proxy: FaultyRpc, db: Database) -> None:
    """A load-balanced RPC with one backend on a dropped branch: its eth_getLogs answer is a real answer recorded
    on that branch before the chain moved to another one of the same height."""
    indexer = indexer_through(proxy, db, chain)
    indexer.catch_up()
    start = chain.head() + 1
    snapshot = chain.rpc("evm_snapshot")["result"]
    dropped = [register(chain), register(chain)]
    end = chain.head()
    old_answer = chain.rpc("eth_getLogs", {"address": chain.deployment.address, "fromBlock": hex(start), "toBlock": hex(end)})["result"]
    assert len(old_answer) == 2
    chain.rpc("evm_revert", snapshot)
    kept = register(chain)  # the new branch: another registration, then empty blocks up to the old height
    while chain.head() < end:
        empty_block(chain)
    proxy.inject("eth_getLogs", replay(old_answer))
    indexer.catch_up()
    assert proxy.pending("eth_getLogs") == 0
    assert kept in mirrored(db) and not set(dropped) & mirrored(db)
    assert indexer.inconsistencies >= 1
    assert_mirror_equals_chain(db, chain)


def test_a_node_that_ignores_the_address_filter(
    chain: LocalChain, proxy: FaultyRpc, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another registry on the same chain (a real contract, real logs): a node that drops the address filter
    answers its logs too. None of them reaches the mirror, and a node that keeps doing it stops the indexer."""
    other, _ = RegistryClient.deploy(connect(chain.node.url), load_artifact(), ANVIL_TEST_ADMIN_KEY)
    other.add_publisher(ANVIL_TEST_ADMIN_KEY, chain.publisher, "Other", "other.example")
    foreign = register(chain, other)
    ours = register(chain)
    without_address = rewrite(lambda params: [{k: v for k, v in params[0].items() if k != "address"}])
    indexer = indexer_through(proxy, db, chain)
    proxy.inject("eth_getLogs", without_address, times=2)
    indexer.catch_up()
    assert proxy.pending("eth_getLogs") == 0 and indexer.inconsistencies >= 2
    assert ours in mirrored(db)
    assert_mirror_equals_chain(db, chain)  # the other contract's record has the same uid only on that contract
    register(chain, other)
    register(chain)
    proxy.inject("eth_getLogs", without_address, times=1_000)
    monkeypatch.setattr(scanner, "INCONSISTENT_ATTEMPTS", 3)
    before = mirrored(db)
    with pytest.raises(InconsistentAnswers, match="another contract"):
        indexer.catch_up()
    assert mirrored(db) == before and foreign not in before


def test_a_node_behind_the_others_answers_logs_without_its_newest_blocks(
    chain: LocalChain, proxy: FaultyRpc, db: Database
) -> None:
    """eth_getLogs served by a backend two blocks behind: it has nothing for the range's last two blocks. The
    headers' logs bloom says those blocks hold logs of the contract, so the range is read again."""
    indexer = indexer_through(proxy, db, chain)
    indexer.catch_up()
    for _ in range(3):
        empty_block(chain)
    late = [register(chain), register(chain)]
    header = chain.rpc("eth_getBlockByNumber", hex(chain.head()), False)["result"]
    assert may_contain(header["logsBloom"], address_bytes(chain.deployment.address))

    def two_blocks_behind(params: list[Any]) -> list[Any]:
        return [{**params[0], "toBlock": hex(int(params[0]["toBlock"], 16) - 2)}]

    proxy.inject("eth_getLogs", rewrite(two_blocks_behind))
    indexer.catch_up()
    assert proxy.pending("eth_getLogs") == 0
    assert set(late) <= mirrored(db)
    assert indexer.inconsistencies >= 1
    assert_mirror_equals_chain(db, chain)


def test_one_stale_or_forked_answer_never_rewinds_the_mirror(
    chain: LocalChain, proxy: FaultyRpc, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A head below the checkpoint, or another hash for the checkpoint block, in one answer: the next answer
    disagrees, so nothing is dropped from the mirror (a rewind needs two answers that agree)."""
    indexer = indexer_through(proxy, db, chain)
    register(chain)
    indexer.catch_up()
    with db.read() as session:
        checkpoint = repo.get_checkpoint(session, chain.deployment.address)
        assert checkpoint is not None
    kept = mirrored(db)
    with caplog.at_level(logging.WARNING, logger="ledger.adapters.indexer"):
        proxy.inject("eth_blockNumber", result(lambda _head: hex(checkpoint.block_number - 5)))
        indexer.catch_up()
        proxy.inject("eth_getBlockByNumber", result(lambda block: {**block, "hash": "0x" + "ee" * 32}))
        indexer.catch_up()
    assert proxy.pending("eth_blockNumber") == 0 and proxy.pending("eth_getBlockByNumber") == 0
    assert "rewound" not in caplog.text and indexer.inconsistencies >= 2
    assert mirrored(db) == kept
    assert_mirror_equals_chain(db, chain)


def test_errors_and_timeouts_are_retried_until_the_mirror_is_complete(
    chain: LocalChain, proxy: FaultyRpc, db: Database
) -> None:
    """JSON-RPC errors, HTTP 503 and answers slower than the client waits, on every method the indexer calls,
    while registrations keep arriving: the running indexer retries and the mirror ends equal to the chain."""
    indexer = indexer_through(proxy, db, chain, timeout=0.5)
    for _ in range(3):
        register(chain)
    proxy.inject("eth_blockNumber", http_status(503), times=3)
    proxy.inject("eth_getLogs", rpc_error("query timeout exceeded"), times=2)
    proxy.inject("eth_getLogs", slow(1.0), times=2)
    proxy.inject("eth_getBlockByNumber", slow(1.0), times=6)  # web3 retries this read five times on its own
    stop = threading.Event()
    thread = threading.Thread(target=indexer.run, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        for _ in range(3):
            register(chain)
        wait_for(lambda: all(proxy.pending(m) == 0 for m in ("eth_blockNumber", "eth_getLogs", "eth_getBlockByNumber")), timeout=60)
        wait_for(lambda: mirrored(db) == on_chain(chain), timeout=60)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert_mirror_equals_chain(db, chain)


def test_logs_bloom_matches_the_nodes_headers(chain: LocalChain) -> None:
    """The pure bloom test agrees with anvil's headers: set for a block with our log, clear for an empty block."""
    register(chain)
    ours = address_bytes(chain.deployment.address)
    with_log = chain.rpc("eth_getBlockByNumber", hex(chain.head()), False)["result"]
    empty_block(chain)
    without = chain.rpc("eth_getBlockByNumber", hex(chain.head()), False)["result"]
    assert may_contain(with_log["logsBloom"], ours)
    assert not may_contain(without["logsBloom"], ours)
    assert not may_contain(with_log["logsBloom"], address_bytes("0x" + "00" * 19 + "01"))
