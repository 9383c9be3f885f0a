"""Issue 14, item 1: while registrations wait on a locked SQLite database, readers' verify uploads are still
answered. A decoding slot covers a registration's decoding and hashing only (``api/registering.py``), not its write:
before, a registration kept its slot while the write waited on the lock, so with the slots taken by waiting
registrations a verify upload waited ``decode_queue_seconds`` for one and was refused 503 ``busy``, although
decoding had nothing to do with the lock (seen at the 30 s default busy timeout by ``scripts/bench_faults.py``'s
``sqlite-busy-default``).

Here one API process with 2 slots (``PROVENANCE_API_WORKERS=1``), 4 threads registering without pause, another
process holding ``BEGIN EXCLUSIVE`` for 8 s past a busy timeout lowered to 3 s, and a slot wait lowered to 1 s (so a
verify upload stuck behind waiting registrations is refused within the case's time, not after 10 s). Verify uploads
sent during the lock must all be 200; registrations refused during it must all be ``storage_unavailable`` (their
write waited out the timeout), none ``busy``; afterwards every accepted registration is on chain and mirrored once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from PIL import Image

from tests.corpus.generate import save
from tests.faults.scenarios import Condition, assert_recovered, sqlite_lock_past_timeout, start_service

LOCK_SECONDS = 8.0
ENV = {
    "PROVENANCE_SQLITE_BUSY_TIMEOUT_SECONDS": "3",  # a registration's write waits 3 s on the lock, then gives up
    "PROVENANCE_DECODE_QUEUE_SECONDS": "1",  # what a verify upload may wait for a slot before it is refused busy
    "PROVENANCE_API_WORKERS": "1",  # one process: its 2 slots are the ones the registrations would hold
}
VERIFY_AT = (1.0, 2.5, 4.0, 5.5, 7.0)  # seconds into the lock: registrations are waiting on it at each


def verify_during_lock(url: str, held: threading.Event, answers: list[str]) -> None:
    """A reader's verify upload at each moment of ``VERIFY_AT`` after the lock was taken: its status and code."""
    # A flat picture: no registration resembles it, so the answer is `unknown` and keeps no heatmap (a write).
    data = save(Image.new("RGB", (200, 150), (90, 120, 150)), "JPEG")
    if not held.wait(60):
        return
    began = time.monotonic()
    for moment in VERIFY_AT:
        time.sleep(max(0.0, began + moment - time.monotonic()))
        try:
            response = httpx.post(f"{url}/v1/verify", files={"file": ("reader.jpg", data, "image/jpeg")}, timeout=30)
            answers.append(f"{response.status_code} {response.text[:120]}")
        except httpx.HTTPError as exc:
            answers.append(type(exc).__name__)


def test_verify_uploads_answered_while_registrations_wait_on_a_lock(tmp_path: Path) -> None:
    harness = start_service(tmp_path / "var", env=ENV)
    lock = sqlite_lock_past_timeout(harness, LOCK_SECONDS)
    held = threading.Event()  # set once the lock is taken: the reader's moments count from then

    def take_and_tell() -> Callable[[], None]:
        release = lock.begin()
        held.set()
        return release

    harness.conditions["db-lock-long"] = Condition(lock.note, take_and_tell, lock.seconds)
    answers: list[str] = []
    reader = threading.Thread(target=verify_during_lock, args=(harness.service.url, held, answers), daemon=True)
    reader.start()
    try:
        # 4 threads: more registrations at once than the process has slots, through the whole lock.
        result = harness.phase("db-lock-long", uploads=24, threads=4)
        reader.join(30)
        refusals = list(harness.refusals_seen)
    finally:
        harness.service.stop()
    print(result, answers, sep="\n")
    assert held.is_set() and len(answers) == len(VERIFY_AT), answers
    assert all(a.startswith("200 ") for a in answers), answers  # before: 503 busy behind the waiting registrations
    # The registrations did wait on the lock (some gave up with the documented 503), and none was refused busy.
    assert refusals, "no registration waited out the busy timeout: the lock was not felt"
    assert all(r.startswith("503 ") and '"storage_unavailable"' in r for r in refusals), refusals
    assert_recovered(result)
