"""Issue 14, item 1: the data directory turns read-only under a RUNNING ``provenance up`` (SQLite).

The data directory (SQLite database and WAL, keystore and its password, ``deployment.json``, anvil's state and
log) is an ext4 image the test loop-mounts with ``errors=remount-ro`` (root and a loop device; skipped otherwise,
with the reason). Once 4 of 20 uploads (3 threads) were accepted, the test makes the kernel record a filesystem
error (``/sys/fs/ext4/loopN/trigger_fs_error``), as a failing disk would: ext4 aborts its journal and turns
read-only under every process, open files included (EROFS), and everything not flushed to disk before is gone
once the filesystem is checked. ``mount -o remount,ro`` cannot do this to a running service ("busy"); see
``tests/faults/test_read_only.py`` for the stopped one.

Asserted while read-only: every upload refused is a 503 ``storage_unavailable`` with ``Retry-After`` (at least one
was), no other 5xx; readers (verify by hash, by upload, ``/healthz``) answered 200 or 503, never 500; no part
exited (no "restarting" from the supervisor, no traceback) and ``provenance up`` stops cleanly on it (exit 0). Then
the operator's recovery: ``provenance up`` stopped, the filesystem unmounted, ``e2fsck -fy``, mounted read-write,
``provenance up`` started. Asserted after it: every registration accepted (202) before the error is on chain
exactly once and in the mirror exactly once within 10 s of ``up`` answering again (``assert_recovered``), one more
upload is accepted, anchored and mirrored, and anvil's state file is whole.

Before the fixes this found (docs/RELIABILITY.md, "The data directory read-only"), each failing this test on its
own: registrations accepted and the publisher added before the error were gone (SQLite committed with
``synchronous=NORMAL``, not flushed); ``deployment.json``, the keystore password and the publisher's key were empty
files (written, never flushed), so ``up`` refused to start again; ``up`` stopped on the read-only filesystem with a
traceback (its node's PID file could not be removed). The second test: anvil dying while read-only ended ``up``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.faults.loop_ext4 import loop_ext4, unavailable_reason
from tests.faults.scenarios import (
    ReadOnlyRun,
    assert_recovered,
    assert_refused_and_rode_out,
    kill_part,
    read_only_running,
    start_service,
    wait_until,
)

DISK_MB = 64  # a fresh data directory takes ~1 MB; ext4's journal 4 MB of it
UPLOADS = 20  # 3 threads: 4 accepted before the error, the rest refused while read-only (refusals are quick)
AFTER_SEED = 10**6 + 1  # one more upload once the filesystem is back


def test_data_directory_turns_read_only_under_provenance_up(tmp_path: Path) -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    seen = ReadOnlyRun()
    with loop_ext4(DISK_MB, tmp_path) as disk:
        harness = start_service(disk.mount)  # the data directory is the mount itself; the service's log is beside it
        harness.conditions["read-only-running"] = read_only_running(harness, disk, seen)
        try:
            result = harness.phase("read-only-running", uploads=UPLOADS)
            print(result, seen)
            assert_recovered(result)  # first: what was lost shows in the counts, before any later upload fails
            after = harness.upload(AFTER_SEED)
            assert after is not None, harness.refusals_seen[-1:]
            assert wait_until(lambda: harness.counts({after}) == ({after: 1}, {after: 1}), 10) is not None
            state = disk.mount / "chain" / "state.json"
            state_whole = wait_until(lambda: json.loads(state.read_bytes()), 5)
            log = harness.service.log()
        finally:
            harness.service.stop()
    assert_refused_and_rode_out(seen.refusals, log, "the data directory was read-only")
    assert all(status in (200, 503) for status in seen.readers.values()), seen.readers
    assert seen.stop_code == 0, log[-4000:]
    assert state_whole is not None, "anvil's state file was not whole after the recovery"


def test_chain_node_dies_while_the_data_directory_is_read_only(tmp_path: Path) -> None:
    """anvil dies (SIGKILL) after the filesystem turned read-only: the supervisor cannot start it again (its PID and
    log files cannot be written). ``provenance up`` used to end with a traceback then, taking the API and its readers
    with it; now it logs the failure, tries again with a doubling wait, and keeps answering readers from the mirror
    until the operator stops it."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with loop_ext4(DISK_MB, tmp_path) as disk:
        harness = start_service(disk.mount)
        try:
            accepted = {harness.upload(seed) for seed in range(3)}
            assert None not in accepted, harness.refusals_seen
            expected = ({h: 1 for h in accepted}, {h: 1 for h in accepted})
            assert wait_until(lambda: harness.counts(accepted) == expected, 20) is not None  # type: ignore[arg-type]
            disk.trigger_error()
            assert wait_until(disk.read_only, 5) is not None, disk.options()
            kill_part(harness.service, "node")
            tried = wait_until(lambda: harness.service.log().count("could not be restarted") >= 2, 15)
            assert harness.service.process is not None
            running = harness.service.process.poll() is None
            url = harness.service.url
            answers = {h: httpx.get(f"{url}/v1/verify/{h}", timeout=10).status_code for h in accepted} if running else {}
        finally:
            code = harness.service.stop()
            log = harness.service.log()
    assert running, log[-4000:]  # provenance up did not end when its node could not be restarted
    assert tried is not None, log[-4000:]  # it tried again
    assert set(answers.values()) == {200}, answers  # readers answered from the mirror, node or no node
    assert code == 0 and "Traceback" not in log, log[-4000:]
