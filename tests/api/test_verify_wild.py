"""The wild path through the API: a picture registered with POST /v1/media is found by POST /v1/verify inside a
social-feed screenshot, as a rotated crop, and through a chain of edits (the pasted box shown on the heatmap);
the other view of a stereo pair is a similar scene, never a copy. Same temporary SQLite setup as test_api.py."""

from __future__ import annotations

import io

import numpy as np
import skimage.data as sd
from PIL import Image, ImageDraw
from sqlalchemy import select

from ledger.adapters.store.models import LocalFeatureRow
from tests.api.test_api import setup  # noqa: F401 (fixture)
from tests.api.test_verify_matching import jpeg, registered_and_mirrored, verify


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def feed_screenshot(photo: Image.Image) -> Image.Image:
    """A phone screenshot of a post: header, text, the photo at ~30% of the screen and cut by the viewport."""
    screen = Image.new("RGB", (720, 1480), (255, 255, 255))
    draw = ImageDraw.Draw(screen)
    draw.rectangle([0, 0, 720, 60], fill=(20, 20, 20))
    draw.ellipse([24, 90, 104, 170], fill=(90, 140, 200))
    draw.text((120, 100), "Example News  @example · 2h", fill=(20, 20, 20))
    for row in range(4):
        draw.text((24, 200 + 36 * row), "Breaking: protesters gathered outside the city hall this morning " * 1, fill=(30, 30, 30))
    shown = photo.resize((672, round(672 * photo.height / photo.width)), Image.Resampling.LANCZOS)
    screen.paste(shown, (24, 1480 - int(shown.height * 0.8)))  # the bottom fifth is below the viewport
    return screen


def test_feed_screenshot_rotated_crop_and_edit_chain_are_found(setup) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = setup
    photo = Image.fromarray(sd.astronaut())
    body = registered_and_mirrored(client, db, jpeg(photo, 92), caption="An astronaut")
    with db.read() as session:
        stored = session.scalars(select(LocalFeatureRow)).one()
        assert stored.content_hash == body["content_hash"] and 50 <= stored.count <= 200

    screenshot = verify(client, png(feed_screenshot(photo)))
    assert screenshot["verdict"] == "copy", screenshot
    [match] = screenshot["matches"]
    assert match["match"] == "keypoints" and match["caption"] == "An astronaut" and match["relation"] == "copy"
    assert any("screenshot" in word for word in match["transforms"]) and match["inliers"] >= 14
    assert screenshot["changes"]["aligned_by"] == "homography" and screenshot["changes"]["heatmap_url"] is None

    turned = photo.rotate(11, resample=Image.Resampling.BICUBIC, expand=True)
    w, h = turned.size
    rotated_crop = verify(client, jpeg(turned.crop((int(w * 0.12), int(h * 0.1), int(w * 0.9), int(h * 0.85))), 75))
    assert rotated_crop["verdict"] == "copy", rotated_crop
    words = rotated_crop["matches"][0]["transforms"]
    assert any(word.startswith("rotated 1") for word in words) and any(word.startswith("cropped") for word in words)

    # A chain: a box pasted over the picture, then rotated, cropped and re-encoded twice.
    edited = photo.copy()
    ImageDraw.Draw(edited).rectangle([300, 90, 440, 200], fill=(230, 30, 30))  # ~6% of the picture
    chained = edited.rotate(-5, resample=Image.Resampling.BICUBIC, expand=True)
    cw, ch = chained.size
    chained = Image.open(io.BytesIO(jpeg(chained.crop((20, 20, cw - 20, ch - 20)), 80)))
    answer = verify(client, jpeg(chained.resize((cw * 3 // 4, ch * 3 // 4)), 70))
    assert answer["verdict"] == "edited", answer
    assert answer["matches"][0]["relation"] == "edited" and "edit_summary" in answer["matches"][0]
    [region] = answer["changes"]["regions"]
    assert 0.45 < region["x"] + region["width"] / 2 < 0.8 and 0.1 < region["y"] + region["height"] / 2 < 0.4, region
    heatmap = client.get(answer["changes"]["heatmap_url"])
    assert heatmap.status_code == 200 and heatmap.headers["content-type"] == "image/png"


def test_the_other_view_of_a_stereo_pair_is_a_similar_scene(setup) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = setup
    left, right = (Image.fromarray(view) for view in sd.stereo_motorcycle()[:2])
    registered_and_mirrored(client, db, jpeg(left, 92), caption="A motorcycle")
    for copy in (right, right.crop((40, 30, right.width - 40, right.height - 30))):
        answer = verify(client, jpeg(copy))
        assert answer["verdict"] in ("unknown", "similar_scene"), answer
        assert all(m["relation"] == "similar_scene" for m in answer["matches"])
    assert verify(client, jpeg(left.rotate(4, expand=True)))["verdict"] == "copy"
    assert np.asarray(left).shape == np.asarray(right).shape  # the two views are the same size: only parallax differs


def test_pictures_registered_before_the_wild_path_gain_it_from_their_reference_copies(setup) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete

    from ledger.adapters.index_feed import IndexFeed
    from ledger.usecases.backfill import backfill_local_features

    client, db, _ = setup
    photo = Image.fromarray(sd.coffee())
    registered_and_mirrored(client, db, jpeg(photo, 92))
    with db.write() as session:  # as registered before this version: no local features
        session.execute(delete(LocalFeatureRow))
    feed = IndexFeed(db)
    feed.refresh()
    assert len(feed.local) == 0

    result = backfill_local_features(db)
    assert (result.added, result.left) == (1, 0)
    assert backfill_local_features(db).added == 0  # nothing left to do
    restarted = IndexFeed(db)
    restarted.refresh()
    assert len(restarted.local) == 1
    running = client.app.state.ledger.matcher
    client.app.state.ledger.matcher = restarted  # as after a restart of the API
    try:
        answer = verify(client, jpeg(photo.rotate(14, expand=True)))
    finally:
        client.app.state.ledger.matcher = running  # the app stops the feed it started
    assert answer["verdict"] == "copy" and answer["matches"][0]["match"] == "keypoints", answer
