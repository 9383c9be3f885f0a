"""Perceptual verify through the API: copies, edits with a heatmap, the publisher's opt-out, retractions, and the
match index following the mirror. Same temporary SQLite setup as test_api.py, no chain."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import select, text

from ledger.adapters.index_feed import IndexFeed
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import LocalFeatureRow, MatchFingerprintRow, RecordRow, ReferenceCopyRow
from tests.api.test_api import CONTRACT, mirror_registration, register, setup  # noqa: F401 (fixture)

MATCH_FIELDS = {"distance", "quality", "variant", "transform", "transforms", "retracted", "retracted_at", "retraction_reason"}
TOP_FIELDS = {"verification_id", "verdict", "relation", "query", "matches", "changes", "match_index", "indexed_block",
              "head_block", "index_updated_at", "seconds_behind", "development_chain", "chain_warning",
              "content_credentials", "credentials_removed"}  # fmt: skip


def bridge(pdq_fixtures: Path) -> bytes:
    return (pdq_fixtures / "bridge-mods" / "aaa-orig.jpg").read_bytes()


def jpeg(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def registered_and_mirrored(client, db: Database, data: bytes, **fields: str) -> dict:  # type: ignore[no-untyped-def]
    accepted = register(client, data, **fields)
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    mirror_registration(db, body["uid"])
    client.app.state.ledger.matcher.refresh()  # the background thread would pick it up within 0.5 s
    return body


def verify(client, data: bytes) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/v1/verify", files={"file": ("copy.jpg", data)})
    assert response.status_code == 200, response.text
    return response.json()


def test_edited_copy_gets_regions_and_a_heatmap(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = setup
    original = bridge(pdq_fixtures)
    registered_and_mirrored(client, db, original)
    with db.read() as session:
        assert session.scalars(select(ReferenceCopyRow)).one().media_type == "image/jpeg"
        assert session.scalars(select(MatchFingerprintRow)).one().scheme == 2  # the trimmed hash, if any

    image = Image.open(io.BytesIO(original)).convert("RGB")
    ImageDraw.Draw(image).rectangle([100, 80, 500, 330], fill=(250, 250, 250))
    body = verify(client, jpeg(image))
    assert set(body) == TOP_FIELDS
    assert body["verdict"] == "edited" and body["relation"] == "edited"
    assert body["verification_id"].startswith("v_") and body["match_index"] == {"ready": True, "images": 1}
    [match] = body["matches"]
    assert MATCH_FIELDS <= set(match) and match["match"] == "pdq" and match["confirmed_by"] == "confirmed"
    assert match["caption"] == "Rain on a street" and "edit_summary" in match
    [region] = body["changes"]["regions"]
    assert abs(region["x"] - 100 / 1600) < 0.04 and abs(region["y"] - 80 / 1004) < 0.04
    heatmap = client.get(body["changes"]["heatmap_url"])
    assert heatmap.status_code == 200 and heatmap.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(heatmap.content)).size == (512, 321)

    rotated = verify(client, jpeg(Image.open(io.BytesIO(original)).transpose(Image.Transpose.ROTATE_90), 70))
    assert rotated["verdict"] == "copy" and rotated["changes"]["heatmap_url"] is None
    assert "rotated 90° counter-clockwise" in rotated["matches"][0]["transforms"]
    assert client.get(f"/v1/verify/{rotated['verification_id']}/diff.png").status_code == 404
    assert client.get("/v1/verify/v_nothing/diff.png").json()["error"]["code"] == "not_found"

    unrelated = verify(client, (pdq_fixtures / "reg-test-input" / "labelme-subset" / "q1050.jpg").read_bytes())
    assert unrelated["verdict"] == "unknown" and unrelated["matches"] == [] and unrelated["changes"] is None


def test_opting_out_keeps_hashes_but_no_reference(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = setup
    original = bridge(pdq_fixtures)
    accepted = registered_and_mirrored(client, db, original, keep_reference="false")
    assert "crops, small rotations, screenshots" in accepted["note"]  # says what it cannot be found by
    with db.read() as session:
        assert session.scalars(select(ReferenceCopyRow)).first() is None
        assert session.scalars(select(LocalFeatureRow)).first() is None
        assert session.scalars(select(MatchFingerprintRow)).one().pdq_quality == 100
    small = Image.open(io.BytesIO(original)).resize((400, 251))
    body = verify(client, jpeg(small, 60))
    assert body["verdict"] == "copy" and body["changes"] is None
    [match] = body["matches"]
    assert match["confirmed_by"] == "hash" and match["distance"] <= 31 and "resized" in match["transforms"]
    assert "no reference copy" in match["note"]


def test_retracted_original_is_retracted(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    """The retraction columns (records.revoked_at, revoke_reason) come from the revocations migration."""
    client, db, _ = setup
    original = bridge(pdq_fixtures)
    accepted = registered_and_mirrored(client, db, original)
    assert verify(client, original)["matches"][0]["retracted"] is False
    with db.write() as session:  # with a new checkpoint, as the indexer commits a retraction
        session.execute(text("UPDATE records SET revoked_at = 1795900000, revoke_reason = 'wrong caption' WHERE uid = :u"),
                        {"u": accepted["uid"]})  # fmt: skip
        repo.save_checkpoint(session, CONTRACT, 31337, 6, "0x" + "66" * 32, 7)
    client.app.state.ledger.matcher.refresh()  # answers of registered uploads are kept until the mirror moves
    exact = verify(client, original)
    assert (exact["verdict"], exact["relation"]) == ("retracted", "original")
    match = exact["matches"][0]
    assert match["retracted"] is True and match["retraction_reason"] == "wrong caption"
    assert match["retracted_at"] == "2026-11-28T21:06:40Z"
    copy = verify(client, jpeg(Image.open(io.BytesIO(original)).resize((800, 502))))
    assert (copy["verdict"], copy["relation"]) == ("retracted", "copy")
    by_hash = client.get(f"/v1/verify/{accepted['content_hash']}").json()
    assert by_hash["verdict"] == "retracted" and "verification_id" in by_hash


def test_index_feed_follows_the_mirror(setup, pdq_fixtures: Path) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = setup
    service = IndexFeed(db, poll_seconds=0.05)
    service.start()
    try:
        assert service.wait_ready(10) and len(service.index) == 0
        body = registered_and_mirrored(client, db, bridge(pdq_fixtures))
        deadline = __import__("time").monotonic() + 10
        while len(service.index) == 0 and __import__("time").monotonic() < deadline:
            __import__("time").sleep(0.05)
        assert body["content_hash"] in service.index
        assert service.index.sizes()["fast_entries"] == 1  # the on-chain hash (rotations are hashed by the reader's side)
        # A record the indexer mirrors again (a replay) is not indexed twice.
        with db.write() as session:
            row = session.get(RecordRow, body["uid"])
            assert row is not None
        assert service.refresh() == 0
    finally:
        service.stop()
