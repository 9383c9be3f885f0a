"""Issue 14, items 1 and 2, on PostgreSQL: the ``provenance up`` fault phases of test_service_faults.py (SIGKILL of
the anchorer, the API, the indexer, the node, then of the whole ``provenance up``) with the mirror and outbox in a
real PostgreSQL server (tests/postgres.py's throwaway one), and the database locked: another session holds ACCESS
EXCLUSIVE locks on the tables the API, the indexer and the anchorer write for 5 s while uploads go on (SQLite's
equivalent, a writer holding the file, is test_service_faults.py's ``db-lock``). For each: every registration
accepted (202) is on chain exactly once and in the mirror exactly once, within 10 s of the failed part being back.
One service for the module (starting one costs ~25 s); each phase uploads fresh images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.scenarios import Harness, assert_recovered, postgres_lock, start_service
from tests.postgres import PostgresServer

PARTS = ("anchorer", "api", "indexer", "node")


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Iterator[Harness]:
    url = postgres_server.create_database()
    harness = start_service(tmp_path_factory.mktemp("pg-faults") / "var", database_url=url)
    harness.conditions["pg-lock"] = postgres_lock(url)
    try:
        yield harness
    finally:
        harness.service.stop()
    assert not (harness.service.data_dir / "ledger.sqlite3").exists()  # everything went to PostgreSQL


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the service's processes through /proc (Linux)")
def test_sigkill_of_each_part_on_postgres(on_postgres: Harness) -> None:
    results = [on_postgres.phase(fault) for fault in PARTS]
    for result in results:
        print(result)
    for result in results:
        assert_recovered(result)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the service's processes through /proc (Linux)")
def test_postgres_locked_then_the_whole_service_killed(on_postgres: Harness) -> None:
    results = [on_postgres.phase(fault) for fault in ("pg-lock", "up")]
    for result in results:
        print(result)
    for result in results:
        assert_recovered(result)
