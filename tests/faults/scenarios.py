"""Faults caused on a real ``provenance up`` (real anvil, the real supervisor, API, indexer and anchorer processes),
shared by ``tests/faults/test_service_faults.py`` and ``scripts/bench_faults.py``.

Each phase uploads fresh images through ``POST /v1/media`` from a few threads, causes its fault once ``kill_after``
of them were accepted (uploads go on through it), then waits until every accepted registration (a 202) is on chain
and mirrored. It counts, per content hash, the ``Registered`` events of the contract (read with web3's own decoder)
and the mirror's records: 0 is a lost registration, 2 a doubled one. ``recovery_seconds`` runs from the moment the
failed part is back (the supervisor restarted it, or ``provenance up`` answers again after a restart) until the last
accepted registration is anchored and mirrored. A worker is back when its log says its loop started again (a
Python worker takes seconds to import and open its database; that is restart time, not recovery).

Faults that last a while and end by themselves (the RPC proxy misbehaving, a PostgreSQL lock held, a reorg) are
``Condition`` objects a test hands to the ``Harness``; for them the part is back when the condition ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.store.db import Database
from ledger.config import Settings
from tests.conftest import RunningService
from tests.corpus.generate import picture, save
from tests.faults.counting import batched_on_chain, mirrored_records, registered_events

FAULTS = ("anchorer", "api", "indexer", "node", "db-lock", "up")
DB_LOCK_SECONDS = 5.0  # a write transaction held this long (SQLite writers wait up to 30 s for the lock)
RECOVERY_TIMEOUT_SECONDS = 60.0


@dataclass
class PhaseResult:
    fault: str
    accepted: int
    refused: int  # requests that got no 202 (the API was down, or answered 503): the client knows to retry them
    server_errors: int  # answers 500-502 or 504+: never acceptable (503 says "try again" and is counted as refused)
    anchored: int  # accepted registrations with exactly one Registered event on chain
    mirrored: int  # accepted registrations with exactly one record in the mirror
    lost: int
    doubled: int
    recovery_seconds: float | None  # None: not every accepted registration came back within the timeout
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first found through /proc's children lists)."""
    found: list[int] = []
    queue = [pid]
    while queue:
        current = queue.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            queue += children
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def child_pid(service: RunningService, marker: str) -> int | None:
    """The supervisor's direct child whose command line contains ``marker``."""
    assert service.process is not None
    for pid in descendants(service.process.pid):
        if marker in cmdline(pid) and Path(f"/proc/{pid}/stat").read_text().split()[3] == str(service.process.pid):
            return pid
    return None


READY = {"anchorer": "anchorer sending registrations to", "indexer": "indexer following"}
MARKERS = {"anchorer": "worker anchorer", "indexer": "worker indexer", "api": "-m api", "node": "anvil"}


def kill_part(service: RunningService, fault: str) -> int:
    """SIGKILL one part (its whole process group: the API's worker processes go with it); returns its pid."""
    pid = child_pid(service, MARKERS[fault])
    assert pid is not None, f"no {fault} process under provenance up"
    try:
        os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return pid


def kill_everything(service: RunningService) -> None:
    """SIGKILL ``provenance up`` and every process under it at once (supervisor, workers, API workers, anvil)."""
    assert service.process is not None
    pids = [service.process.pid, *descendants(service.process.pid)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    service.process.wait(10)
    service.process = None
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "Z"


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1) -> float | None:
    """Seconds until ``predicate`` held, or None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if predicate():
                return time.monotonic() - started
        except (httpx.HTTPError, OSError, ValueError):
            pass
        time.sleep(interval)
    return None


class Condition:
    """A fault that lasts ``seconds`` and then ends: ``begin`` causes it and returns what ends it. It runs in a
    thread, so uploads go on through it; the failed part is back when it ended."""

    def __init__(self, note: str, begin: Callable[[], Callable[[], None]], seconds: float, grace: float = 60.0) -> None:
        self.note = note
        self.begin = begin
        self.seconds = seconds
        self.grace = grace  # how long ending it may take
        self.ended = 0.0
        self.errors: list[BaseException] = []
        self._thread: threading.Thread | None = None

    def _hold(self) -> None:
        try:
            end = self.begin()
            try:
                time.sleep(self.seconds)
            finally:
                end()
        except BaseException as exc:  # reported by wait(): a fault that was not caused must fail the test
            self.errors.append(exc)
        finally:
            self.ended = time.monotonic()

    def cause(self, notes: list[str]) -> None:
        self.ended = 0.0
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self._thread.start()
        notes.append(self.note)

    def wait(self) -> float:
        assert self._thread is not None
        self._thread.join(self.seconds + self.grace)
        assert not self.errors, f"the fault could not be caused: {self.errors[0]!r}"
        return self.ended


class Harness:
    """One running service, its publisher, and the chain and mirror to count in."""

    def __init__(self, service: RunningService, api_key: str, chain_url: str | None = None,
                 database_url: str | None = None) -> None:  # fmt: skip
        self.service = service
        self.api_key = api_key
        self.chain_url = chain_url or f"http://127.0.0.1:{service.chain_port}"
        self.database_url = database_url
        self.conditions: dict[str, Condition] = {}  # faults a test defines, by name
        self.refusals: list[str] = []  # what a part said when it refused to start (read-only data directory)
        self.refusals_seen: list[str] = []  # uploads not accepted in the current phase: the answer, or the error
        self.accepted: set[str] = set()  # content hashes accepted (202) in the current phase
        self.seed = 0
        self.server_errors: list[str] = []
        self.lock_released = 0.0
        self.started_loops: dict[str, int] = {}  # how often each worker's loop started, as its log says
        # How long an upload may take: longer than any wait the service itself makes before answering (a write
        # waits up to the SQLite busy timeout), so a refusal is the service's answer, not the client giving up.
        self.upload_timeout = 30.0

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=self.service.data_dir, database_url=self.database_url)

    def chain(self) -> RegistryClient:
        deployment = Deployment.load(self.service.data_dir / "deployment.json")
        return RegistryClient(connect(self.chain_url), deployment.address, load_artifact()["abi"])

    def upload(self, seed: int) -> str | None:
        """The content hash of an accepted registration, or None (refused, or the API was not there); a 5xx
        other than 503 is recorded in ``server_errors``."""
        data = save(picture(seed, 160, 120), "JPEG")
        try:
            response = httpx.post(f"{self.service.url}/v1/media", headers={"Authorization": f"Bearer {self.api_key}"},
                                  files={"file": (f"{seed}.jpg", data, "image/jpeg")},
                                  data={"caption": f"fault test {seed}", "credit": "Fault Desk"},
                                  timeout=self.upload_timeout)  # fmt: skip
        except httpx.HTTPError as exc:
            self.refusals_seen.append(type(exc).__name__)
            return None
        if response.status_code >= 500 and response.status_code != 503:
            self.server_errors.append(f"{response.status_code} {response.text[:200]}")
        if response.status_code == 503 and "Retry-After" not in response.headers:  # "try again" must say when
            self.server_errors.append(f"503 without Retry-After: {response.text[:200]}")
        if response.status_code == 202:
            return str(response.json()["content_hash"])
        self.refusals_seen.append(f"{response.status_code} {response.text[:120]}")
        return None

    def counts(self, hashes: set[str]) -> tuple[dict[str, int], dict[str, int]]:
        db = Database(self.settings.resolved_database_url())
        client = self.chain()
        try:
            mirrored = mirrored_records(db)
            batched = batched_on_chain(client, db, 0)  # items of Merkle batches (batch mode) have no event each
        finally:
            db.dispose()
        on_chain = registered_events(client, 0)
        on_chain = {h: on_chain.get(h, 0) + batched.get(h, 0) for h in {*on_chain, *batched}}
        return ({h: on_chain.get(h, 0) for h in hashes}, {h: mirrored.get(h, 0) for h in hashes})

    def phase(self, fault: str, uploads: int = 10, kill_after: int = 4, threads: int = 3) -> PhaseResult:
        accepted = self.accepted = set()
        refused = 0
        self.server_errors.clear()
        self.refusals_seen.clear()
        lock = threading.Lock()
        seeds = list(range(self.seed, self.seed + uploads))
        self.seed += uploads + 1000

        def one(seed: int) -> None:
            nonlocal refused
            content_hash = self.upload(900_000 + seed)
            with lock:
                if content_hash is None:
                    refused += 1
                else:
                    accepted.add(content_hash)

        notes: list[str] = []
        with ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(one, s) for s in seeds]
            assert wait_until(lambda: len(accepted) >= kill_after, 60) is not None, "uploads did not start"
            back_at = self.cause(fault, notes)
            for future in futures:
                future.result()
        back_at = max(back_at, self.back(fault, notes))

        def all_back() -> bool:
            on_chain, mirrored = self.counts(accepted)
            return all(v == 1 for v in on_chain.values()) and all(v == 1 for v in mirrored.values())

        done = wait_until(all_back, RECOVERY_TIMEOUT_SECONDS, 0.2)
        recovery = None if done is None else max(0.0, time.monotonic() - back_at)
        on_chain, mirrored = self.counts(accepted)
        if self.refusals_seen:  # why uploads were not accepted: the client's to retry, but worth reading
            notes.append("not accepted: " + "; ".join(f"{n} x {what}" for what, n in Counter(self.refusals_seen).items()))
        return PhaseResult(fault, len(accepted), refused, len(self.server_errors), sum(v == 1 for v in on_chain.values()),
                           sum(v == 1 for v in mirrored.values()), sum(v == 0 for v in on_chain.values()),
                           sum(v > 1 for v in on_chain.values()) + sum(v > 1 for v in mirrored.values()),
                           None if recovery is None else round(recovery, 2), notes)  # fmt: skip

    def hold_write_lock(self) -> None:
        """BEGIN IMMEDIATE on the service's SQLite file: every other writer waits until it ends."""
        import sqlite3

        path = self.settings.resolved_database_url().split("///", 1)[1]
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            connection.execute("BEGIN IMMEDIATE")
            time.sleep(DB_LOCK_SECONDS)
            connection.execute("ROLLBACK")
        finally:
            connection.close()
            self.lock_released = time.monotonic()

    def cause(self, fault: str, notes: list[str]) -> float:
        if fault in self.conditions:
            self.conditions[fault].cause(notes)
        elif fault == "up":
            kill_everything(self.service)
            notes.append("SIGKILL of provenance up and every process under it, then started again")
            self.service.start(timeout=90)
        elif fault == "db-lock":
            threading.Thread(target=self.hold_write_lock, daemon=True).start()
            notes.append(f"a write transaction held on the SQLite database for {DB_LOCK_SECONDS:.0f} s")
        else:
            pid = kill_part(self.service, fault)
            notes.append(f"SIGKILL of the {fault} (pid {pid}); the supervisor restarts it")
        return time.monotonic()

    def back(self, fault: str, notes: list[str]) -> float:
        """When the failed part answers again."""
        if fault in self.conditions:
            return self.conditions[fault].wait()
        if fault == "up":
            return time.monotonic()  # start() returned once /healthz answered
        if fault == "db-lock":
            assert wait_until(lambda: self.lock_released, DB_LOCK_SECONDS + 30) is not None
            return self.lock_released
        if fault == "node":
            chain = self.chain()
            assert wait_until(lambda: chain.w3.eth.block_number >= 0, 60) is not None, "the node did not come back"
        elif fault == "api":
            assert wait_until(lambda: httpx.get(f"{self.service.url}/healthz", timeout=1).status_code == 200, 60) is not None
        else:  # a worker is back when its loop runs again (a Python worker takes seconds to import and open)
            marker, before = READY[fault], self.started_loops.get(fault, 1)
            assert wait_until(lambda: self.service.log().count(marker) > before, 60) is not None, f"{fault} not back"
            lines = [line for line in self.service.log().splitlines() if marker in line]
            self.started_loops[fault] = len(lines)
            logged = datetime.fromisoformat(json.loads(lines[before])["time"]).timestamp()
            return time.monotonic() - (time.time() - logged)  # the log's wall-clock moment, on the monotonic clock
        return time.monotonic()


def start_service(data_dir: Path, *args: str, env: dict[str, str] | None = None, chain_url: str | None = None,
                  database_url: str | None = None) -> Harness:  # fmt: skip
    """``provenance up`` (``args`` and ``env`` added) with a publisher; ``database_url``: PostgreSQL instead of the
    data directory's SQLite; ``chain_url``: where the test reads the chain (default: the node ``up`` started)."""
    extra = {"PROVENANCE_CHAIN_STATE_INTERVAL": "2", **(env or {})}
    if database_url:
        extra["PROVENANCE_DATABASE_URL"] = database_url
    service = RunningService(data_dir, extra_env=extra)
    service.start(*args, timeout=90)
    return Harness(service, service.add_publisher(), chain_url, database_url)


def assert_recovered(result: PhaseResult, bound_seconds: float = 10.0) -> None:
    """Issue 14's promise for one fault: nothing accepted lost or doubled, no 5xx but 503, every accepted
    registration on chain once and mirrored once within ``bound_seconds`` of the failed part being back."""
    assert result.accepted >= 4, result  # the fault came after at least 4 accepted
    assert result.lost == 0 and result.doubled == 0 and result.server_errors == 0, result
    assert result.anchored == result.mirrored == result.accepted, result
    assert result.recovery_seconds is not None and result.recovery_seconds <= bound_seconds, result


def assert_refused_and_rode_out(refusals: list[str], log: str, while_: str) -> None:
    """A storage fault was felt and handled: uploads during it were refused, each with 503 ``storage_unavailable``
    and nothing else, and no part of the service exited (the supervisor would say it restarted one)."""
    assert refusals, f"no upload was refused while {while_}"
    assert all(r.startswith("503 ") and '"storage_unavailable"' in r for r in refusals), refusals
    assert "restarting" not in log and "Traceback" not in log, log[-4000:]


# -- conditions: faults that last a while ---------------------------------------------------------------------
RPC_FAULT_SECONDS = 6.0
STALE_LAG = 3  # blocks (anvil mines a block per transaction: the last three registrations)
PG_LOCK_SECONDS = 5.0
PG_DISK_FULL_SECONDS = 6.0
PG_DISK_MB = 128  # initdb takes ~38 MB of it (a 16 MB WAL segment among them); the service's database a few MB
DATA_DISK_FULL_SECONDS = 6.0
DATA_DISK_MB = 32  # a fresh data directory takes ~1 MB (database, keystore, anvil's state); the rest is filled
# A SQLite lock held past the busy timeout: the service's timeout lowered from 30 s (its default) to 2 s through
# PROVENANCE_SQLITE_BUSY_TIMEOUT_SECONDS, the lock held three times that, so the case stays short and every writer
# gives up at least twice before the lock ends.
SQLITE_BUSY_TIMEOUT_SECONDS = 2.0
SQLITE_LONG_LOCK_SECONDS = 6.0
PG_LOCKED_TABLES = ("submissions", "batches", "records", "chain_events", "index_checkpoint", "publisher_accounts")


def rpc_stale_head(harness: Harness, proxy: Any, seconds: float = RPC_FAULT_SECONDS, lag: int = STALE_LAG) -> Condition:
    """Every call through the proxy (anchorer, indexer and API all read the chain through it) is answered by a
    backend stuck ``lag`` blocks behind the head the chain had when the fault began: the indexer's checkpoint is
    ahead of what it says (it rewinds the mirror, as for lost blocks), the anchorer's recent transactions are
    unknown to it and the contract's nonces old; transactions still reach the real node and are mined."""
    from tests.chain.rpc_proxy import stale_head

    def begin() -> Callable[[], None]:
        w3 = connect(harness.chain_url)
        start = int(w3.eth.block_number)  # let ``lag`` registrations of this phase be mined (and mirrored) first
        assert wait_until(lambda: w3.eth.block_number >= start + lag, 30) is not None, "no registrations mined"
        proxy.during(stale_head(int(w3.eth.block_number) - lag))
        return lambda: proxy.during(None)

    return Condition(f"the RPC answered from a backend stuck {lag} blocks behind for {seconds:.0f} s (transactions "
                     "still relayed)", begin, seconds)  # fmt: skip


def rpc_dropped_connections(proxy: Any, seconds: float = RPC_FAULT_SECONDS) -> Condition:
    """Of every four calls through the proxy, one has its connection reset before the node sees it, one after
    (the node acted; a sent transaction's answer is lost), two are answered."""
    from tests.chain.rpc_proxy import reset_connection

    calls = iter(range(10**9))
    before, after = reset_connection(after_forwarding=False), reset_connection(after_forwarding=True)

    def dropping(request: dict[str, Any], forward: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        n = next(calls) % 4
        return before(request, forward) if n == 0 else after(request, forward) if n == 2 else forward(request)

    def begin() -> Callable[[], None]:
        proxy.during(dropping)
        return lambda: proxy.during(None)

    return Condition(f"the RPC reset half of all connections mid-request for {seconds:.0f} s (half of those after "
                     "the node acted)", begin, seconds)  # fmt: skip


def postgres_lock(database_url: str, seconds: float = PG_LOCK_SECONDS) -> Condition:
    """Another session holds ACCESS EXCLUSIVE locks on the tables the API, indexer and anchorer write (and read):
    every statement on them waits until it ends."""
    import psycopg

    def begin() -> Callable[[], None]:
        connection = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
        connection.execute(f"LOCK TABLE {', '.join(PG_LOCKED_TABLES)} IN ACCESS EXCLUSIVE MODE")

        def end() -> None:
            connection.rollback()
            connection.close()

        return end

    return Condition(f"PostgreSQL tables locked ACCESS EXCLUSIVE by another session for {seconds:.0f} s", begin, seconds)


def sqlite_lock_past_timeout(harness: Harness, seconds: float = SQLITE_LONG_LOCK_SECONDS) -> Condition:
    """Another process holds an exclusive (write) lock on the service's SQLite file for ``seconds``, longer than
    the busy timeout of every writer of the service: their writes fail (uploads get 503 ``storage_unavailable``,
    the indexer and the anchorer try again). In WAL mode readers are not stopped by it."""
    import sqlite3

    def begin() -> Callable[[], None]:
        path = harness.settings.resolved_database_url().split("///", 1)[1]
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        connection.execute("BEGIN EXCLUSIVE")

        def end() -> None:
            connection.execute("ROLLBACK")
            connection.close()

        return end

    return Condition(f"an exclusive lock held on the SQLite database for {seconds:.0f} s by another process, past the "
                     "service's busy timeout", begin, seconds)  # fmt: skip


def fill_filesystem(directory: Path) -> Path:
    """Write until the filesystem holding ``directory`` is full; returns the filler file."""
    filler = directory / "filler"
    # Unbuffered: a buffered file keeps what the full disk refused and raises ENOSPC again when it is closed.
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)  # the last one is short, the next raises
        except OSError:
            pass
    return filler


@contextmanager
def small_tmpfs(size_mb: int, under: Path | None = None) -> Iterator[Path]:
    """A tmpfs of ``size_mb`` mounted for a test (needs root) in a new directory under ``under`` (default: the
    system's temporary directory), unmounted and removed afterwards."""
    mount = Path(tempfile.mkdtemp(prefix="ledger-disk-", dir=under))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


@contextmanager
def postgres_on_small_disk() -> Iterator[tuple[Any, Path]]:
    """A throwaway PostgreSQL server whose data directory is on a PG_DISK_MB tmpfs mounted for it (needs root):
    (the server, the mount point). The mount is not under a test's tmp_path: the postgres user must reach it."""
    from tests.conftest import free_port
    from tests.postgres import PostgresServer

    with small_tmpfs(PG_DISK_MB) as mount:
        server = PostgresServer(free_port(), root=mount)
        server.start()
        try:
            yield server, mount
        finally:
            server.stop()


def filesystem_full(mount: Path, note: str, seconds: float) -> Condition:
    """The filesystem at ``mount`` (a tmpfs the test mounted) filled to the last byte for ``seconds``, then the
    filler removed."""

    def begin() -> Callable[[], None]:
        filler = fill_filesystem(mount)
        return filler.unlink

    return Condition(f"{note} full for {seconds:.0f} s", begin, seconds)


def postgres_disk_full(mount: Path, seconds: float = PG_DISK_FULL_SECONDS) -> Condition:
    """PostgreSQL's data directory's filesystem full: the server refuses every statement that needs a new page
    ("could not extend file ... No space left on device"), the API, the indexer and the anchorer among them."""
    return filesystem_full(mount, "PostgreSQL's data directory's filesystem", seconds)


def data_dir_full(mount: Path, seconds: float = DATA_DISK_FULL_SECONDS) -> Condition:
    """The service's data directory (SQLite database and its WAL, keystore, anvil's state and log) on a full
    filesystem: SQLite refuses writes that need a new page ("database or disk is full"), anvil cannot save its
    state."""
    return filesystem_full(mount, "the data directory's filesystem (SQLite database, keystore, anvil's state)", seconds)


def reorg_of_batches(harness: Harness, batches: int = 2, timeout: float = 30.0) -> Condition:
    """Once ``batches`` Merkle roots are anchored and mirrored, ``anvil_reorg`` replaces every block from the first
    of them to the head with empty blocks: the roots' transactions are gone from the chain."""
    from sqlalchemy import select

    from ledger.adapters.store.models import BatchRow

    def anchored_blocks() -> list[int]:
        db = Database(harness.settings.resolved_database_url())
        try:
            with db.read() as session:
                return [b for b in session.scalars(select(BatchRow.anchored_block)) if b is not None]
        finally:
            db.dispose()

    def begin() -> Callable[[], None]:
        assert wait_until(lambda: len(anchored_blocks()) >= batches, timeout) is not None, "no batches anchored"
        w3 = connect(harness.chain_url)
        depth = int(w3.eth.block_number) - min(anchored_blocks()) + 1
        answer = w3.provider.make_request("anvil_reorg", [depth, []])  # type: ignore[arg-type]
        assert "error" not in answer, answer
        return lambda: None

    return Condition(f"a reorg (anvil_reorg) dropped the blocks of the first {batches} anchored Merkle roots and "
                     "everything after them", begin, 0.0)  # fmt: skip


def read_only_restart(harness: Harness, mount: Path) -> Condition:
    """The data directory (a tmpfs the test mounted, holding the SQLite database, keystore and node state) becomes
    read-only: ``provenance up`` is stopped (the kernel refuses to remount a filesystem read-only while a process
    holds a file on it open for writing, so a running service cannot be caught by it: ``read_only_running`` does
    it through a filesystem error), the filesystem remounted read-only, ``provenance up`` started on it (it must
    refuse in one line, not crash), then remounted read-write and ``provenance up`` started again."""
    import sys

    def begin() -> Callable[[], None]:
        harness.service.stop()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True, capture_output=True)
        try:
            refused = subprocess.run(
                [sys.executable, "-m", "ledger.cli.main", "up", "--port", str(harness.service.port),
                 "--chain-port", str(harness.service.chain_port)],
                env=harness.service.env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2],
            )  # fmt: skip
            harness.refusals.append(refused.stdout + refused.stderr)
            assert refused.returncode != 0, "provenance up ran on a read-only data directory"
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True, capture_output=True)
        harness.service.start(timeout=90)
        return lambda: None

    return Condition("the data directory's filesystem read-only: provenance up stopped, refused to start on it, then "
                     "started again once it was writable", begin, 0.0)  # fmt: skip


READ_ONLY_SECONDS = 4.0  # how long the service runs on the read-only filesystem before the operator steps in


@dataclass
class ReadOnlyRun:
    """What ``read_only_running`` saw, for the test to assert on."""

    refusals: list[str] = field(default_factory=list)  # uploads not accepted while read-only (before the stop)
    readers: dict[str, int] = field(default_factory=dict)  # status of each reader request while read-only
    stop_code: int | None = None  # ``provenance up``'s exit code when stopped on the read-only filesystem
    seconds: dict[str, float] = field(default_factory=dict)  # stop, repair (umount, e2fsck, mount), start


def read_only_running(harness: Harness, disk: Any, seen: ReadOnlyRun, seconds: float = READ_ONLY_SECONDS) -> Condition:
    """The data directory (an ext4 image loop-mounted with ``errors=remount-ro``, ``tests/faults/loop_ext4.py``)
    fails under the running service: the kernel aborts its journal and makes it read-only, open files included.
    After ``seconds`` the operator's recovery: ``provenance up`` stopped (nothing may hold a file on it), the
    filesystem unmounted, checked with ``e2fsck -fy`` and mounted again, ``provenance up`` started. Everything not
    flushed to disk before the error is gone after it, as after a power cut."""

    def begin() -> Callable[[], None]:
        disk.trigger_error()
        assert wait_until(disk.read_only, 5) is not None, f"the filesystem stayed writable: {disk.options()}"

        def end() -> None:
            seen.refusals = list(harness.refusals_seen)
            url = harness.service.url
            if harness.accepted:
                seen.readers["verify by hash"] = httpx.get(f"{url}/v1/verify/{next(iter(harness.accepted))}", timeout=30).status_code
            seen.readers["verify by upload"] = httpx.post(f"{url}/v1/verify", timeout=30, files={
                "file": ("r.jpg", save(picture(4242, 160, 120), "JPEG"))}).status_code  # fmt: skip
            seen.readers["healthz"] = httpx.get(f"{url}/healthz", timeout=30).status_code
            started = time.monotonic()
            seen.stop_code = harness.service.stop()
            stopped = time.monotonic()
            disk.repair()
            repaired = time.monotonic()
            harness.service.start(timeout=90)
            seen.seconds = {"stop": round(stopped - started, 2), "repair": round(repaired - stopped, 2),
                            "start": round(time.monotonic() - repaired, 2)}  # fmt: skip

        return end

    return Condition(f"the data directory's ext4 failed (journal aborted, read-only) for {seconds:.0f} s under the "
                     "running service; then up stopped, umount, e2fsck, mount, up started", begin, seconds,
                     grace=150.0)  # fmt: skip  # stopping (up to 30 s) and starting (up to 90 s) provenance up
