"""Indexer benchmark: catch-up rate for 100,000 events from a local anvil into SQLite and PostgreSQL, and
steady-state lag behind the head while registrations keep arriving (anvil --block-time 1).

Writes bench/results/indexer.json and prints a table. Run: `.venv/bin/python scripts/bench_indexer.py`
(or `make bench`). Targets (issue 5): >= 5,000 events/s into SQLite; steady state <= 1 block and <= 2 s behind.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from ledger.adapters.chain.client import RegistryClient, connect  # noqa: E402
from ledger.adapters.chain.node import AnvilNode  # noqa: E402
from ledger.adapters.indexer.scanner import Indexer  # noqa: E402
from ledger.adapters.store import repository as repo  # noqa: E402
from ledger.adapters.store.db import Database  # noqa: E402
from ledger.adapters.store.migrate import upgrade  # noqa: E402
from ledger.adapters.store.models import RecordRow  # noqa: E402
from ledger.runtime.wiring import contract_abi  # noqa: E402
from scripts.loadgen import flood, free_port, start_local_chain  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402

ABI = contract_abi()
RESULTS = ROOT / "bench" / "results" / "indexer.json"


def catch_up(url: str, node: AnvilNode, deployment, max_range: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    db = Database(url)
    upgrade(db.engine)
    indexer = Indexer(db, connect(node.url), deployment, ABI, max_range=max_range)
    started = time.perf_counter()
    events = indexer.catch_up()
    seconds = time.perf_counter() - started
    db.dispose()
    return {"events": events, "seconds": round(seconds, 3), "events_per_second": round(events / seconds)}


def steady_state(workdir: Path, duration: float, rate: float) -> dict[str, float]:
    """Blocks every second, registrations at ``rate``/s, the indexer polling as `provenance up` runs it."""
    local = start_local_chain(workdir, ["--block-time", "1"])
    node, deployment, key = local.node, local.deployment, local.publisher_key
    db = Database(f"sqlite:///{workdir / 'steady.sqlite3'}")
    upgrade(db.engine)
    w3 = connect(node.url)
    indexer = Indexer(db, w3, deployment, ABI)
    stop = threading.Event()
    threads = [threading.Thread(target=indexer.run, args=(stop, 0.25), daemon=True)]

    def send() -> None:
        client = RegistryClient(connect(node.url), deployment.address, ABI)
        from scripts.loadgen import registration

        i = 0
        while not stop.is_set():
            client.register(key, registration(i, salt=7))
            i += 1
            stop.wait(1 / rate)

    threads.append(threading.Thread(target=send, daemon=True))
    try:
        return _measure(node, db, deployment, w3, threads, stop, duration, rate)
    finally:
        stop.set()
        node.stop()
        db.dispose()


def _measure(node, db, deployment, w3, threads, stop, duration, rate):  # type: ignore[no-untyped-def]
    for thread in threads:
        thread.start()
    first_seen: dict[int, float] = {}
    lags_blocks: list[int] = []
    lags_seconds: list[float] = []
    end = time.monotonic() + duration
    time.sleep(3)  # let the indexer reach the head first
    while time.monotonic() < end:
        head = w3.eth.block_number
        now = time.monotonic()
        first_seen.setdefault(head, now)
        with db.read() as session:
            checkpoint = repo.get_checkpoint(session, deployment.address)
        indexed = checkpoint.block_number if checkpoint else -1
        lags_blocks.append(head - indexed)
        # seconds behind = how long the newest indexed block's successor has existed unindexed
        waiting = [now - t for n, t in first_seen.items() if n > indexed]
        lags_seconds.append(max(waiting, default=0.0))
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(10)
    with db.read() as session:
        records = session.query(RecordRow).count()
    lags_seconds.sort()
    return {
        "duration_s": duration,
        "registrations_per_second": rate,
        "max_blocks_behind": max(lags_blocks),
        "p50_seconds_behind": round(lags_seconds[len(lags_seconds) // 2], 3),
        "max_seconds_behind": round(lags_seconds[-1], 3),
        "samples": len(lags_blocks),
        "records_indexed": records,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--max-range", type=int, default=2000)
    parser.add_argument("--steady-seconds", type=float, default=30.0)
    parser.add_argument("--steady-rate", type=float, default=5.0, help="registrations per second in the steady test")
    args = parser.parse_args()

    results: dict[str, object] = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "command": "python scripts/bench_indexer.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        local = start_local_chain(work / "flood")
        node, deployment, publisher = local.node, local.deployment, local.publisher
        try:
            started = time.perf_counter()
            last_block = flood(node.url, deployment.address, ABI, publisher, args.events)
            results["load"] = {"events": args.events, "blocks": last_block - deployment.block,
                               "seconds_to_send": round(time.perf_counter() - started, 1)}  # fmt: skip
            results["catch_up_sqlite"] = catch_up(f"sqlite:///{work / 'bench.sqlite3'}", node, deployment, args.max_range)
            postgres = PostgresServer(free_port())
            postgres.start()
            try:
                results["catch_up_postgresql"] = catch_up(postgres.create_database(), node, deployment, args.max_range)
            finally:
                postgres.stop()
        finally:
            node.stop()
        results["steady_state"] = steady_state(work / "steady", args.steady_seconds, args.steady_rate)

    steady = results["steady_state"]
    sqlite_rate = results["catch_up_sqlite"]["events_per_second"]  # type: ignore[index]
    results["targets"] = {
        "sqlite_events_per_second>=5000": sqlite_rate >= 5000,
        "steady_max_blocks_behind<=1": steady["max_blocks_behind"] <= 1,  # type: ignore[index]
        "steady_max_seconds_behind<=2": steady["max_seconds_behind"] <= 2,  # type: ignore[index]
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    print(f"\nIndexer benchmark ({results['machine']['cores']} cores)  ->  {RESULTS.relative_to(ROOT)}")  # type: ignore[index]
    print(f"{'measure':<44}{'value':>14}  target")
    rows = [
        ("catch-up into SQLite (events/s)", sqlite_rate, ">= 5,000"),
        ("catch-up into PostgreSQL (events/s)", results["catch_up_postgresql"]["events_per_second"], "(reported)"),  # type: ignore[index]
        ("steady state: max blocks behind", steady["max_blocks_behind"], "<= 1"),  # type: ignore[index]
        ("steady state: median seconds behind", steady["p50_seconds_behind"], ""),  # type: ignore[index]
        ("steady state: max seconds behind", steady["max_seconds_behind"], "<= 2"),  # type: ignore[index]
    ]
    for name, value, target in rows:
        print(f"{name:<44}{value:>14,}  {target}" if isinstance(value, int) else f"{name:<44}{value:>14}  {target}")
    print("targets met:", ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in results["targets"].items()))  # type: ignore[union-attr]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
