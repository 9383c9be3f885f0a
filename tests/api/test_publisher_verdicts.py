"""Issue 12, verdicts across publishers: Beta registers the photo Alpha published (before or after Alpha), then
retracts its registration. Every publisher's record is shown with its own caption, time and retraction state; the
earliest is labelled as such and no one is named the owner; Alpha's readers are not told `retracted`.
Same temporary database setup as test_api.py (SQLite and PostgreSQL), no chain: the mirror is written as the
indexer would write it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from ledger.adapters.keystore import create_key
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import PublisherAccountRow, SubmissionRow
from tests.api.publishers import add_publisher
from tests.api.test_api import API_KEY, CONTRACT, PASSWORD, photo, register, setup  # noqa: F401 (fixture)

BETA_KEY = "pk_test_key_for_beta_only"


def add_beta(db: Database, keystore_dir: Path) -> str:
    return add_publisher(db, keystore_dir, PASSWORD, BETA_KEY, "Beta Wire", "beta.example", mirrored_in_block=3)


def mine(db: Database, uid: str, block: int, registered_at: int) -> None:
    """The Registered event of a submission, mined in ``block``."""
    with db.write() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None
        args = {"uid": row.uid, "publisher": row.publisher, "contentHash": row.content_hash, "pixelHash": row.pixel_hash,
                "pdqHash": row.pdq_hash, "manifestHash": row.manifest_hash, "parent": row.parent,
                "registeredAt": registered_at}  # fmt: skip
        tx = "0x" + f"{block:02x}" * 32
        mirror.apply_events(session, [DecodedEvent("Registered", args, block, "0x" + "55" * 32, tx, 0)])
        repo.save_checkpoint(session, CONTRACT, 31337, block, "0x" + "55" * 32, block)


def mine_revocation(db: Database, uid: str, publisher: str, block: int) -> None:
    with db.write() as session:
        args = {"uid": uid, "revokedAt": 1795990000, "reasonCode": 1, "reason": "We did not take this photo.",
                "revokedBy": publisher, "byAdmin": False}  # fmt: skip
        mirror.apply_events(session, [DecodedEvent("Revoked", args, block, "0x" + "66" * 32, "0x" + "77" * 32, 0)])
        repo.save_checkpoint(session, CONTRACT, 31337, block, "0x" + "66" * 32, block)  # as the indexer commits it


def fresh(client: TestClient) -> TestClient:
    """The client, once the hot hash index has taken what the test wrote to the mirror (the service's feed does it
    at its next poll, within 0.5 s)."""
    client.app.state.ledger.matcher.refresh()  # type: ignore[attr-defined]
    return client


def verify(client: TestClient, data: bytes) -> dict:  # type: ignore[type-arg]
    # Answers of uploads of registered files are kept per state of the mirror too (ledger.usecases.upload_answers).
    response = fresh(client).post("/v1/verify", files={"file": ("a.jpg", data)})
    assert response.status_code == 200, response.text
    return response.json()


def by_name(body: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {m["publisher"]["name"]: m for m in body["matches"]}


@pytest.mark.parametrize("beta_first", [True, False])
def test_beta_retracting_does_not_retract_alphas_photo(setup, pdq_fixtures: Path, tmp_path: Path,
                                                       beta_first: bool) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    client, db, alpha = setup
    beta = add_beta(db, tmp_path / "keystore")
    original = photo(pdq_fixtures)
    alpha_reg = register(client, original, caption="Protest at city hall, 28 November").json()
    beta_reg = register(client, original, key=BETA_KEY, caption="Riot downtown").json()
    assert alpha_reg["content_hash"] == beta_reg["content_hash"] and alpha_reg["uid"] != beta_reg["uid"]
    beta_block, alpha_block = (10, 11) if beta_first else (11, 10)
    mine(db, beta_reg["uid"], beta_block, 1795880000 + beta_block * 60)
    mine(db, alpha_reg["uid"], alpha_block, 1795880000 + alpha_block * 60)

    before = verify(client, original)
    assert before["verdict"] == "original"
    records = by_name(before)
    assert set(records) == {"Daily Example", "Beta Wire"}
    assert records["Daily Example"]["caption"] == "Protest at city hall, 28 November"
    assert records["Beta Wire"]["caption"] == "Riot downtown"
    first, later = ("Beta Wire", "Daily Example") if beta_first else ("Daily Example", "Beta Wire")
    assert records[first]["earliest"] is True and records[later]["earliest"] is False
    assert records[first]["registered_at"] < records[later]["registered_at"]

    retract = client.post(f"/v1/media/{beta_reg['content_hash']}/retract", headers={"Authorization": f"Bearer {BETA_KEY}"},
                          json={"reason_code": 1, "reason": "We did not take this photo."})  # fmt: skip
    assert retract.status_code == 202, retract.text
    assert retract.json()["uid"] == beta_reg["uid"]  # Beta's request names Beta's record, not Alpha's
    mine_revocation(db, beta_reg["uid"], beta, 12)

    png = io.BytesIO()
    Image.open(io.BytesIO(original)).save(png, format="PNG")
    for answer in (verify(client, original), fresh(client).get(f"/v1/verify/{alpha_reg['content_hash']}").json(),
                   verify(client, png.getvalue())):  # fmt: skip
        assert answer["verdict"] in ("original", "same_pixels"), answer["verdict"]
        records = by_name(answer)
        assert records["Beta Wire"]["retracted"] is True
        assert records["Beta Wire"]["retraction_reason"] == "We did not take this photo."
        assert records["Daily Example"]["retracted"] is False and records["Daily Example"]["retracted_at"] is None
        assert records["Daily Example"]["caption"] == "Protest at city hall, 28 November"
        assert records[first]["earliest"] is True  # still the earliest, retracted or not
    assert alpha != beta

    # Only when Alpha retracts too is every record shown retracted, and only then the verdict.
    client.post(f"/v1/media/{alpha_reg['content_hash']}/retract", headers={"Authorization": f"Bearer {API_KEY}"},
                json={"reason_code": 1, "reason": "Wrong caption."})  # fmt: skip
    mine_revocation(db, alpha_reg["uid"], alpha, 13)
    both = verify(client, original)
    assert (both["verdict"], both["relation"]) == ("retracted", "original")


def test_another_file_of_the_same_picture_is_shown_beside_the_exact_one(setup, pdq_fixtures: Path,
                                                                         tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    """Alpha registered the JPEG; Beta registered a lossless PNG of it earlier. A reader holding Alpha's JPEG sees
    both publishers (Beta's as `pixels`), so neither registration hides the other."""
    client, db, _ = setup
    add_beta(db, tmp_path / "keystore")
    original = photo(pdq_fixtures)
    png = io.BytesIO()
    Image.open(io.BytesIO(original)).save(png, format="PNG")
    beta_reg = register(client, png.getvalue(), key=BETA_KEY, caption="Riot downtown").json()
    alpha_reg = register(client, original, caption="Protest at city hall").json()
    mine(db, beta_reg["uid"], 10, 1795880600)
    mine(db, alpha_reg["uid"], 11, 1795880660)
    answer = verify(client, original)
    assert answer["verdict"] == "original"
    assert [(m["publisher"]["name"], m["match"], m["earliest"]) for m in answer["matches"]] == [
        ("Daily Example", "exact", False), ("Beta Wire", "pixels", True)]  # fmt: skip
