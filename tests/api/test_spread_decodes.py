"""Pictures to decode spread over a host's API workers (``api/spread.py``): granian gives each worker its own
``SO_REUSEPORT`` socket, so the kernel, blind to load, may put every keep-alive connection of a client on one worker
while the other idles. A request that decoded a picture (a registration, a verify by upload), answered by a worker
with at least ``MARGIN`` more decodes in progress than the least busy other worker, closes its connection (the
client's next request is a new connection, hashed afresh); otherwise connections are kept. The app is the real
one (its routes, middleware and database); the other worker is a cell of the shared file held for a live process
(this test's parent)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.__main__ import prepare_worker_loads
from api.spread import CELL, CELLS, LOADS_VARIABLE, MARGIN, WorkerLoads, create_loads_file
from ledger.config import Settings
from tests.api.instances import ApiInstance
from tests.api.test_api import PASSWORD
from tests.api.test_batch_registration import SERVICE_KEY, Api, jpeg, make_api
from tests.api.test_two_instances import DEPLOYMENT, prepared_database


@pytest.fixture
def loads(tmp_path: Path) -> tuple[WorkerLoads, WorkerLoads]:
    """(this worker, another live one) in one file of worker loads."""
    path = tmp_path / "loads"
    create_loads_file(path)
    return WorkerLoads(path), WorkerLoads(path, pid=os.getppid())


@pytest.fixture
def api(tmp_path: Path, loads: tuple[WorkerLoads, WorkerLoads]) -> Iterator[Api]:
    yield from make_api(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}", loads=loads[0])


def register(api: Api, seed: int) -> httpx.Response:
    response = api.client.post("/v1/media", headers={"Authorization": f"Bearer {SERVICE_KEY}"},
                               files={"file": ("a.jpg", jpeg(seed), "image/jpeg")},
                               data={"caption": "Flooded street", "credit": "Jane Doe"})  # fmt: skip
    assert response.status_code == 202, response.text
    return response


def closes(response: httpx.Response) -> bool:
    return response.headers.get("connection", "").lower() == "close"


def test_an_overloaded_worker_closes_registrations_connections_and_a_balanced_one_keeps_them(
    api: Api, loads: tuple[WorkerLoads, WorkerLoads]
) -> None:
    here, other = loads
    assert not closes(register(api, 1)), "one registration here, none elsewhere: balanced enough"
    for _ in range(MARGIN):
        here.enter()  # registrations in progress in this worker, none in the other
    answer = register(api, 2)
    assert closes(answer), "this worker is overloaded: the client must reconnect (and may reach the other worker)"
    assert here.in_progress == MARGIN, "the registration is counted while in progress only"
    lookup = api.client.get(f"/v1/verify/{answer.json()['content_hash']}")
    assert lookup.status_code == 200 and not closes(lookup), "only registrations move; hash lookups keep alive"
    for _ in range(MARGIN):
        other.enter()
    assert not closes(register(api, 3)), "the other worker is as busy: keep the connection"


def test_an_overloaded_worker_closes_verify_uploads_connections_too(
    api: Api, loads: tuple[WorkerLoads, WorkerLoads]
) -> None:
    """An upload verify of a picture no hash finds costs ~80-100 ms of CPU (bench_api.py): two runs of its
    benchmark went at half rate with wrk's 4 connections on one worker."""
    here, other = loads

    def upload(seed: int) -> httpx.Response:
        response = api.client.post("/v1/verify", files={"file": ("a.jpg", jpeg(seed), "image/jpeg")})
        assert response.status_code == 200, response.text
        return response

    assert not closes(upload(7)), "balanced: keep the connection"
    for _ in range(MARGIN):
        here.enter()
    answer = upload(8)
    assert answer.json()["verdict"] == "unknown" and closes(answer), "overloaded: the reader's client must reconnect"
    assert here.in_progress == MARGIN, "the upload is counted while in progress only"
    refused = api.client.post("/v1/verify", files={"picture": ("a.jpg", jpeg(10), "image/jpeg")})  # no `file`
    assert refused.status_code == 422 and not closes(refused), "nothing decoded: nothing to move elsewhere"
    for _ in range(MARGIN):
        other.enter()
    assert not closes(upload(9)), "the other worker is as busy: keep the connection"


def test_a_dead_workers_cell_is_not_counted_and_is_taken_again(tmp_path: Path) -> None:
    path = tmp_path / "loads"
    create_loads_file(path)
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = WorkerLoads(path, pid=gone.pid)
    for _ in range(5):
        dead.enter()
    here = WorkerLoads(path)
    assert here.least_of_others() is None, "a killed worker's count must not hold the others back"
    assert here._offset == dead._offset, "its cell is reused by the worker that replaces it"
    for _ in range(MARGIN + 3):
        here.enter()
    assert not here.overloaded(), "alone on the host: nothing to spread to"


def test_python_m_api_gives_several_workers_a_fresh_loads_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOADS_VARIABLE, "")  # restored (unset) after the test, whatever prepare_worker_loads sets
    monkeypatch.delenv(LOADS_VARIABLE)
    assert prepare_worker_loads(Settings(data_dir=tmp_path, api_workers=1)) is None
    assert LOADS_VARIABLE not in os.environ
    folder = prepare_worker_loads(Settings(data_dir=tmp_path, api_workers=2))
    assert folder is not None and os.environ[LOADS_VARIABLE].startswith(folder)
    first = WorkerLoads(Path(os.environ[LOADS_VARIABLE]))
    assert first.least_of_others() is None, "a fresh file: no other cell taken"
    shutil.rmtree(folder)


def test_a_real_two_worker_api_gives_each_worker_a_cell_and_its_main_process_none(tmp_path: Path) -> None:
    """``python -m api`` checks its settings by building the app once before granian starts the workers: that
    process must hold no cell, or its count of 0 would make every worker look overloaded next to it."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    db = prepared_database(url, tmp_path / "api" / "keystore")
    instance = ApiInstance(tmp_path / "api", url, DEPLOYMENT, {"PROVENANCE_KEYSTORE_PASSWORD": PASSWORD,
                                                               "PROVENANCE_API_WORKERS": "2"})  # fmt: skip
    instance.start()
    try:
        assert instance.process is not None
        main = instance.process.pid
        workers = [int(p) for p in Path(f"/proc/{main}/task/{main}/children").read_text().split()]
        # The file each worker mapped (its path is in the worker's memory map; new variables of a forked process's
        # environment do not show in /proc/PID/environ).
        maps = {line.split()[-1] for w in workers for line in Path(f"/proc/{w}/maps").read_text().splitlines()
                if "provenance-loads-" in line}  # fmt: skip
        assert len(maps) == 1, maps
        path = Path(maps.pop())
        data = path.read_bytes()
        cells = [CELL.unpack_from(data, i * CELL.size) for i in range(CELLS)]
        assert sorted(pid for pid, _ in cells if pid) == sorted(workers), (cells[:4], main, workers)
        assert all(count == 0 for _, count in cells), "nothing in progress while idle"
    finally:
        instance.stop()
        db.dispose()
