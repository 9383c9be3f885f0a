from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ledger.adapters.store.models import RetractionRow
from tests.api.test_api import API_KEY, error_code, mirror_registration, photo, register, setup  # noqa: F401 (fixture)

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def test_retraction_is_queued_once_and_shown_in_the_receipt(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = setup
    accepted = register(client, photo(pdq_fixtures)).json()
    mirror_registration(db, accepted["uid"])
    path = f"/v1/media/{accepted['content_hash']}/retract"
    response = client.post(path, headers=AUTH, json={"reason_code": 1, "reason": "The caption named the wrong city."})
    assert response.status_code == 202, response.text
    assert response.json() == {"uid": accepted["uid"], "status": "pending"}
    with db.read() as session:
        row = session.scalars(select(RetractionRow)).one()
    assert (row.reason_code, row.reason, row.status) == (1, "The caption named the wrong city.", "pending")
    receipt = client.get(f"/v1/media/{accepted['content_hash']}", headers=AUTH).json()
    assert receipt["retraction_status"] == "pending"

    again = client.post(path, headers=AUTH, json={"reason_code": 1, "reason": "again"})
    assert again.status_code == 409 and error_code(again) == "already_retracted"


def test_retraction_errors(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = setup
    accepted = register(client, photo(pdq_fixtures)).json()
    path = f"/v1/media/{accepted['content_hash']}/retract"
    assert client.post(path, json={"reason_code": 1, "reason": "x"}).status_code == 401
    unknown = client.post("/v1/media/0x" + "ab" * 32 + "/retract", headers=AUTH, json={"reason_code": 1, "reason": "x"})
    assert unknown.status_code == 404 and error_code(unknown) == "not_found"
    bad_code = client.post(path, headers=AUTH, json={"reason_code": 99, "reason": "x"})
    assert bad_code.status_code == 422 and error_code(bad_code) == "invalid_input"
    empty = client.post(path, headers=AUTH, json={"reason_code": 1, "reason": "   "})
    assert empty.status_code == 422
    missing = client.post(path, headers=AUTH, json={"reason": "x"})
    assert missing.status_code == 422 and error_code(missing) == "invalid_request"
