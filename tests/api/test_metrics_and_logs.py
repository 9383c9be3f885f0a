"""/metrics from a real ``python -m api`` with two workers (prometheus-client's multiprocess mode: a scrape answered
by either worker counts the requests both answered), and its logs: JSON lines without the API key, the publisher's
private key, the keystore password or upload bytes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from ledger.adapters.store.db import Database
from tests.api.instances import ApiInstance
from tests.api.test_api import API_KEY, PASSWORD, mirror_registration
from tests.api.test_two_instances import DEPLOYMENT, prepared_database
from tests.api.test_verify_matching import bridge

WRONG_KEY = "pk_" + "w" * 43  # shaped like a real key, never valid


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        found = dict(re.findall(r'(\w+)="([^"]*)"', label_text))
        if metric == name and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, pdq_fixtures: Path) -> Iterator[tuple[ApiInstance, Database, bytes]]:
    root = tmp_path_factory.mktemp("metrics")
    url = f"sqlite:///{root / 'ledger.sqlite3'}"
    db = prepared_database(url, root / "api" / "keystore")
    instance = ApiInstance(root / "api", url, DEPLOYMENT, {"PROVENANCE_KEYSTORE_PASSWORD": PASSWORD,
                                                          "PROVENANCE_API_WORKERS": "2"})  # fmt: skip
    instance.start()
    data = bridge(pdq_fixtures)
    try:
        accepted = httpx.post(f"{instance.url}/v1/media", headers={"Authorization": f"Bearer {API_KEY}"},
                              files={"file": ("a.jpg", data)}, data={"caption": "Bridge", "credit": "Jane Doe"},
                              timeout=60)  # fmt: skip
        assert accepted.status_code == 202, accepted.text
        refused = httpx.post(f"{instance.url}/v1/media", headers={"Authorization": f"Bearer {WRONG_KEY}"},
                             files={"file": ("a.jpg", data)}, data={"caption": "c", "credit": "c"})  # fmt: skip
        assert refused.status_code == 401
        yield instance, db, accepted.json()["uid"]
    finally:
        instance.stop()
        db.dispose()


def test_metrics_count_every_worker_and_read_the_store(running) -> None:  # type: ignore[no-untyped-def]
    instance, db, _ = running
    unknown = "0x" + "ab" * 32
    for _ in range(40):  # new connections: the kernel spreads them over both workers
        assert httpx.get(f"{instance.url}/v1/verify/{unknown}").status_code == 200
    assert httpx.get(f"{instance.url}/no/such/path").status_code == 404
    assert httpx.post(f"{instance.url}/v1/verify", files={"file": ("x.jpg", b"not an image")}).status_code == 422

    # Each scrape, whichever worker answers it, counts both workers' requests.
    scrapes = [httpx.get(f"{instance.url}/metrics").text for _ in range(6)]
    assert {sample(t, "provenance_http_requests_total", route="/v1/verify/{sha256}", method="GET", status="200")
            for t in scrapes} == {40}  # fmt: skip
    text = scrapes[-1]
    assert sample(text, "provenance_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert sample(text, "provenance_http_requests_total", route="/v1/verify", method="POST", status="422") == 1
    assert sample(text, "provenance_http_requests_total", route="/v1/media", method="POST", status="202") == 1
    assert sample(text, "provenance_http_request_duration_seconds_count", route="/v1/verify/{sha256}", method="GET") == 40
    assert sample(text, "provenance_decode_waiting") == 0 and sample(text, "provenance_decode_active") == 0
    assert sample(text, "provenance_decode_rejections_total") == 0
    assert sample(text, "provenance_verify_step_seconds_count", step="decode") is None  # the 422 never decoded
    # The registration waits in the outbox; no checkpoint yet.
    assert sample(text, "provenance_anchor_queue_depth", kind="registration") == 1
    assert sample(text, "provenance_anchor_queue_oldest_seconds") > 0
    assert sample(text, "provenance_index_lag_blocks") == 0

    mirror_registration(db, running[2])  # anchored at block 5, head 6
    text = httpx.get(f"{instance.url}/metrics").text
    assert sample(text, "provenance_anchor_queue_depth", kind="registration") == 0
    assert sample(text, "provenance_index_lag_blocks") == 1 and sample(text, "provenance_index_lag_seconds") >= 0


def test_a_verified_upload_times_its_steps(running, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    instance, _, _ = running
    for _ in range(4):
        assert httpx.post(f"{instance.url}/v1/verify", files={"file": ("a.jpg", bridge(pdq_fixtures))}, timeout=60).status_code == 200
    text = httpx.get(f"{instance.url}/metrics").text
    for step in ("decode", "lookup", "total"):
        assert sample(text, "provenance_verify_step_seconds_count", step=step) == 4
    # An upload of a registered, mirrored file answered from its kept answer (ledger.usecases.upload_answers) reads
    # no C2PA manifest, so that step is counted only for the uploads that computed an answer.
    assert 1 <= sample(text, "provenance_verify_step_seconds_count", step="c2pa") <= 4
    assert sample(text, "provenance_verify_step_seconds_sum", step="total") > 0


def test_logs_are_json_lines_without_secrets(running) -> None:  # type: ignore[no-untyped-def]
    instance, _, _ = running
    [keystore] = (instance.data_dir / "keystore").glob("*.json")
    private_key = bytes(Account.decrypt(json.loads(keystore.read_text()), PASSWORD)).hex()
    text = instance.log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert len(lines) >= 4 and all({"time", "level", "logger", "message"} <= set(entry) for entry in lines)
    assert any("worker" in entry["message"].lower() for entry in lines)
    for secret in (API_KEY, WRONG_KEY, PASSWORD, private_key, private_key.upper()):
        assert secret not in text
    assert "Jane Doe" not in text  # no form field, let alone upload bytes
