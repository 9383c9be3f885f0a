"""Hostile requests: bodies bounded however framed, the key before the body, slow bodies, rate limits, the decode
gate, security headers, offline /docs and logs without secrets.

Bodies are driven straight through the ASGI app (``drive``) from a generator that counts the bytes it yields, so a
test measures what the service actually read (Starlette's TestClient reads a whole request body before the app
sees any of it, which would hide exactly what is tested here)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import DecodeGate
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import PublisherAccountRow
from ledger.config import Settings
from ledger.errors import Busy
from tests.api.publishers import add_publisher
from tests.api.test_api import API_KEY, CONTRACT, PASSWORD, photo

MB = 1024 * 1024
CHUNK = 64 * 1024


def make_client(tmp_path: Path, **overrides: Any) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, keystore_password=PASSWORD, database_url=f"sqlite:///{tmp_path / 'l.sqlite3'}",
                        **overrides)  # fmt: skip
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    add_publisher(db, settings.keystore_dir, PASSWORD, API_KEY)
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    with TestClient(create_app(settings, db=db, deployment=deployment)) as client:
        yield client
    db.dispose()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """Production limits (25 MB uploads, 16 KB JSON, 30 s bodies)."""
    yield from make_client(tmp_path)


FILE_PART = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
             b"Content-Type: image/jpeg\r\n\r\n")  # a valid multipart start: the parser keeps reading the file


class CountingBody:
    """``total`` bytes in chunks (a multipart file part's header, then zeros), counting what was actually taken;
    ``delay``: seconds before each chunk."""

    def __init__(self, total: int, chunk: int = CHUNK, delay: float = 0.0, prefix: bytes = FILE_PART) -> None:
        self.total, self.chunk, self.delay, self.prefix = total, b"\0" * chunk, delay, prefix
        self.yielded = 0

    def __iter__(self) -> Iterator[bytes]:
        if self.prefix:
            self.yielded += len(self.prefix)
            yield self.prefix
        while self.yielded < self.total:
            piece = self.chunk[: self.total - self.yielded]
            self.yielded += len(piece)
            yield piece


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def code(self) -> str:
        import json

        return str(json.loads(self.body)["error"]["code"])


def drive(client: TestClient, method: str, path: str, body: CountingBody | None, headers: dict[str, str] | None = None,
          peer: str = "198.51.100.7") -> Answer:  # fmt: skip
    answer = Answer()
    chunks = iter(body) if body is not None else iter(())
    delay = body.delay if body is not None else 0.0

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            if delay:
                await anyio.sleep(delay)
            piece = next(chunks, None)
            if piece is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": piece, "more_body": True}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                answer.body += message.get("body", b"")

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
                 "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
                 "client": (peer, 40000), "server": ("testserver", 80), "state": {}}  # fmt: skip
        with anyio.fail_after(60):
            await client.app(scope, receive, send)

    assert client.portal is not None
    client.portal.call(run)
    return answer


MULTIPART = {"content-type": "multipart/form-data; boundary=xyz"}
CHUNKED = {**MULTIPART, "transfer-encoding": "chunked"}


# -- A: bodies ------------------------------------------------------------------------------------------------------
def test_publisher_without_key_is_401_before_the_body_is_read(client: TestClient) -> None:
    for auth in ({}, {"authorization": "Bearer not-a-key"}):
        body = CountingBody(80 * MB)
        answer = drive(client, "POST", "/v1/media", body, {**CHUNKED, **auth})
        assert answer.status == 401 and answer.code == "unauthorized"
        assert body.yielded <= 4 * 1024, body.yielded
        retract = CountingBody(80 * MB)
        answer = drive(client, "POST", "/v1/media/0x" + "ab" * 32 + "/retract", retract,
                       {"content-type": "application/json", "transfer-encoding": "chunked", **auth})  # fmt: skip
        assert answer.status in (401, 413) and retract.yielded <= 32 * 1024, (answer.status, retract.yielded)


def test_chunked_upload_is_cut_off_at_the_limit(client: TestClient) -> None:
    body = CountingBody(80 * MB)
    answer = drive(client, "POST", "/v1/verify", body, CHUNKED)
    assert answer.status == 413 and answer.code == "too_large"
    assert body.yielded < 30 * MB and body.yielded <= 25 * MB + 64 * 1024 + CHUNK, body.yielded
    assert answer.headers["connection"] == "close"
    # An authenticated publisher's upload is cut at the same limit.
    body = CountingBody(80 * MB)
    answer = drive(client, "POST", "/v1/media", body, {**CHUNKED, "authorization": f"Bearer {API_KEY}"})
    assert answer.status == 413 and body.yielded < 30 * MB


def test_a_lying_content_length_is_not_read_past(client: TestClient) -> None:
    body = CountingBody(80 * MB)
    answer = drive(client, "POST", "/v1/verify", body, {**MULTIPART, "content-length": "1000"})
    assert answer.status == 400 and answer.code == "body_length_mismatch"
    assert body.yielded <= 1000 + CHUNK
    body = CountingBody(80 * MB)
    answer = drive(client, "POST", "/v1/verify", body, {**MULTIPART, "content-length": str(20 * MB)})
    assert answer.status == 400 and body.yielded <= 20 * MB + CHUNK


def test_declared_oversize_and_ambiguous_framing_are_refused_unread(client: TestClient) -> None:
    body = CountingBody(80 * MB)
    answer = drive(client, "POST", "/v1/verify", body, {**MULTIPART, "content-length": str(80 * MB)})
    assert answer.status == 413 and body.yielded == 0
    body = CountingBody(1000)
    answer = drive(client, "POST", "/v1/verify", body, {**CHUNKED, "content-length": "1000"})
    assert answer.status == 400 and answer.code == "ambiguous_framing" and body.yielded == 0
    # The same through a real client's request: both headers, refused.
    response = client.post("/v1/verify", content=b"x" * 10, headers={"transfer-encoding": "chunked",
                                                                     "content-type": "application/octet-stream"})  # fmt: skip
    assert response.status_code == 400 and response.json()["error"]["code"] == "ambiguous_framing"


def test_json_bodies_get_a_small_limit(client: TestClient, pdq_fixtures: Path) -> None:
    auth = {"Authorization": f"Bearer {API_KEY}"}
    accepted = client.post("/v1/media", headers=auth, files={"file": ("a.jpg", photo(pdq_fixtures))},
                           data={"caption": "c", "credit": "c"}).json()  # fmt: skip
    path = f"/v1/media/{accepted['content_hash']}/retract"
    big = client.post(path, headers=auth, json={"reason_code": 1, "reason": "x" * 20_000})
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    chunked = CountingBody(1 * MB)
    answer = drive(client, "POST", path, chunked, {"content-type": "application/json", "transfer-encoding": "chunked",
                                                   "authorization": f"Bearer {API_KEY}"})  # fmt: skip
    assert answer.status == 413 and chunked.yielded <= 16 * 1024 + CHUNK
    small = client.post(path, headers=auth, json={"reason_code": 1, "reason": "The caption named the wrong city."})
    assert small.status_code == 202, small.text


def test_a_slow_body_times_out(tmp_path: Path) -> None:
    for client in make_client(tmp_path, body_timeout_seconds=0.5):
        body = CountingBody(10 * MB, chunk=1024, delay=0.1)  # 10 KB/s
        answer = drive(client, "POST", "/v1/verify", body, CHUNKED)
        assert answer.status == 408 and answer.code == "body_timeout"
        assert body.yielded <= 8 * 1024


# -- B: the decode gate ---------------------------------------------------------------------------------------------
def test_decode_gate_bounds_slots_and_queue() -> None:
    async def scenario() -> list[str]:
        gate = DecodeGate(slots=1, queue=1, wait_seconds=0.3)
        outcomes: list[str] = []
        release = anyio.Event()

        async def hold() -> None:
            async with gate.slot():
                outcomes.append("first")
                await release.wait()

        async def try_slot(name: str) -> None:
            try:
                async with gate.slot():
                    outcomes.append(name)
            except Busy as exc:
                assert exc.retry_after is not None and exc.retry_after >= 1
                outcomes.append(f"{name} busy")

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(hold)
            await anyio.sleep(0.05)
            tasks.start_soon(try_slot, "queued")  # waits in the queue, then gives up after 0.3 s
            await anyio.sleep(0.05)
            await try_slot("overflow")  # the queue (1) is full: refused at once
            await anyio.sleep(0.4)
            tasks.start_soon(try_slot, "later")  # waits, and gets the slot when the first is done
            await anyio.sleep(0.05)
            release.set()
        return outcomes

    assert anyio.run(scenario) == ["first", "overflow busy", "queued busy", "later"]


def test_busy_decoding_is_503_with_retry_after(tmp_path: Path, pdq_fixtures: Path) -> None:
    for client in make_client(tmp_path, max_concurrent_decodes=1, decode_queue_length=0):
        gate = client.app.state.ledger.decodes  # type: ignore[attr-defined]
        held = gate.slot()
        assert client.portal is not None
        client.portal.call(held.__aenter__)
        try:
            busy = client.post("/v1/verify", files={"file": ("a.jpg", photo(pdq_fixtures))})
            assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy"
            assert int(busy.headers["retry-after"]) >= 1
        finally:
            client.portal.call(held.__aexit__, None, None, None)
        assert client.post("/v1/verify", files={"file": ("a.jpg", photo(pdq_fixtures))}).status_code == 200


# -- C: rate limits -------------------------------------------------------------------------------------------------
def test_verify_uploads_are_rate_limited_per_client(tmp_path: Path) -> None:
    for client in make_client(tmp_path, rate_limit_verify_uploads="3/minute", rate_limit_public="5/minute"):
        def upload(peer: str, headers: dict[str, str] | None = None) -> Answer:
            return drive(client, "POST", "/v1/verify", CountingBody(10), {**MULTIPART, **(headers or {})}, peer=peer)

        assert [upload("198.51.100.1").status for _ in range(3)] == [422, 422, 422]  # not images, but not limited
        limited = upload("198.51.100.1")
        assert limited.status == 429 and limited.code == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # X-Forwarded-For from an untrusted peer changes nothing; another address has its own budget.
        assert upload("198.51.100.1", {"x-forwarded-for": "192.0.2.55"}).status == 429
        assert upload("198.51.100.2").status == 422
        # Other public requests count against the general rate (5/minute here); /healthz never does.
        statuses = [drive(client, "GET", "/v1/chain", None, peer="198.51.100.3").status for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        assert drive(client, "GET", "/healthz", None, peer="198.51.100.3").status == 200


def test_verify_by_hash_from_the_hot_index_is_limited_headed_and_body_checked(tmp_path: Path) -> None:
    """The hot index answers before the middleware (api.fast_hash): it must count, refuse and head as they do."""
    for client in make_client(tmp_path, rate_limit_public="3/minute"):
        state = client.app.state.ledger  # type: ignore[attr-defined]
        assert state.matcher.wait_ready(30)
        path = "/v1/verify/0x" + "cd" * 32
        assert state.hash_answers.cached(path.rsplit("/", 1)[1]) is not None  # answered from the hot index
        answers = [drive(client, "GET", path, None, peer="198.51.100.4") for _ in range(4)]
        assert [a.status for a in answers] == [200, 200, 200, 429] and answers[3].code == "rate_limited"
        for answer in answers:
            assert {name: answer.headers.get(name) for name in SECURITY} == SECURITY
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answers[0].headers["cache-control"].startswith("public, max-age=") and answers[0].headers["etag"]
        # A GET declaring a body over the JSON limit is the body limits' to refuse, unread, hot answer or not.
        body = CountingBody(10 * MB)
        oversize = drive(client, "GET", path, body, {"content-length": str(10 * MB)}, peer="198.51.100.5")
        assert oversize.status == 413 and body.yielded == 0


def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path: Path) -> None:
    for client in make_client(tmp_path, rate_limit_public="2/minute", trusted_proxies=["10.0.0.0/8"]):
        def chain(peer: str, forwarded: str) -> int:
            return drive(client, "GET", "/v1/chain", None, {"x-forwarded-for": forwarded}, peer=peer).status

        # Behind the trusted proxy each client has its own budget (the right-most untrusted address).
        assert [chain("10.0.0.1", "192.0.2.1") for _ in range(3)] == [200, 200, 429]
        assert chain("10.0.0.1", "192.0.2.2") == 200
        # A client cannot pick its identity by prepending addresses: the proxy appends the real one.
        assert chain("10.0.0.1", "203.0.113.9, 192.0.2.1") == 429


# -- D: headers, /docs, logs -----------------------------------------------------------------------------------------
SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


def test_security_headers_on_pages_api_and_errors(client: TestClient) -> None:
    for response in (client.get("/"), client.get("/v1/chain"), client.get("/v1/nothing"), client.get("/docs"),
                     client.post("/v1/verify", content=b"x" * 100, headers={"content-length": str(40 * MB)})):  # fmt: skip
        for name, value in SECURITY.items():
            assert response.headers[name] == value, (response.url, name)
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_pages_have_no_inline_scripts_or_styles() -> None:
    static = Path(__file__).resolve().parents[2] / "api" / "static"
    for name in ("index.html", "docs.html"):
        html = (static / name).read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), name  # every script has a src
        assert "<style" not in html and not re.search(r"\sstyle\s*=", html), name
        assert not re.search(r"\son[a-z]+\s*=", html), name  # no onclick= and the like
        assert "javascript:" not in html


def test_docs_work_offline(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", docs.text)
    assert references, docs.text
    for ref in references:
        assert not re.match(r"^(?:[a-z]+:)?//", ref, re.IGNORECASE), f"/docs loads {ref} from another host"
        if ref.startswith("/"):
            assert client.get(ref).status_code == 200, ref
    script = client.get("/static/docs.js").text
    assert "/openapi.json" in script and not re.search(r"https?://", script)
    assert client.get("/openapi.json").json()["info"]["title"] == "Media provenance ledger"
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_logs_carry_no_api_key_or_upload_bytes(client: TestClient, pdq_fixtures: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    data = photo(pdq_fixtures)
    wrong_key = "pk_wrong_key_that_must_not_be_logged"
    with caplog.at_level(logging.DEBUG):
        ok = client.post("/v1/media", headers={"Authorization": f"Bearer {API_KEY}"}, files={"file": ("a.jpg", data)},
                         data={"caption": "c", "credit": "c"})  # fmt: skip
        bad = client.post("/v1/media", headers={"Authorization": f"Bearer {wrong_key}"},
                          files={"file": ("a.jpg", data)}, data={"caption": "c", "credit": "c"})  # fmt: skip
        not_image = client.post("/v1/media", headers={"Authorization": f"Bearer {API_KEY}"},
                                files={"file": ("a.jpg", b"NOT-AN-IMAGE-" * 50)}, data={"caption": "c", "credit": "c"})  # fmt: skip
    assert (ok.status_code, bad.status_code, not_image.status_code) == (202, 401, 422)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert API_KEY not in logged and wrong_key not in logged
    assert PASSWORD not in logged
    assert "NOT-AN-IMAGE" not in logged and data[200:232].hex() not in logged and repr(data[200:232]) not in logged


def test_a_bad_rate_setting_stops_the_start(tmp_path: Path) -> None:
    from ledger.errors import ConfigError

    with pytest.raises(ConfigError, match="not a rate"):
        next(make_client(tmp_path, rate_limit_public="lots"))


def test_a_configuration_error_names_no_server_path(tmp_path: Path, pdq_fixtures: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """The publisher's keystore file is gone: the client gets 503 config_error and a plain sentence; the path
    the error names goes to the log only."""
    for client in make_client(tmp_path):
        for key_file in (tmp_path / "keystore").rglob("*"):
            if key_file.is_file():
                key_file.unlink()
        with caplog.at_level(logging.ERROR, logger="api"):
            response = client.post("/v1/media", headers={"Authorization": f"Bearer {API_KEY}"},
                                   files={"file": ("a.jpg", photo(pdq_fixtures))}, data={"caption": "c", "credit": "d"})  # fmt: skip
        assert response.status_code == 503 and response.json()["error"]["code"] == "config_error", response.text
        assert str(tmp_path) not in response.text and "keystore" not in response.text
        assert any(str(tmp_path) in record.getMessage() for record in caplog.records)
