"""Issue 14: every route that registers (``POST /v1/media``, ``POST /v1/registrations`` with a file, a batch's
unsigned and newsroom-signed items) gives its decoding slot back before it writes (``api/registering.py``). With one
slot, a registration is left waiting on a locked SQLite database (another connection holds ``BEGIN EXCLUSIVE``); a
reader's verify upload sent meanwhile must be answered 200, not 503 ``busy`` after the 0.5 s slot wait; once the
lock is released the registration is accepted. (The same on a whole ``provenance up``, through the lock's timeout:
tests/faults/test_lock_holds_no_decode_slot.py.)"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.test_batch_registration import NEWSROOM_KEY, SERVICE_KEY, Api, jpeg, make_api, signed_bundle

SLOT_WAIT_SECONDS = 0.5
SETTLE_SECONDS = 1.0  # time for the registration to be decoded and reach its write (its file is 320 x 240)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    yield from make_api(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}", max_concurrent_decodes=1,
                        decode_queue_seconds=SLOT_WAIT_SECONDS)  # fmt: skip


def media(api: Api, seed: int) -> httpx.Response:
    return api.client.post("/v1/media", headers={"Authorization": f"Bearer {SERVICE_KEY}"},
                           files={"file": ("a.jpg", jpeg(seed), "image/jpeg")},
                           data={"caption": "Flooded street", "credit": "Jane Doe"})  # fmt: skip


def signed(api: Api, seed: int, nonce: int) -> httpx.Response:
    data = jpeg(seed)
    return api.client.post("/v1/registrations", headers={"Authorization": f"Bearer {NEWSROOM_KEY}"},
                           data={"registration": json.dumps(signed_bundle(api, data, nonce))},
                           files={"file": ("a.jpg", data, "image/jpeg")})  # fmt: skip


def batch(api: Api, seed: int) -> httpx.Response:
    return api.batch([{"file": "a", "caption": "Flooded street", "credit": "Jane Doe"}], {"a": jpeg(seed)})


def batch_signed(api: Api, seed: int, nonce: int) -> httpx.Response:
    data = jpeg(seed)
    return api.batch([{"signed": signed_bundle(api, data, nonce), "file": "a"}], {"a": data}, key=NEWSROOM_KEY)


ROUTES: dict[str, Callable[[Api], httpx.Response]] = {
    "media": lambda api: media(api, 21),
    "signed": lambda api: signed(api, 22, 1),
    "batch": lambda api: batch(api, 23),
    "batch-signed": lambda api: batch_signed(api, 24, 1),
}


def accepted(response: httpx.Response) -> bool:
    if response.status_code == 202:
        return True
    return response.status_code == 200 and response.json()["accepted"] == 1


@pytest.mark.parametrize("route", list(ROUTES))
def test_a_registration_waiting_on_the_database_holds_no_decoding_slot(api: Api, route: str) -> None:
    # Before the lock: each publisher's key decrypted, each API key's last use written (at most once a minute), so
    # the registration below waits on the lock for its outbox row only.
    assert media(api, 1).status_code == 202 and signed(api, 2, 0).status_code == 202
    path = api.db.engine.url.database
    assert path is not None
    lock = sqlite3.connect(path, isolation_level=None, timeout=30)
    lock.execute("BEGIN EXCLUSIVE")
    answers: list[httpx.Response] = []
    registering = threading.Thread(target=lambda: answers.append(ROUTES[route](api)), daemon=True)
    try:
        registering.start()
        time.sleep(SETTLE_SECONDS)
        reader = api.client.post("/v1/verify", files={"file": ("copy.jpg", jpeg(99), "image/jpeg")})
        waiting = registering.is_alive()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    registering.join(30)
    assert waiting, "the registration did not wait on the lock"
    assert reader.status_code == 200, reader.text  # before: 503 busy, the slot held by the waiting registration
    assert answers and accepted(answers[0]), answers[0].text if answers else "no answer"
