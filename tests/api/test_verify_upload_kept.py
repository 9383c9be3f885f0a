"""Verify by upload of a registered, mirrored file from its kept answer (``ledger.usecases.upload_answers``): the
same bytes as the full path's answer (``verify_registered``) but for the ``verification_id``, with no database read
and no C2PA read, until the mirror changes. Temporary SQLite and PostgreSQL (the ``setup`` fixture), no chain."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import ledger.usecases.upload_answers as upload_answers
from ledger.adapters.c2pa.reader import CredentialReader
from ledger.adapters.store import repository
from tests.api.test_api import photo, setup  # noqa: F401 (fixture)
from tests.api.test_verify_hash_cache import counted_statements, manual, retract_in_mirror  # noqa: F401 (fixture)
from tests.api.test_verify_registered_upload import credentialed, registered_and_mirrored, same_pixels_as_png

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the clock behind `seconds_behind`, held still between the answers
VERIFICATION_ID = re.compile(rb'"verification_id":"v_[A-Za-z0-9_-]+"')


class Reads:
    """C2PA reads of uploads, counted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        read = CredentialReader.read

        def counted(reader: CredentialReader, *args: object) -> object:
            self.calls += 1
            return read(reader, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(CredentialReader, "read", counted)


def upload(client, data: bytes):  # type: ignore[no-untyped-def]
    response = client.post("/v1/verify", files={"file": ("x.jpg", data, "image/jpeg")})
    assert response.status_code == 200, response.text
    return response


def without_id(body: bytes) -> bytes:
    assert len(VERIFICATION_ID.findall(body)) == 1, body
    return VERIFICATION_ID.sub(b'"verification_id":"-"', body)


def full_then_kept(client, db, data: bytes, reads: Reads):  # type: ignore[no-untyped-def]
    """The first upload since the mirror changed (the full path) and the next one (the kept answer)."""
    full = upload(client, data)
    calls = reads.calls
    with counted_statements(db) as statements:
        kept = upload(client, data)
    assert statements == [] and reads.calls == calls, "the kept answer read the database or the file's C2PA manifest"
    assert without_id(kept.content) == without_id(full.content)
    assert kept.json()["verification_id"] != full.json()["verification_id"]
    assert kept.headers["content-type"] == full.headers["content-type"] == "application/json"
    return full.json()


@pytest.fixture
def still_clock(manual, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`seconds_behind` is now minus the checkpoint's time: the full path reads it per request, the kept answer
    at the feed's poll; the clock held still makes them equal so the answers can be compared byte for byte."""
    monkeypatch.setattr(repository, "utcnow", lambda: NOW)
    return manual


def test_kept_answer_with_content_credentials_is_the_full_answer(still_clock, c2pa_fixtures: Path,  # type: ignore[no-untyped-def]
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A file with a valid C2PA manifest, and another file of the same picture without one: the parts of the answer
    that come from the uploaded bytes (query, content_credentials, credentials_removed) and from the records."""
    client, db, _ = still_clock
    reads = Reads(monkeypatch)
    data = credentialed(c2pa_fixtures)
    registered_and_mirrored(client, db, data)
    png = same_pixels_as_png(data)
    registered_and_mirrored(client, db, png)

    answer = full_then_kept(client, db, data, reads)
    assert (answer["verdict"], [m["match"] for m in answer["matches"]]) == ("original", ["exact", "pixels"])
    assert answer["content_credentials"]["state"] == "valid" and answer["query"]["trim"] == "screenshot"
    copy = full_then_kept(client, db, png, reads)
    assert copy["content_credentials"] is None and copy["credentials_removed"] is not None
    assert [m["match"] for m in copy["matches"]] == ["exact", "pixels"]


def test_a_retraction_changes_the_kept_answer(still_clock, pdq_fixtures: Path,  # type: ignore[no-untyped-def]
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    client, db, address = still_clock
    reads = Reads(monkeypatch)
    data = photo(pdq_fixtures)
    body = registered_and_mirrored(client, db, data)
    assert full_then_kept(client, db, data, reads)["verdict"] == "original"

    retract_in_mirror(db, body["uid"], address, block=7)
    assert upload(client, data).json()["verdict"] == "original"  # until the feed's next poll, as verify by hash
    client.app.state.ledger.matcher.refresh()
    retracted = full_then_kept(client, db, data, reads)
    assert retracted["verdict"] == "retracted" and retracted["matches"][0]["retraction_reason"] == "wrong place"
    assert retracted["indexed_block"] == 7

    monkeypatch.setattr(upload_answers, "KEPT_SECONDS", 0.0)  # kept no longer than this: computed again
    state = client.app.state.ledger
    state.upload_answers = upload_answers.RegisteredUploads(state.matcher)
    upload(client, data)
    with counted_statements(db) as statements:
        upload(client, data)
    assert statements != []


def test_the_upload_limits_still_apply_to_a_kept_answer(still_clock, c2pa_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    """The pixel cap of readers' uploads is lower than registration's: lowered after an answer was kept, the
    file is refused as a decoded one is, not answered from what was kept."""
    client, db, _ = still_clock
    data = credentialed(c2pa_fixtures)
    registered_and_mirrored(client, db, data)
    upload(client, data)
    upload(client, data)
    client.app.state.ledger.settings.verify_max_pixels = 1024 * 683 - 1
    refused = client.post("/v1/verify", files={"file": ("x.jpg", data, "image/jpeg")})
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "too_large"
