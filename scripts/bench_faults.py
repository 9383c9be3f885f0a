"""Faults on a real ``provenance up`` (real anvil), repeated: per fault, registrations accepted, anchored, mirrored,
lost and doubled, and the recovery time from the failed part being back to the last accepted registration anchored
and mirrored. The phases are those of ``tests/faults/test_service_faults.py`` (``tests/faults/scenarios.py``): 10
uploads from 3 threads, the fault once 4 were accepted, uploads going on through it; one fresh service per round.

Also the lost transaction (``tests/faults/test_vanished_transaction.py``'s fault, on its own anvil): seconds from
the chain losing a mined registration (``evm_revert``) to it being re-sent and mirrored, with the default
``resend_after`` of 60 s.

Groups of faults (``--groups``, all by default), each run as its test runs it, one fresh service per round:
``sqlite`` (the phases above), ``sqlite-busy`` (the SQLite database locked past the busy timeout, lowered to 2 s
for it; tests/faults/test_sqlite_lock_past_timeout.py), ``sqlite-busy-default`` (the same past the busy timeout at
its 30 s default, the lock held 35 s; no test runs it in ``make test``: a round takes about a minute), ``lost-tx``,
``rpc`` (``provenance up --rpc-url`` through the fault-injecting proxy: stale heads, connections reset mid-request;
tests/faults/test_rpc_service_faults.py),
``rpc-postgres`` (the same on PostgreSQL), ``postgres`` (the SIGKILL
phases and tables locked for 5 s on a throwaway PostgreSQL server; test_postgres_service_faults.py),
``pg-disk-full`` (that server's data directory on a tmpfs filled for 6 s; needs root; test_postgres_disk_full.py),
``disk-full`` (the SQLite data directory on a tmpfs filled for 6 s; needs root; test_sqlite_disk_full.py),
``batch-reorg`` (test_batch_reorg.py), ``read-only`` (the data directory on a tmpfs remounted read-only; needs
root; test_read_only.py), ``read-only-running`` (the data directory an ext4 image that fails under the running
service and turns read-only, then the operator's umount, e2fsck, mount; needs root and a loop device;
test_read_only_running.py), ``lost-admission`` (anvil, then the whole ``up``, restarted from a state saved before
the publisher was added; test_lost_admission.py).

Writes bench/results/faults.json (rows of the groups run replace the rows of the same faults; the others are kept,
each row with when and under which load it was measured) and prints the table of docs/RELIABILITY.md. The machine
may be shared: its load average is recorded with the results.

    python scripts/bench_faults.py [--rounds 3] [--groups rpc,postgres,batch-reorg,read-only]
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


# The lock of ``sqlite-busy-default``: past the 30 s default busy timeout (Settings.sqlite_busy_timeout_seconds).
DEFAULT_BUSY_LOCK_SECONDS = 35.0
GROUPS = ("sqlite", "sqlite-busy", "sqlite-busy-default", "lost-tx", "rpc", "rpc-postgres", "postgres", "pg-disk-full",
          "disk-full", "batch-reorg", "read-only", "read-only-running", "lost-admission")
DESCRIPTIONS.update({
    "db-lock-long": "SQLite database locked by another process for 6 s, past the busy timeout (lowered to 2 s): "
                    "writes refused with 503",
    "db-lock-default": "SQLite database locked by another process for 35 s, past the busy timeout at its 30 s "
                       "default: writes refused with 503",
    "rpc-stale": "the RPC of the whole service answers from a backend stuck 3 blocks behind for 6 s",
    "rpc-drop": "the RPC resets half of all connections mid-request for 6 s (half after the node acted)",
    "pg-rpc-stale": "PostgreSQL: the RPC of the whole service answers from a backend stuck 3 blocks behind for 6 s",
    "pg-rpc-drop": "PostgreSQL: the RPC resets half of all connections mid-request for 6 s (half after the node acted)",
    "pg-anchorer": "PostgreSQL: SIGKILL of the anchorer while uploads flow",
    "pg-api": "PostgreSQL: SIGKILL of the API during uploads",
    "pg-indexer": "PostgreSQL: SIGKILL of the indexer mid-range",
    "pg-node": "PostgreSQL: SIGKILL of anvil (recent blocks lost)",
    "pg-lock": "PostgreSQL: tables locked ACCESS EXCLUSIVE by another session for 5 s during uploads",
    "pg-up": "PostgreSQL: SIGKILL of the whole `provenance up`, then started again",
    "pg-disk-full": "PostgreSQL: its data directory's filesystem full for 6 s during uploads: writes refused with 503",
    "disk-full": "the SQLite data directory's filesystem (database, keystore, anvil's state) full for 6 s during "
                 "uploads: writes refused with 503",
    "batch-reorg": "batch mode: a reorg drops the blocks of anchored Merkle roots",
    "read-only": "the data directory read-only: `up` stopped, refused to start on it, started once writable",
    "read-only-running": "the data directory's ext4 fails under the running `up` (journal aborted, read-only) for "
                         "4 s: writes refused with 503; then `up` stopped, umount, e2fsck, mount, `up` started",
    "lost-admission": "anvil killed and restarted from a state saved before the publisher was added (its admission "
                      "and registrations gone): the supervisor adds it again",
    "lost-admission-at-start": "`provenance up` killed and started again on a node state saved before the "
                               "publisher was added: it adds the publisher again before its workers start",
})  # fmt: skip


def run_group(group: str, tmp: Path) -> dict[str, PhaseResult]:
    """One round of a group's phases on a fresh service; returns the results by row name."""
    from tests.faults import scenarios

    if group == "sqlite":
        harness = start_service(tmp / "var")
        try:
            return {fault: harness.phase(fault) for fault in FAULTS}
        finally:
            harness.service.stop()
    if group == "rpc":
        from tests.faults.test_rpc_service_faults import proxied_service

        harness, proxy, node = proxied_service(tmp)
        try:
            return {fault: harness.phase(fault) for fault in ("rpc-stale", "rpc-drop")}
        finally:
            harness.service.stop()
            proxy.close()
            node.stop()
    if group == "rpc-postgres":
        from tests.conftest import free_port
        from tests.faults.test_rpc_service_faults import proxied_service
        from tests.postgres import PostgresServer

        server = PostgresServer(free_port())
        server.start()
        try:
            harness, proxy, node = proxied_service(tmp, server.create_database())
            try:
                return {f"pg-{fault}": harness.phase(fault) for fault in ("rpc-stale", "rpc-drop")}
            finally:
                harness.service.stop()
                proxy.close()
                node.stop()
        finally:
            server.stop()
    if group == "pg-disk-full":
        from tests.faults.test_postgres_disk_full import UPLOADS

        with scenarios.postgres_on_small_disk() as (server, mount):
            harness = start_service(tmp / "var", database_url=server.create_database())
            harness.conditions["pg-disk-full"] = scenarios.postgres_disk_full(mount)
            try:
                return {"pg-disk-full": harness.phase("pg-disk-full", uploads=UPLOADS)}
            finally:
                harness.service.stop()
    if group == "disk-full":
        from tests.faults.test_sqlite_disk_full import UPLOADS

        with scenarios.small_tmpfs(scenarios.DATA_DISK_MB, under=tmp) as mount:
            harness = start_service(mount)
            harness.conditions["disk-full"] = scenarios.data_dir_full(mount)
            try:
                return {"disk-full": harness.phase("disk-full", uploads=UPLOADS)}
            finally:
                harness.service.stop()
    if group == "sqlite-busy":
        from tests.faults.test_sqlite_lock_past_timeout import BUSY_ENV, UPLOADS

        harness = start_service(tmp / "var", env=BUSY_ENV)
        harness.conditions["db-lock-long"] = scenarios.sqlite_lock_past_timeout(harness)
        try:
            return {"db-lock-long": harness.phase("db-lock-long", uploads=UPLOADS)}
        finally:
            harness.service.stop()
    if group == "sqlite-busy-default":
        from tests.faults.test_sqlite_lock_past_timeout import UPLOADS

        harness = start_service(tmp / "var")  # PROVENANCE_SQLITE_BUSY_TIMEOUT_SECONDS unset: 30 s
        harness.upload_timeout = DEFAULT_BUSY_LOCK_SECONDS + 30  # an upload waits up to the busy timeout before its 503
        harness.conditions["db-lock-default"] = scenarios.sqlite_lock_past_timeout(harness, DEFAULT_BUSY_LOCK_SECONDS)
        try:
            return {"db-lock-default": harness.phase("db-lock-default", uploads=UPLOADS)}
        finally:
            harness.service.stop()
    if group == "postgres":
        from tests.conftest import free_port
        from tests.postgres import PostgresServer

        server = PostgresServer(free_port())
        server.start()
        try:
            url = server.create_database()
            harness = start_service(tmp / "var", database_url=url)
            harness.conditions["pg-lock"] = scenarios.postgres_lock(url)
            try:
                return {f"pg-{fault}" if fault != "pg-lock" else fault: harness.phase(fault)
                        for fault in ("anchorer", "api", "indexer", "node", "pg-lock", "up")}  # fmt: skip
            finally:
                harness.service.stop()
        finally:
            server.stop()
    if group == "batch-reorg":
        from tests.faults.test_batch_reorg import BATCH_ENV

        harness = start_service(tmp / "var", env=BATCH_ENV)
        harness.conditions["batch-reorg"] = scenarios.reorg_of_batches(harness)
        try:
            return {"batch-reorg": harness.phase("batch-reorg", uploads=12)}
        finally:
            harness.service.stop()
    if group == "read-only":
        import subprocess

        mount = tmp / "disk"
        mount.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
        try:
            harness = start_service(mount)
            harness.conditions["read-only"] = scenarios.read_only_restart(harness, mount)
            try:
                return {"read-only": harness.phase("read-only", uploads=8, kill_after=4)}
            finally:
                harness.service.stop()
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False)
    if group == "read-only-running":
        from tests.faults.loop_ext4 import loop_ext4, unavailable_reason
        from tests.faults.test_read_only_running import DISK_MB, UPLOADS

        reason = unavailable_reason()
        if reason:
            raise SystemExit(f"read-only-running: {reason}")
        with loop_ext4(DISK_MB, tmp) as disk:
            harness = start_service(disk.mount)
            seen = scenarios.ReadOnlyRun()
            harness.conditions["read-only-running"] = scenarios.read_only_running(harness, disk, seen)
            try:
                result = harness.phase("read-only-running", uploads=UPLOADS)
            finally:
                harness.service.stop()
            # How long the operator's steps took, and what readers got while read-only, with the phase.
            result.notes.append(f"stop, repair (umount, e2fsck, mount), start: {seen.seconds} s; readers while "
                                f"read-only: {seen.readers}; up's exit code when stopped: {seen.stop_code}")  # fmt: skip
            return {"read-only-running": result}
    if group == "lost-admission":
        from tests.faults.test_lost_admission import UPLOADS, service_with_state_before_admission

        harness = service_with_state_before_admission(tmp / "var")
        try:
            return {fault: harness.phase(fault, uploads=UPLOADS) for fault in ("lost-admission", "lost-admission-at-start")}
        finally:
            harness.service.stop()
    raise ValueError(f"unknown group {group!r}")


def row_of(fault: str, phases: list[PhaseResult], load: tuple[float, float]) -> dict[str, object]:
    times = [p.recovery_seconds for p in phases if p.recovery_seconds is not None]
    return {
        "fault": fault, "description": DESCRIPTIONS[fault], "rounds": len(phases),
        "accepted": sum(p.accepted for p in phases), "refused": sum(p.refused for p in phases),
        "server_errors": sum(p.server_errors for p in phases),
        "anchored": sum(p.anchored for p in phases), "mirrored": sum(p.mirrored for p in phases),
        "lost": sum(p.lost for p in phases), "doubled": sum(p.doubled for p in phases),
        "unrecovered_rounds": sum(p.recovery_seconds is None for p in phases),
        "recovery_seconds_median": round(statistics.median(times), 2) if times else None,
        "recovery_seconds_max": round(max(times), 2) if times else None,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_before_after": [round(load[0], 1), round(load[1], 1)],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--groups", default=",".join(GROUPS), help=f"comma-separated, of {', '.join(GROUPS)}")
    args = parser.parse_args()
    groups = [g for g in args.groups.split(",") if g]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups: {', '.join(sorted(unknown))}")
    load_before = os.getloadavg()
    phases: dict[str, list[PhaseResult]] = {}
    lost_tx: list[float] = []
    for number in range(args.rounds):
        for group in groups:
            if group == "lost-tx":
                lost_tx.append(lost_transaction_seconds())
                continue
            with tempfile.TemporaryDirectory() as tmp:
                for fault, result in run_group(group, Path(tmp)).items():
                    phases.setdefault(fault, []).append(result)
        print(f"round {number + 1}/{args.rounds} done", file=sys.stderr)
    load = (load_before[0], os.getloadavg()[0])
    rows = [row_of(fault, results, load) for fault, results in phases.items()]
    if lost_tx:
        rows.append({"fault": "lost-tx", "description": DESCRIPTIONS["lost-tx"], "rounds": len(lost_tx),
                     "accepted": len(lost_tx), "refused": 0, "server_errors": 0, "anchored": len(lost_tx),
                     "mirrored": len(lost_tx), "lost": 0, "doubled": 0,
                     "unrecovered_rounds": sum(s >= 60 for s in lost_tx),
                     "recovery_seconds_median": round(statistics.median(lost_tx), 2),
                     "recovery_seconds_max": round(max(lost_tx), 2),
                     "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "load_average_before_after": [round(load[0], 1), round(load[1], 1)]})  # fmt: skip
    out = ROOT / "bench" / "results" / "faults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    measured = {row["fault"] for row in rows}
    kept = [{"rounds": previous.get("rounds"), **row} for row in previous.get("rows", []) if row["fault"] not in measured]
    earlier = previous.get("phases", {})
    if isinstance(earlier, list):  # the first format: a list of rounds, each a list of phases
        grouped: dict[str, list[dict[str, object]]] = {}
        for round_phases in earlier:
            for phase in round_phases:
                grouped.setdefault(str(phase["fault"]), []).append(phase)
        earlier = grouped
    order = [*FAULTS, "lost-tx", *[f for f in DESCRIPTIONS if f not in (*FAULTS, "lost-tx")]]
    all_rows = sorted([*kept, *rows], key=lambda row: order.index(row["fault"]) if row["fault"] in order else len(order))
    result = {
        "last_run": {"rounds": args.rounds, "groups": groups},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "rows": all_rows,
        "phases": {**{f: v for f, v in earlier.items() if f not in measured},
                   **{fault: [p.as_dict() for p in results] for fault, results in phases.items()}},
    }  # fmt: skip
    out.write_text(json.dumps(result, indent=1) + "\n")
    print("| fault | accepted | refused | anchored | mirrored | lost | doubled | recovery median / max (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for row in all_rows:
        print(f"| {row['description']} | {row['accepted']} | {row['refused']} | {row['anchored']} | {row['mirrored']} | "
              f"{row['lost']} | {row['doubled']} | {row['recovery_seconds_median']} / {row['recovery_seconds_max']} |")
    print(f"written to {out.relative_to(ROOT)}; load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
