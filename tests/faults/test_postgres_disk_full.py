"""Issue 14, items 1 and 2: the disk of a whole ``provenance up``'s PostgreSQL server fills up. The server's data
directory lives on a 128 MB tmpfs this test mounts (it needs root, as CI and the development machines run); once 4
uploads were accepted the test fills that filesystem to the last byte for 6 s while uploads go on, then removes the
filler. PostgreSQL refuses every statement that needs a new page ("could not extend file": the API's registrations,
the indexer's mirror, the anchorer's marks): an upload gets 503 ``storage_unavailable`` with ``Retry-After`` (never
a 500, never a 202 whose registration is then missing), the indexer and the anchorer try again without exiting.
Every registration accepted (202) before, during or after it is on chain exactly once and in the mirror exactly
once within 10 s of the disk having room again, and a new upload then is accepted, anchored and mirrored. (SQLite's data directory full, in process: test_disk_full.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.scenarios import (
    assert_recovered,
    assert_refused_and_rode_out,
    postgres_disk_full,
    postgres_on_small_disk,
    start_service,
    wait_until,
)

UPLOADS = 20  # 3 threads: some accepted before the disk fills, some refused while it is full, the rest after


def test_postgres_disk_full_under_provenance_up(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI and the development machines run as root)")
    with postgres_on_small_disk() as (server, mount):
        harness = start_service(tmp_path / "var", database_url=server.create_database())
        harness.conditions["pg-disk-full"] = postgres_disk_full(mount)
        try:
            result = harness.phase("pg-disk-full", uploads=UPLOADS)
            refusals = list(harness.refusals_seen)
            # Refusals are quick, so the phase's uploads may all end while the disk is full: one more, now.
            after = harness.upload(10**6)
            assert after is not None, harness.refusals_seen[-1:]
            assert wait_until(lambda: harness.counts({after}) == ({after: 1}, {after: 1}), 10) is not None
            log = harness.service.log()
        finally:
            harness.service.stop()
        server_log = (mount / "server.log").read_text(errors="replace")
    print(result)
    assert "No space left on device" in server_log  # the server did run out of room
    assert_recovered(result)
    assert_refused_and_rode_out(refusals, log, "PostgreSQL's disk was full")
