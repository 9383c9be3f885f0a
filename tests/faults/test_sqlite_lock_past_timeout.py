"""Issue 14, items 1 and 2: another process holds an exclusive lock on the SQLite database of a running
``provenance up`` for longer than the service's busy timeout (lowered from 30 s to 2 s through
``PROVENANCE_SQLITE_BUSY_TIMEOUT_SECONDS``, the lock held 6 s, so the case stays short). Writers that waited out the
timeout give up: an upload gets 503 ``storage_unavailable`` with ``Retry-After`` (never a 500, never a 202 whose
registration is then missing), the indexer and the anchorer try again without exiting. Once the lock is released,
every registration accepted (202) before, during or after it is on chain exactly once and in the mirror exactly once
within 10 s. (A lock shorter than the busy timeout, which writers wait out: test_service_faults.py's ``db-lock``.)"""

from __future__ import annotations

from pathlib import Path

from tests.faults.scenarios import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    assert_recovered,
    assert_refused_and_rode_out,
    sqlite_lock_past_timeout,
    start_service,
)

BUSY_ENV = {"PROVENANCE_SQLITE_BUSY_TIMEOUT_SECONDS": str(SQLITE_BUSY_TIMEOUT_SECONDS)}
UPLOADS = 20  # 3 threads: some accepted before the lock, some refused during it (2 s each), the rest after it


def test_sqlite_locked_past_the_busy_timeout(tmp_path: Path) -> None:
    harness = start_service(tmp_path / "var", env=BUSY_ENV)
    harness.conditions["db-lock-long"] = sqlite_lock_past_timeout(harness)
    try:
        result = harness.phase("db-lock-long", uploads=UPLOADS)
        refusals = list(harness.refusals_seen)
        log = harness.service.log()
    finally:
        harness.service.stop()
    print(result)
    assert_recovered(result)
    # The lock was felt: uploads during it were refused, each with the documented 503, and nothing else.
    assert_refused_and_rode_out(refusals, log, "the database was locked past the busy timeout")
