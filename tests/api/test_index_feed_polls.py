"""The match index's poll (``ledger.adapters.index_feed.IndexFeed``) re-reads the last rows it saw on every poll (rowids
a reorg freed may be reused); the local features of pictures it already indexed are not read again. Same temporary
SQLite setup as test_api.py."""

from __future__ import annotations

import threading

import numpy as np
import skimage.data as sd
from PIL import Image

from ledger.adapters import index_feed
from ledger.adapters.index_feed import IndexFeed
from tests.api.test_api import setup  # noqa: F401 (fixture)
from tests.api.test_verify_matching import jpeg, registered_and_mirrored


def test_a_poll_reads_features_only_of_pictures_new_to_the_index(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client, db, _ = setup
    photos = [sd.astronaut(), sd.coffee(), np.asarray(Image.fromarray(sd.chelsea()).convert("RGB"))]
    for photo in photos[:2]:
        registered_and_mirrored(client, db, jpeg(Image.fromarray(photo), 92))
    decoded: list[int] = []  # features decoded by this test's feed (the app runs its own feed in another thread)
    real = index_feed.Features.from_bytes

    def counted(data: bytes) -> index_feed.Features:
        if threading.current_thread() is threading.main_thread():
            decoded.append(1)
        return real(data)

    monkeypatch.setattr(index_feed.Features, "from_bytes", staticmethod(counted))
    feed = IndexFeed(db)
    assert feed.refresh() == 2 and len(feed.local) == 2 and len(decoded) == 2
    assert feed.refresh() == 0 and len(decoded) == 2  # the same rows again: nothing decoded
    registered_and_mirrored(client, db, jpeg(Image.fromarray(photos[2]), 92))
    decoded.clear()
    assert feed.refresh() == 1 and len(feed.local) == 3 and len(decoded) == 1  # only the new picture's features
