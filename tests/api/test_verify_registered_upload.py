"""Verify by upload of a file whose exact bytes were registered here: answered from what registration kept
(``match_fingerprints.upload_query``) without decoding, and the same answer decoding gives. Files the database kept
nothing for (registered elsewhere, or before revision 0012) are decoded as before. Temporary SQLite and PostgreSQL
(the ``setup`` fixture), no chain."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import text

import ledger.core.fingerprint as fingerprint_module
import ledger.usecases.verify as verify_module
from api.deps import DecodeGate
from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.store import repository
from ledger.adapters.store.db import Database
from ledger.core.answer import query_of
from ledger.core.fingerprint import probe_bytes
from ledger.core.records import record_uid
from ledger.usecases.upload_answers import RegisteredUploads
from tests.api.test_api import mirror_registration, register, setup  # noqa: F401 (fixture)
from tests.api.test_batch_registration import NEWSROOM_KEY, Api, api, jpeg, signed_bundle  # noqa: F401 (fixture)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the clock behind `seconds_behind`, held still between the answers


def credentialed(c2pa_fixtures: Path) -> bytes:
    """A 1024x683 JPEG with a C2PA manifest whose picture the trim step cuts (`trim`, `trimmed_pdq` are set)."""
    return (c2pa_fixtures / "adobe-20220124-CAI.jpg").read_bytes()


def same_pixels_as_png(data: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def registered_and_mirrored(client, db: Database, data: bytes) -> dict:  # type: ignore[no-untyped-def]
    accepted = register(client, data)
    assert accepted.status_code == 202, accepted.text
    mirror_registration(db, accepted.json()["uid"])
    client.app.state.ledger.matcher.refresh()
    return accepted.json()


def verify(client, data: bytes) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/v1/verify", files={"file": ("x.jpg", data, "image/jpeg")})
    assert response.status_code == 200, response.text
    return response.json()


class Decodes:
    """``probe_bytes`` as verify calls it, counted; or refused, where the answer must come without decoding."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.calls = 0
        self.counting()

    def counting(self) -> None:
        def probe(data: bytes, limits: fingerprint_module.Limits) -> fingerprint_module.Probe:
            self.calls += 1
            return probe_bytes(data, limits)

        self.monkeypatch.setattr(verify_module, "probe_bytes", probe)
        self.monkeypatch.setattr(fingerprint_module, "decode_image", DECODE_IMAGE)

    def refused(self) -> None:
        def refuse(*_: object, **__: object) -> None:
            raise AssertionError("an upload of a registered file was decoded")

        self.monkeypatch.setattr(verify_module, "probe_bytes", refuse)
        self.monkeypatch.setattr(fingerprint_module, "decode_image", refuse)


DECODE_IMAGE = fingerprint_module.decode_image


def test_registered_bytes_are_answered_undecoded_as_decoding_answers(setup, c2pa_fixtures: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    client, db, _ = setup
    data = credentialed(c2pa_fixtures)
    decodes = Decodes(monkeypatch)
    pending = register(client, data)
    assert pending.status_code == 202, pending.text
    # Kept at registration, not yet mirrored: nothing exact to show, so the picture is decoded for the matcher.
    before = verify(client, data)
    assert before["verdict"] == "unknown" and decodes.calls == 1
    mirror_registration(db, pending.json()["uid"])
    registered_and_mirrored(client, db, same_pixels_as_png(data))  # another file of the same picture, shown beside
    monkeypatch.setattr(repository, "utcnow", lambda: NOW)

    decodes.refused()
    fast = verify(client, data)
    decodes.counting()
    with db.write() as session:  # as a row kept before revision 0012: the upload is decoded
        session.execute(text("UPDATE match_fingerprints SET upload_query = NULL"))
    state = client.app.state.ledger  # (and not answered from the answer kept for the mirror as it is)
    state.upload_answers = RegisteredUploads(state.matcher)
    full = verify(client, data)
    assert decodes.calls == 2

    assert (full["verdict"], [m["match"] for m in full["matches"]]) == ("original", ["exact", "pixels"])
    assert full["query"] == query_of(probe_bytes(data)).model_dump()
    assert full["query"]["trim"] == "screenshot" and full["query"]["trimmed_pdq"] is not None
    assert full["content_credentials"]["state"] == "valid"
    assert fast.keys() == full.keys()
    for name in full.keys() - {"verification_id"}:
        assert fast[name] == full[name], name
    assert fast["verification_id"] != full["verification_id"]


def test_a_record_mirrored_from_the_chain_is_decoded(setup, c2pa_fixtures: Path,  # type: ignore[no-untyped-def]  # noqa: F811
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Registered through another operator's service: this database has the record, not the file's fingerprint."""
    client, db, address = setup
    data = credentialed(c2pa_fixtures)
    fp = probe_bytes(data).fingerprint
    uid = record_uid(address, fp.sha256)
    args = {"uid": uid, "publisher": address, "contentHash": fp.sha256, "pixelHash": fp.pixel_sha256,
            "pdqHash": fp.pdq, "manifestHash": "0x" + "11" * 32, "parent": "0x" + "00" * 32, "registeredAt": 1795884909}
    with db.write() as session:
        mirror.apply_events(session, [DecodedEvent("Registered", args, 5, "0x" + "55" * 32, "0x" + "bb" * 32, 3)])
    decodes = Decodes(monkeypatch)
    answer = verify(client, data)
    assert decodes.calls == 1
    assert (answer["verdict"], [m["uid"] for m in answer["matches"]]) == ("original", [uid])
    assert answer["query"] == query_of(probe_bytes(data)).model_dump()


def test_verify_pixel_cap_still_refuses_a_registered_file(setup, c2pa_fixtures: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Readers' uploads have a lower pixel cap than registrations: a registered file above it is refused, as a
    decoded one is, not answered from what registration kept."""
    client, db, _ = setup
    data = credentialed(c2pa_fixtures)
    registered_and_mirrored(client, db, data)
    client.app.state.ledger.settings.verify_max_pixels = 1024 * 683 - 1
    refused = client.post("/v1/verify", files={"file": ("x.jpg", data, "image/jpeg")})
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "too_large"


def test_a_newsroom_signed_registration_with_its_file_is_answered_undecoded(api: Api,  # noqa: F811
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Newsroom custody (``signed.register_signed``): the file sent with the signed manifest is kept the same way;
    one sent without its file leaves nothing to answer from, and is decoded."""
    with_file, without_file = jpeg(21, (640, 480)), jpeg(22, (640, 480))
    items = [{"signed": signed_bundle(api, with_file, 0), "file": "a"}, {"signed": signed_bundle(api, without_file, 1)}]
    response = api.batch(items, {"a": with_file}, key=NEWSROOM_KEY)
    assert [r["result"] for r in response.json()["results"]] == ["accepted", "accepted"], response.text
    for result in response.json()["results"]:
        mirror_registration(api.db, result["uid"])
    expected = query_of(probe_bytes(with_file)).model_dump()
    decodes = Decodes(monkeypatch)
    decodes.refused()
    answer = verify(api.client, with_file)
    assert answer["verdict"] == "original" and answer["query"] == expected
    decodes.counting()
    assert verify(api.client, without_file)["verdict"] == "original" and decodes.calls == 1


def test_a_registered_upload_takes_no_decoding_slot(setup, c2pa_fixtures: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Answered without decoding, a registered and mirrored file needs no decoding slot: with the only slot held
    and no queue, it is answered 200 (it was 503 ``busy``, and in the soak waited behind decodes), while a file
    that must be decoded, unregistered or registered but not mirrored yet, is still refused ``busy``."""
    client, db, _ = setup
    data = credentialed(c2pa_fixtures)
    registered_and_mirrored(client, db, data)
    pending = jpeg(32, (640, 480))
    assert register(client, pending).status_code == 202  # kept, not mirrored: its picture must be decoded
    unregistered = jpeg(31, (640, 480))
    client.app.state.ledger.decodes = gate = DecodeGate(slots=1, queue=0, wait_seconds=0.2)
    held = gate.slot()
    client.portal.call(held.__aenter__)
    try:
        assert verify(client, data)["verdict"] == "original"
        for other in (unregistered, pending):
            busy = client.post("/v1/verify", files={"file": ("x.jpg", other, "image/jpeg")})
            assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy"
    finally:
        client.portal.call(held.__aexit__, None, None, None)
    assert verify(client, unregistered)["verdict"] == "unknown"
