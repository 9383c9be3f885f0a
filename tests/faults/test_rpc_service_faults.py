"""Issue 14, items 1 and 2: the whole service's RPC endpoint misbehaves for seconds while registrations are uploaded.
``provenance up --rpc-url`` points at ``tests/chain/rpc_proxy.py`` on loopback, in front of a real anvil the test
started, so the anchorer, the indexer and the API all read the chain through it:

- stale heads: every answer comes from a backend stuck 3 blocks behind the head the chain had when the fault began
  (its block number, blocks, state reads, transactions, receipts and logs), while the transactions it is sent still
  reach the network and are mined: the anchorer sees its recent transactions "vanish" and the contract's old
  nonces, the indexer sees the chain go back below its checkpoint (and rewinds the mirror, as for lost blocks);
- dropped connections: of every four calls, one connection is reset before the node sees it and one after (a
  transaction sent whose answer never arrives).

For each: every registration accepted (202) is on chain exactly once and in the mirror exactly once, within 10 s of
the endpoint answering honestly again. On SQLite and on PostgreSQL (the mirror and outbox on tests/postgres.py's
throwaway server). One service per database (starting one costs ~25 s); each phase uploads fresh images.
``scripts/bench_faults.py`` runs the same phases (groups ``rpc`` and ``rpc-postgres``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.adapters.chain.node import AnvilNode
from ledger.config import ANVIL_TEST_ADMIN_KEY, ANVIL_TEST_RELAYER_KEY
from tests.chain.rpc_proxy import FaultyRpc
from tests.conftest import free_port
from tests.faults.scenarios import Harness, assert_recovered, rpc_dropped_connections, rpc_stale_head, start_service


def proxied_service(root: Path, database_url: str | None = None) -> tuple[Harness, FaultyRpc, AnvilNode]:
    """``provenance up`` on a chain it did not start, reached through the proxy (test keys of that anvil); its
    database PostgreSQL at ``database_url`` if given, else the data directory's SQLite."""
    node = AnvilNode(root / "chain", free_port())
    node.start()
    proxy = FaultyRpc(node.url)
    env = {"PROVENANCE_ADMIN_PRIVATE_KEY": ANVIL_TEST_ADMIN_KEY, "PROVENANCE_RELAYER_PRIVATE_KEY": ANVIL_TEST_RELAYER_KEY,
           "PROVENANCE_CONFIRMATIONS": "0"}  # anvil mines a block per transaction  # fmt: skip
    try:
        harness = start_service(root / "var", "--rpc-url", proxy.url, "--deploy", env=env, chain_url=node.url,
                                database_url=database_url)  # fmt: skip
    except BaseException:
        proxy.close()
        node.stop()
        raise
    harness.conditions["rpc-stale"] = rpc_stale_head(harness, proxy)
    harness.conditions["rpc-drop"] = rpc_dropped_connections(proxy)
    return harness, proxy, node


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def proxied(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    url = request.getfixturevalue("postgres_server").create_database() if request.param == "postgresql" else None
    harness, proxy, node = proxied_service(tmp_path_factory.mktemp("rpc-faults"), url)
    try:
        yield harness
    finally:
        harness.service.stop()
        proxy.close()
        node.stop()
    assert "Traceback" not in harness.service.log(), harness.service.log()[-4000:]
    if url:
        assert not (harness.service.data_dir / "ledger.sqlite3").exists()  # everything went to PostgreSQL


@pytest.mark.parametrize("fault", ["rpc-stale", "rpc-drop"])
def test_registrations_survive_a_misbehaving_rpc(proxied: Harness, fault: str) -> None:
    result = proxied.phase(fault)
    print(result)
    assert_recovered(result)
