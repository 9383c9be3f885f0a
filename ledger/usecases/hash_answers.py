"""Verify by hash from a hot index: ``GET /v1/verify/{sha256}`` is what readers' browsers, extensions and platforms
call for every image they show, so its answers are computed once per change of the mirror, not once per request.

- A hash the match index does not hold is ``unknown`` at once (no database read): the index holds every record the
  mirror had at the feed's last poll (``IndexFeed`` reads the checkpoint before the rows).
- A registered hash is answered from the database once, then kept until the mirror's ``generation`` changes (a new
  checkpoint block or hash, or new rows: the indexer commits every change, retractions and reorgs included, with a
  new checkpoint). At most ``ANSWER_CACHE_ENTRIES`` answers per process are kept (oldest stored dropped first).
- Freshness (indexed block, head, seconds behind) is the feed's last poll, read once per poll for every answer.

Every answer has a weak ``ETag`` over what it says (verdict, relation, the matched records with their retraction;
for ``unknown`` the block it was given at), the same in every process and host: a registration, a retraction or a
reorg that changes an answer changes its ETag; the freshness fields alone do not (a revalidated copy may report an
older head). The ``verification_id`` of a hash answer is derived from the ETag, so equal answers are equal bytes.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass

from ledger.adapters.index_feed import IndexFeed, MirrorState
from ledger.core.answer import Freshness, Match, Verification, chain_label
from ledger.core.types import parse_hash32
from ledger.core.verdict import Verdict
from ledger.usecases.context import Context
from ledger.usecases.verify import freshness, hash_decision

ANSWER_CACHE_ENTRIES = 20_000  # ~1-2 KB each: tens of MB per process at most


@dataclass(frozen=True, slots=True)
class HashAnswer:
    """One answer ready to send: JSON bytes, its ETag and whether a registered record is named in it."""

    body: bytes
    etag: str
    registered: bool


@dataclass(frozen=True, slots=True)
class _Substance:
    """What a registered hash's answer says, independent of freshness; kept per mirror generation."""

    generation: tuple[object, ...]
    verdict: str
    relation: str
    matches: list[Match]
    digest: str


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def answer_digest(content_hash: str, verdict: str, relation: str, matches: list[Match], indexed_block: int | None) -> str:
    """What the ETag covers: an answer naming records is what it says of them; `unknown` is also the block it was
    given at (the same in every process, whichever way it was computed)."""
    if not matches:
        return _digest(Verdict.UNKNOWN.value, content_hash, str(indexed_block))
    return _digest(verdict, relation, [m.model_dump() for m in matches], content_hash)


class HashAnswers:
    def __init__(self, ctx: Context, feed: IndexFeed | None, capacity: int = ANSWER_CACHE_ENTRIES) -> None:
        self.ctx, self.feed, self.capacity = ctx, feed, capacity
        self._substance: dict[str, _Substance] = {}
        self._bodies: dict[str, tuple[int, HashAnswer]] = {}  # content hash -> (MirrorState.serial, answer)
        self._unknown: tuple[int, bytes, bytes, str] | None = None  # (state id, JSON before/after the hash, block)
        self._lock = threading.Lock()

    def _state(self) -> MirrorState | None:
        feed = self.feed
        return feed.mirror if feed is not None and feed.ready else None

    def cached(self, sha256: str) -> HashAnswer | None:
        """The answer without any I/O, or None when it needs the database (``answer`` then)."""
        content_hash = parse_hash32(sha256, "sha256")
        state = self._state()
        if state is None:
            return None
        assert self.feed is not None
        if content_hash not in self.feed.index:
            return self._unknown_answer(content_hash, state)
        kept = self._bodies.get(content_hash)
        if kept is not None and kept[0] == state.serial:
            return kept[1]
        substance = self._substance.get(content_hash)
        if substance is not None and substance.generation == state.generation:
            return self._render(content_hash, substance, state)
        return None

    def answer(self, sha256: str) -> HashAnswer:
        """The answer, reading the database when the hot index does not have it (call off the event loop)."""
        hit = self.cached(sha256)
        if hit is not None:
            return hit
        content_hash = parse_hash32(sha256, "sha256")
        state = self._state()
        with self.ctx.db.read() as session:
            decision, matches = hash_decision(self.ctx, session, content_hash)
            fresh = freshness(session, self.ctx.contract) if state is None else state.freshness
        verdict, relation = decision.verdict.value, decision.relation.value
        digest = answer_digest(content_hash, verdict, relation, matches, fresh.indexed_block)
        if state is None:  # the index is still loading: answer from the database alone, keep nothing
            body = _body(content_hash, verdict, relation, matches, fresh, digest, self.ctx.development_chain)
            return HashAnswer(body, _etag(digest), bool(matches))
        substance = _Substance(state.generation, verdict, relation, matches, digest)
        if self._state() is state:  # the mirror did not move while we read it: keep the answer for this generation
            with self._lock:
                if len(self._substance) >= self.capacity:
                    self._substance.pop(next(iter(self._substance)), None)
                self._substance[content_hash] = substance
        return self._render(content_hash, substance, state)

    def _render(self, content_hash: str, substance: _Substance, state: MirrorState) -> HashAnswer:
        body = _body(content_hash, substance.verdict, substance.relation, substance.matches, state.freshness,
                     substance.digest, self.ctx.development_chain)  # fmt: skip
        answer = HashAnswer(body, _etag(substance.digest), bool(substance.matches))
        with self._lock:
            if len(self._bodies) >= self.capacity:
                self._bodies.pop(next(iter(self._bodies)), None)
            self._bodies[content_hash] = (state.serial, answer)
        return answer

    def _unknown_answer(self, content_hash: str, state: MirrorState) -> HashAnswer:
        template = self._unknown
        if template is None or template[0] != state.serial:
            marker = "0x" + "f" * 64
            fresh = state.freshness
            text = _body(marker, Verdict.UNKNOWN.value, Verdict.UNKNOWN.value, [], fresh, "{digest}", self.ctx.development_chain)
            before, after = text.split(marker.encode(), 1)
            template = (state.serial, before, after, str(fresh.indexed_block))
            self._unknown = template
        digest = _digest(Verdict.UNKNOWN.value, content_hash, template[3])  # = answer_digest(content_hash, ..., [], block)
        body = template[1].replace(b"{digest}", digest[:16].encode()) + content_hash.encode() + template[2]
        return HashAnswer(body, _etag(digest), False)


def _etag(digest: str) -> str:
    return f'W/"{digest}"'


def _body(content_hash: str, verdict: str, relation: str, matches: list[Match], fresh: Freshness, digest: str,
          development_chain: bool) -> bytes:  # fmt: skip
    answer = Verification(verification_id=f"v_{digest[:16]}", verdict=verdict, relation=relation,
                          query={"sha256": content_hash}, matches=matches, changes=None,
                          **fresh.model_dump(), **chain_label(development_chain))  # fmt: skip
    return answer.model_dump_json().encode()
