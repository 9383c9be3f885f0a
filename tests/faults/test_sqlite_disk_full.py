"""Issue 14, items 1 and 2: the data directory of a whole ``provenance up`` (SQLite) fills up. The data directory
(the SQLite database and its WAL, the keystore, anvil's state and log) is a 32 MB tmpfs this test mounts (it needs
root, as CI and the development machines run); once 4 uploads were accepted the test fills it to the last byte for
6 s while uploads go on, then deletes the filler. SQLite refuses every write that needs a new page ("database or
disk is full": the API's registrations, the indexer's mirror, the anchorer's marks) and anvil cannot save its state:
an upload gets 503 ``storage_unavailable`` with ``Retry-After`` (never a 500, never a 202 whose registration is then
missing), no part exits. Every registration accepted (202) before, during or after it is on chain exactly once and
in the mirror exactly once within 10 s of the disk having room again; the service answers verify again and a new
upload is accepted, anchored and mirrored. (The same in process: test_disk_full.py; on PostgreSQL:
test_postgres_disk_full.py.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.corpus.generate import picture, save
from tests.faults.scenarios import (
    DATA_DISK_MB,
    assert_recovered,
    assert_refused_and_rode_out,
    data_dir_full,
    small_tmpfs,
    start_service,
    wait_until,
)

UPLOADS = 20  # 3 threads: some accepted before the disk fills, some refused while it is full, the rest after
AFTER_SEED = 10**6  # one more upload once there is room again


def test_sqlite_data_directory_full_under_provenance_up(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI and the development machines run as root)")
    with small_tmpfs(DATA_DISK_MB, under=tmp_path) as mount:
        harness = start_service(mount)  # the data directory is the mount itself; the service's log is beside it
        harness.conditions["disk-full"] = data_dir_full(mount)
        try:
            result = harness.phase("disk-full", uploads=UPLOADS)
            refusals, accepted = list(harness.refusals_seen), set(harness.accepted)
            # Refusals are quick, so the phase's uploads may all end while the disk is full: one more, now.
            after = harness.upload(AFTER_SEED)
            assert after is not None, harness.refusals_seen[-1:]
            assert wait_until(lambda: harness.counts({after}) == ({after: 1}, {after: 1}), 10) is not None
            # Readers are answered again: by hash for everything accepted, and by upload (each API process's
            # index polls the mirror every 0.5 s: the last upload is known to it a moment after it was mirrored).
            url, everything = harness.service.url, accepted | {after}

            verdicts: dict[str, str] = {}

            def all_original() -> bool:
                verdicts.update({h: httpx.get(f"{url}/v1/verify/{h}", timeout=10).json()["verdict"] for h in everything})
                return set(verdicts.values()) == {"original"}

            answered = wait_until(all_original, 5)
            by_upload = httpx.post(f"{url}/v1/verify", timeout=30,
                                   files={"file": ("a.jpg", save(picture(AFTER_SEED, 160, 120), "JPEG"))})
            # anvil rewrites its state file in place (a full disk leaves it cut short): it is whole again.
            state_whole = wait_until(lambda: json.loads((mount / "chain" / "state.json").read_bytes()), 5)
            log = harness.service.log()
        finally:
            harness.service.stop()
    print(result)
    assert_recovered(result)
    assert_refused_and_rode_out(refusals, log, "the data directory was full")
    assert answered is not None, verdicts
    assert by_upload.status_code == 200 and by_upload.json()["verdict"] == "original", by_upload.text
    assert state_whole is not None, "anvil's state file was not written whole again once there was room"
