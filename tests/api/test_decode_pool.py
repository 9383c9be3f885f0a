"""Issue 14 (soak): registrations are decoded in a process of ``api.decode_pool``, not in the API process's threads
(the setting ``registration_decode_processes``, on by default). The answers are those of the in-process path, errors
included; a decoding process that dies answers its registration 503 ``decoder_stopped`` and the next registration
gets a new process."""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.api.test_batch_registration import SERVICE_KEY, Api, jpeg, make_api


@pytest.fixture(params=[True, False], ids=["processes", "threads"])
def api(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Api]:
    yield from make_api(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}",
                        registration_decode_processes=request.param)  # fmt: skip


def register(api: Api, data: bytes, caption: str = "Flooded street") -> object:
    return api.client.post("/v1/media", headers={"Authorization": f"Bearer {SERVICE_KEY}"},
                           files={"file": ("a.jpg", data, "image/jpeg")}, data={"caption": caption, "credit": "Jane"})


def pool_pids(api: Api) -> list[int]:
    pool = api.client.app.state.ledger.decode_pool  # type: ignore[attr-defined]
    return [] if pool is None else pool.pids()


def large_jpeg() -> bytes:  # 2,100 x 2,000: over make_api's max_pixels of 4,000,000
    out = io.BytesIO()
    Image.fromarray(np.zeros((2000, 2100, 3), dtype=np.uint8)).save(out, format="JPEG")
    return out.getvalue()


def test_registration_is_decoded_where_the_setting_says(api: Api) -> None:
    answer = register(api, jpeg(31))
    assert answer.status_code == 202, answer.text  # type: ignore[attr-defined]
    in_processes = api.client.app.state.ledger.settings.registration_decode_processes  # type: ignore[attr-defined]
    pids = pool_pids(api)
    assert bool(pids) == in_processes
    assert os.getpid() not in pids


def test_answers_match_the_in_process_path(tmp_path: Path) -> None:
    answers = {}
    for in_processes in (True, False):
        for api in make_api(tmp_path / str(in_processes), f"sqlite:///{tmp_path / f'{in_processes}.sqlite3'}",
                            registration_decode_processes=in_processes):  # fmt: skip
            ok = register(api, jpeg(32)).json()  # type: ignore[attr-defined]
            refused = [register(api, data) for data in (b"not an image at all", large_jpeg())]
            answers[in_processes] = (
                {k: ok[k] for k in ("content_hash", "pixel_hash", "pdq_hash", "manifest_hash", "reference_kept")
                 if k in ok},
                [(r.status_code, r.json()["error"]["code"]) for r in refused],  # type: ignore[attr-defined]
            )  # fmt: skip
    assert answers[True] == answers[False]
    assert answers[True][0]["content_hash"]
    assert [status for status, _ in answers[True][1]] == [422, 413]  # not an image; too many pixels


def test_a_killed_decoding_process_answers_503_then_is_replaced(tmp_path: Path) -> None:
    for api in make_api(tmp_path, f"sqlite:///{tmp_path / 'ledger.sqlite3'}"):
        assert register(api, jpeg(33)).status_code == 202  # type: ignore[attr-defined]
        (pid,) = pool_pids(api)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped = register(api, jpeg(34))
        assert stopped.status_code == 503, stopped.text  # type: ignore[attr-defined]
        assert stopped.json()["error"]["code"] == "decoder_stopped"  # type: ignore[attr-defined]
        assert stopped.headers["retry-after"]  # type: ignore[attr-defined]
        again = register(api, jpeg(34))
        assert again.status_code == 202, again.text  # type: ignore[attr-defined]
        assert pool_pids(api) and pid not in pool_pids(api)
