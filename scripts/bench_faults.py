"""Faults on a real ``provenance up`` (real anvil), repeated: per fault, registrations accepted, anchored, mirrored,
lost and doubled, and the recovery time from the failed part being back to the last accepted registration anchored
and mirrored. The phases are those of ``tests/faults/test_service_faults.py`` (``tests/faults/scenarios.py``): 10
uploads from 3 threads, the fault once 4 were accepted, uploads going on through it; one fresh service per round.

Also the lost transaction (``tests/faults/test_vanished_transaction.py``'s fault, on its own anvil): seconds from
the chain losing a mined registration (``evm_revert``) to it being re-sent and mirrored, with the default
``resend_after`` of 60 s.

Writes bench/results/faults.json and prints the table of docs/reliability.md. The machine may be shared: its load
average is recorded with the results.

    python scripts/bench_faults.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.scenarios import FAULTS, PhaseResult, start_service  # noqa: E402

DESCRIPTIONS = {
    "anchorer": "SIGKILL of the anchorer while uploads flow (restarted by the supervisor)",
    "api": "SIGKILL of the API (granian and its workers) during uploads",
    "indexer": "SIGKILL of the indexer mid-range",
    "node": "SIGKILL of anvil (restarted from its saved state, recent blocks lost)",
    "db-lock": "SQLite database locked by another writer for 5 s during uploads",
    "up": "SIGKILL of the whole `provenance up` (supervisor, workers, anvil), then started again",
    "lost-tx": "a mined registration's block lost (anvil evm_revert); resend_after left at 60 s",
}


def lost_transaction_seconds() -> float:
    """The vanished-transaction case on its own anvil, as the test runs it (SQLite)."""
    from eth_account import Account

    from ledger.adapters.anchorer import Anchorer
    from ledger.adapters.chain.artifact import load_artifact
    from ledger.adapters.chain.client import RegistryClient, connect
    from ledger.adapters.chain.deployment import ensure_deployment
    from ledger.adapters.chain.node import AnvilNode
    from ledger.adapters.indexer.scanner import Indexer
    from ledger.adapters.store.db import Database
    from ledger.adapters.store.migrate import upgrade
    from ledger.adapters.store.models import SubmissionRow
    from ledger.config import ANVIL_TEST_ADMIN_KEY, ANVIL_TEST_RELAYER_KEY
    from tests.chain.test_indexer_and_anchorer import Chain, _accept_one
    from tests.conftest import free_port

    with tempfile.TemporaryDirectory() as tmp:
        node = AnvilNode(Path(tmp) / "chain", free_port())
        node.start()
        try:
            w3 = connect(node.url)
            deployment = ensure_deployment(w3, Path(tmp) / "deployment.json", load_artifact(), ANVIL_TEST_ADMIN_KEY, node.url)
            client = RegistryClient(w3, deployment.address, load_artifact()["abi"])
            publisher = Account.create()
            client.add_publisher(ANVIL_TEST_ADMIN_KEY, publisher.address, "Wire Service", "wire.example")
            db = Database(f"sqlite:///{tmp}/l.sqlite3")
            upgrade(db.engine)
            chain = Chain(node, client, deployment, db, bytes(publisher.key))
            uid = _accept_one(chain, publisher.address)
            snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
            anchorer = Anchorer(db, client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
            anchorer.step()
            w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
            lost_at = time.monotonic()
            indexer = Indexer(db, connect(node.url), deployment, client.abi)
            while time.monotonic() - lost_at < 60:
                anchorer.step()
                indexer.catch_up()
                with db.read() as session:
                    if session.get(SubmissionRow, uid).status == "anchored":  # type: ignore[union-attr]
                        break
                time.sleep(0.1)
            seconds = time.monotonic() - lost_at
            db.dispose()
            return seconds
        finally:
            node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = os.getloadavg()
    rounds: list[list[PhaseResult]] = []
    lost_tx: list[float] = []
    for number in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            harness = start_service(Path(tmp) / "var")
            try:
                rounds.append([harness.phase(fault) for fault in FAULTS])
            finally:
                harness.service.stop()
        lost_tx.append(lost_transaction_seconds())
        print(f"round {number + 1}/{args.rounds} done", file=sys.stderr)
    rows = []
    for index, fault in enumerate(FAULTS):
        phases = [r[index] for r in rounds]
        times = [p.recovery_seconds for p in phases if p.recovery_seconds is not None]
        rows.append({
            "fault": fault, "description": DESCRIPTIONS[fault],
            "accepted": sum(p.accepted for p in phases), "refused": sum(p.refused for p in phases),
            "server_errors": sum(p.server_errors for p in phases),
            "anchored": sum(p.anchored for p in phases), "mirrored": sum(p.mirrored for p in phases),
            "lost": sum(p.lost for p in phases), "doubled": sum(p.doubled for p in phases),
            "unrecovered_rounds": sum(p.recovery_seconds is None for p in phases),
            "recovery_seconds_median": round(statistics.median(times), 2) if times else None,
            "recovery_seconds_max": round(max(times), 2) if times else None,
        })  # fmt: skip
    rows.append({"fault": "lost-tx", "description": DESCRIPTIONS["lost-tx"], "accepted": len(lost_tx),
                 "refused": 0, "server_errors": 0, "anchored": len(lost_tx), "mirrored": len(lost_tx), "lost": 0, "doubled": 0,
                 "unrecovered_rounds": sum(s >= 60 for s in lost_tx),
                 "recovery_seconds_median": round(statistics.median(lost_tx), 2),
                 "recovery_seconds_max": round(max(lost_tx), 2)})  # fmt: skip
    result = {
        "rounds": args.rounds, "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                           "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "rows": rows, "phases": [[p.as_dict() for p in r] for r in rounds],
    }  # fmt: skip
    out = ROOT / "bench" / "results" / "faults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print("| fault | accepted | refused | anchored | mirrored | lost | doubled | recovery median / max (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['description']} | {row['accepted']} | {row['refused']} | {row['anchored']} | {row['mirrored']} | "
              f"{row['lost']} | {row['doubled']} | {row['recovery_seconds_median']} / {row['recovery_seconds_max']} |")
    print(f"written to {out.relative_to(ROOT)}; load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
