"""Verify by upload of a file registered here and mirrored, from kept answers: readers upload circulating originals
again and again (the soak: 50 a second of one file), and each such upload cost 6-7 ms of the API's CPU for an
answer that only a change of the mirror can change (``verify_registered``: the C2PA read, eight SQL statements, the
answer's validation), the CPU verify by hash was losing its rate to.

The key is the SHA-256 of the uploaded bytes. Every part of the answer that depends on the upload (``query``: what
registration measured of these exact bytes; ``content_credentials``: the C2PA manifest they carry;
``credentials_removed``, from both) is a function of those bytes, so of the key; the rest (verdict, the records) is
the mirror's, kept until its ``generation`` changes as ``hash_answers`` does (every registration, retraction or
reorg the indexer mirrors comes with a new checkpoint). What differs per request is set when the answer is sent: a
new ``verification_id``, the match index's state and the freshness of the index feed's last poll (the ``hash_answers``
rule; the full path reads the checkpoint itself, so its ``seconds_behind`` can differ by up to one poll). A kept
answer is also dropped after ``KEPT_SECONDS``, since the C2PA verdict on a manifest may depend on the clock (a
certificate's validity). Only answers ``verify_registered`` gives are kept (no heatmap, no decoding); anything else
goes the full way, and the route checks the upload limits before a kept answer is used.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ledger.adapters.index_feed import IndexFeed, MirrorState
from ledger.core.answer import Verification
from ledger.core.fingerprint import within_limits
from ledger.usecases.context import Context
from ledger.usecases.verify import Verified, new_verification_id, verify_registered

KEPT_SECONDS = 60.0  # as long as a CDN may keep a registered hash answer (Settings.verify_cache_seconds' default)
UPLOAD_ANSWER_ENTRIES = 2_000  # ~2-10 KB each (with C2PA summaries): ~20 MB per process at most


@dataclass(frozen=True, slots=True)
class _Kept:
    generation: tuple[object, ...]
    expires: float  # time.monotonic()
    answer: Verification


class RegisteredUploads:
    def __init__(self, feed: IndexFeed | None, capacity: int = UPLOAD_ANSWER_ENTRIES) -> None:
        self.feed, self.capacity = feed, capacity
        self._kept: dict[str, _Kept] = {}
        self._lock = threading.Lock()

    def _state(self) -> MirrorState | None:
        feed = self.feed
        return feed.mirror if feed is not None and feed.ready else None

    def kept(self, ctx: Context, content_hash: str, size: int) -> Verification | None:
        """The answer for an upload of ``size`` bytes with this SHA-256, without any I/O; None when it must be
        computed (``verify``): not kept, the mirror moved, expired, or over ``ctx.limits`` (the full path then
        decodes it, and refuses it as before)."""
        state = self._state()
        kept = self._kept.get(content_hash)
        if state is None or kept is None or kept.generation != state.generation or time.monotonic() >= kept.expires:
            return None
        query = kept.answer.query
        if not within_limits(ctx.limits, size, query.width or 0, query.height or 0, query.format or ""):
            return None
        assert self.feed is not None
        return kept.answer.model_copy(update={"verification_id": new_verification_id(), "match_index": self.feed.state(),
                                              **state.freshness.model_dump()})  # fmt: skip

    def verify(self, ctx: Context, data: bytes, content_hash: str) -> Verified | None:
        """``verify_registered``, keeping its answer when the mirror did not move while it was computed (call off
        the event loop). Not kept either when the database's checkpoint was already past the feed's last poll: the
        records read could then be newer than the block the kept answer would report as indexed."""
        state = self._state()
        verified = verify_registered(ctx, data, content_hash)
        if verified is None or state is None or verified.heatmap_png is not None or self._state() is not state:
            return verified
        if verified.answer.indexed_block != state.freshness.indexed_block:
            return verified
        with self._lock:
            if content_hash not in self._kept and len(self._kept) >= self.capacity:
                self._kept.pop(next(iter(self._kept)), None)  # the oldest stored first
            self._kept[content_hash] = _Kept(state.generation, time.monotonic() + KEPT_SECONDS, verified.answer)
        return verified
