"""Issue 14: the local node comes back from a saved state older than the publisher's admission on chain.

Seen once in a fresh-clone CI run of ``tests/faults/test_read_only_running.py``: the data directory failed a few
seconds after the publisher was added, anvil's state on disk predated the admission, and after the restart every
registration reverted ``MediaRegistryNotPublisher`` for ever (kept in the outbox, never anchored). Here the same
loss is caused directly on a running ``provenance up``: anvil's state is saved before the publisher is added; once
4 uploads were accepted, anvil is frozen (SIGSTOP, so it cannot write its state again), its state file and the
supervisor's whole copy are replaced by the saved one, and it is killed. The supervisor restarts it from that
state: the contract is there, the publisher and its registrations are not. Asserted: the supervisor adds the
publisher again, and every registration accepted before and after is on chain once and mirrored once within 10 s
of the node answering again. Then the same loss found at start: ``provenance up`` killed (SIGKILL, every process),
its node's state replaced by the saved one, started again: it adds the publisher before its workers start."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.adapters.chain.client import connect
from ledger.adapters.chain.deployment import Deployment
from ledger.config import Settings
from tests.conftest import RunningService
from tests.faults.scenarios import Condition, Harness, assert_recovered, child_pid, kill_everything, wait_until

UPLOADS = 12


def saved_state_with_contract(service: RunningService) -> bytes:
    """anvil's next state dump after ``up`` answered: the contract deployed, no publisher added yet."""
    state_file = Settings(data_dir=service.data_dir).chain_dir / "state.json"
    address = Deployment.load(service.data_dir / "deployment.json").address.lower()
    found: list[bytes] = []

    def dumped() -> bool:
        data = state_file.read_bytes()
        if address not in json.dumps(json.loads(data)).lower():
            return False
        found.append(data)
        return True

    assert wait_until(dumped, 30, 0.2) is not None, f"anvil wrote no state holding the contract in {state_file}"
    return found[-1]


def put_back(service: RunningService, state: bytes) -> None:
    """``state`` as anvil's state file and as the supervisor's whole copy of it (the one it restores from)."""
    state_file = Settings(data_dir=service.data_dir).chain_dir / "state.json"
    state_file.write_bytes(state)
    state_file.with_name("state.whole.json").write_bytes(state)


def lose_admission(service: RunningService, before_admission: bytes) -> Callable[[], Callable[[], None]]:
    def begin() -> Callable[[], None]:
        pid = child_pid(service, "anvil")
        assert pid is not None, "no anvil under provenance up"
        os.kill(pid, signal.SIGSTOP)  # frozen: no state dump can land between the replacement and the kill
        put_back(service, before_admission)
        os.kill(pid, signal.SIGKILL)
        w3 = connect(f"http://127.0.0.1:{service.chain_port}", timeout=2)

        def node_back() -> None:
            assert wait_until(lambda: w3.eth.block_number >= 0, 60, 0.05) is not None, "anvil did not come back"

        return node_back

    return begin


def restart_from(service: RunningService, before_admission: bytes) -> Callable[[], Callable[[], None]]:
    def begin() -> Callable[[], None]:
        kill_everything(service)
        put_back(service, before_admission)
        service.start(timeout=90)
        return lambda: None

    return begin


def service_with_state_before_admission(data_dir: Path) -> Harness:
    """``provenance up`` with a publisher, and the two conditions of this test (``lost-admission``,
    ``lost-admission-at-start``) on anvil's state saved before the publisher was added."""
    service = RunningService(data_dir, extra_env={"PROVENANCE_CHAIN_STATE_INTERVAL": "1"})
    service.start(timeout=90)
    try:
        before_admission = saved_state_with_contract(service)
        harness = Harness(service, service.add_publisher())
    except BaseException:
        service.stop()
        raise
    harness.conditions["lost-admission"] = Condition(
        "anvil restarted from a state saved before the publisher was added",
        lose_admission(service, before_admission), 0.0,
    )  # fmt: skip
    harness.conditions["lost-admission-at-start"] = Condition(
        "provenance up killed and started again on a state saved before the publisher was added",
        restart_from(service, before_admission), 0.0,
    )  # fmt: skip
    return harness


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the service's processes through /proc (Linux)")
def test_a_node_restarted_from_before_the_publishers_admission_gets_it_again(tmp_path: Path) -> None:
    harness = service_with_state_before_admission(tmp_path / "var")
    try:
        result = harness.phase("lost-admission", uploads=UPLOADS)
        print(result)
        log = harness.service.log()
        assert "was not on the contract; added again" in log, log[-4000:]  # the fault did take the admission away
        assert_recovered(result)

        result = harness.phase("lost-admission-at-start", uploads=UPLOADS)
        print(result)
        assert harness.service.log().count("was not on the contract; added again") >= 2
        assert_recovered(result)
    finally:
        harness.service.stop()


def test_a_failed_admission_check_is_logged_and_tried_again_not_raised(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """The supervisor's check runs in its loop: a node that does not answer (nothing listens on the port here) or a
    database that cannot be opened must not end ``provenance up``; the check is logged and due again after a
    doubling wait."""
    from ledger.runtime.supervisor import Admissions
    from tests.conftest import free_port

    deployment = Deployment(31337, "0x" + "11" * 20, 1, None, "", f"http://127.0.0.1:{free_port()}", "", "anvil")
    admissions = Admissions(Settings(data_dir=tmp_path / "var"), deployment)
    admissions.after_restart()
    admissions.check_if_due()
    first = admissions.due_at
    assert first is not None and admissions.failures == 1
    assert "could not check that this service's publishers are on the contract" in caplog.text
    admissions.check()
    assert admissions.failures == 2 and admissions.due_at is not None and admissions.due_at - first >= 1.0
    (tmp_path / "not-a-directory").write_text("")  # the database cannot even be opened (a failing data directory)
    unopenable = Admissions(Settings(data_dir=tmp_path / "not-a-directory"), deployment)
    unopenable.check()
    assert unopenable.failures == 1
