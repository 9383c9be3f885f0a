"""Issue 14, items 1 and 2: the data directory of a whole ``provenance up`` (SQLite) fills up. The data directory
(the SQLite database and its WAL, the keystore, anvil's state and log) is a 32 MB tmpfs this test mounts (it needs
root, as CI and the development machines run); once 4 uploads were accepted the test fills it to the last byte for
6 s while uploads go on, then deletes the filler. SQLite refuses every write that needs a new page ("database or
disk is full": the API's registrations, the indexer's mirror, the anchorer's marks) and anvil cannot save its state:
an upload gets 503 ``storage_unavailable`` with ``Retry-After`` (never a 500, never a 202 whose registration is then
missing), no part exits. Every registration accepted (202) before, during or after it is on chain exactly once and
in the mirror exactly once within 10 s of the disk having room again; the service answers verify again and a new
upload is accepted, anchored and mirrored. (The same in process: test_disk_full.py; on PostgreSQL:
test_postgres_disk_full.py.)

anvil writes its state file in place, so a full disk leaves it cut short until its next dump. The second test stops
``provenance up`` while the disk is full (an operator making room, or anvil restarted by the supervisor, would do
the same): the node's state file is cut short as it stops; once there is room ``provenance up`` must start again
from the last whole copy of it and every registration accepted before is on chain once and mirrored once within
10 s of it answering (blocks after that copy are lost, as when the node is killed: the service sends again)."""

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
    fill_filesystem,
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


def whole(path: Path) -> bool:
    try:
        json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return True


def test_provenance_up_stopped_while_the_data_directory_is_full(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI and the development machines run as root)")
    with small_tmpfs(DATA_DISK_MB, under=tmp_path) as mount:
        harness = start_service(mount)
        state = mount / "chain" / "state.json"
        try:
            accepted = {harness.upload(seed) for seed in range(4)}
            assert None not in accepted, harness.refusals_seen
            expected = ({h: 1 for h in accepted}, {h: 1 for h in accepted})
            assert wait_until(lambda: harness.counts(accepted) == expected, 20) is not None  # type: ignore[arg-type]
            filler = fill_filesystem(mount)
            # The chain moves on (blocks mined): anvil's next dump is larger than the last and is cut short. (A dump
            # no larger than the last fits in the pages the old one freed.)
            w3 = harness.chain().w3
            for _ in range(5):
                w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
            assert wait_until(lambda: not whole(state), 10) is not None, "anvil's state file stayed whole"
            harness.service.stop()
            filler.unlink()
            assert not whole(state)  # the fault happened: the node stopped with its state file cut short
            harness.service.start(timeout=90)
            recovered = wait_until(lambda: harness.counts(accepted) == expected, 10)  # type: ignore[arg-type]
            counts = harness.counts(accepted)  # type: ignore[arg-type]
            after = harness.upload(AFTER_SEED)
            assert after is not None, harness.refusals_seen[-1:]
            assert wait_until(lambda: harness.counts({after}) == ({after: 1}, {after: 1}), 10) is not None
            log = harness.service.log()
        finally:
            harness.service.stop()
    print(f"all back {recovered} s after provenance up answered again", counts)
    assert recovered is not None, counts  # every registration accepted before on chain once, mirrored once
    assert "cut short" in log, log[-4000:]  # the service said it started from the last whole copy
