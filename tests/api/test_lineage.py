"""Issue 12, lineage and corrections: `parent` on registration (refused when unknown), a retraction that names its
successor, and verify answers that link derived-from, derived-into and the corrected image."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from ledger.adapters.indexer import mirror
from ledger.adapters.indexer.decode import DecodedEvent
from tests.api.test_api import API_KEY, error_code, photo, register, setup  # noqa: F401 (fixture)
from tests.api.test_publisher_verdicts import fresh, mine

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def crop_of(data: bytes) -> bytes:
    out = io.BytesIO()
    image = Image.open(io.BytesIO(data))
    image.crop((0, 0, image.width * 3 // 4, image.height * 3 // 4)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def test_parent_successor_and_links(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, address = setup
    original = photo(pdq_fixtures)
    first = register(client, original, caption="Protest at city hall").json()
    unknown = register(client, crop_of(original), parent="0x" + "ab" * 32)
    assert unknown.status_code == 422 and error_code(unknown) == "unknown_record"
    bad = register(client, crop_of(original), parent="not-a-uid")
    assert bad.status_code == 422
    # A queued parent is known (the anchorer sends the parent first; the contract checks it on chain too).
    derived = register(client, crop_of(original), caption="Detail: the banner", parent=first["uid"]).json()
    mine(db, first["uid"], 10, 1795880600)
    mine(db, derived["uid"], 11, 1795880660)

    answer = fresh(client).get(f"/v1/verify/{first['content_hash']}").json()
    [record] = answer["matches"]
    assert record["derived_from"] is None
    assert [(link["uid"], link["caption"]) for link in record["derived_into"]] == [(derived["uid"], "Detail: the banner")]
    child = fresh(client).get(f"/v1/verify/{derived['content_hash']}").json()["matches"][0]
    assert child["derived_from"]["uid"] == first["uid"] and child["derived_from"]["caption"] == "Protest at city hall"
    assert child["derived_from"]["content_hash"] == first["content_hash"]

    # A correction: a new image replaces the first; its retraction names it.
    corrected_data = photo(pdq_fixtures, "q0122.jpg")
    corrected = register(client, corrected_data, caption="Protest at city hall (corrected)").json()
    unknown_successor = client.post(f"/v1/media/{first['content_hash']}/retract", headers=AUTH,
                                    json={"reason_code": 1, "reason": "Wrong place.", "successor": "0x" + "cd" * 32})  # fmt: skip
    assert unknown_successor.status_code == 422 and error_code(unknown_successor) == "unknown_record"
    itself = client.post(f"/v1/media/{first['content_hash']}/retract", headers=AUTH,
                         json={"reason_code": 1, "reason": "Wrong place.", "successor": first["uid"]})  # fmt: skip
    assert itself.status_code == 422
    retracted = client.post(f"/v1/media/{first['content_hash']}/retract", headers=AUTH,
                            json={"reason_code": 1, "reason": "Wrong place.", "successor": corrected["uid"]})  # fmt: skip
    assert retracted.status_code == 202, retracted.text
    assert fresh(client).get(f"/v1/verify/{first['content_hash']}").json()["matches"][0]["successor"] is None  # not yet on chain
    mine(db, corrected["uid"], 12, 1795880720)
    with db.write() as session:
        mirror.apply_events(session, [DecodedEvent("Revoked", {"uid": first["uid"], "revokedAt": 1795990000,
                                                               "reasonCode": 1, "reason": "Wrong place.",
                                                               "revokedBy": address, "byAdmin": False},
                                                   13, "0x" + "66" * 32, "0x" + "77" * 32, 0)])  # fmt: skip
    answer = client.post("/v1/verify", files={"file": ("a.jpg", original)}).json()
    assert answer["verdict"] == "retracted"
    successor = answer["matches"][0]["successor"]
    assert successor["uid"] == corrected["uid"] and successor["caption"] == "Protest at city hall (corrected)"
    assert successor["content_hash"] == corrected["content_hash"] and successor["retracted"] is False
