"""``IndexFeed`` keeps one process's in-memory indexes in step with the mirror (the PDQ ``MatchIndex`` and the wild
path's descriptor index): the first load in a background thread, then a poll for rows the indexer added. Requests
never wait for it (``state().ready`` says whether the first load finished).

Each poll also reads the indexer's checkpoint and publishes a ``MirrorState``: its ``generation`` changes whenever the
mirror's content may have changed (the indexer commits every change with a new checkpoint block or hash; new rows
move the feed's cursor), so answers computed from the mirror can be kept until it changes
(``ledger.usecases.hash_answers``); its ``freshness`` is what answers report about the index."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.matching_data import indexed_after, local_features
from ledger.adapters.store.models import CheckpointRow
from ledger.core.answer import Freshness, IndexState
from ledger.core.match_index import MatchIndex
from ledger.core.matcher import LocalSearch
from ledger.core.wild.local_features import Features
from ledger.core.wild.shared_index import SharedLocalIndex

log = logging.getLogger("ledger.matching")

MATCH_POLL_SECONDS = 0.5  # how often the API looks for rows the indexer added
LOAD_CHUNK = 5000  # rows per read while building the index
# SQLite reuses the rowids of rows a reorg deleted: each poll re-reads this many rows below the last one seen.
ROWID_REWIND = 512
# Other databases have no rowid: each poll re-reads records from this many blocks below the highest seen.
BLOCK_REWIND = 64


@dataclass(frozen=True, slots=True)
class MirrorState:
    """What one poll saw: ``generation`` names the mirror's content (checkpoint block and hash, and the feed's
    cursor), ``freshness`` the indexer's position and when it was read."""

    generation: tuple[object, ...]
    freshness: Freshness
    serial: int  # one more for every poll: what was rendered for this state can be reused until the next


def freshness_of(checkpoint: CheckpointRow | None) -> Freshness:
    if checkpoint is None:
        return Freshness()
    updated = repo.as_utc(checkpoint.updated_at)
    return Freshness(indexed_block=checkpoint.block_number, head_block=checkpoint.head_block,
                     index_updated_at=updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     seconds_behind=round((repo.utcnow() - updated).total_seconds(), 3))  # fmt: skip


class IndexFeed:
    def __init__(self, db: Database, poll_seconds: float = MATCH_POLL_SECONDS, contract: str | None = None) -> None:
        self.db = db
        self.contract = contract  # whose checkpoint the mirror state follows (None: no MirrorState)
        self.index = MatchIndex()
        self.local = SharedLocalIndex()
        self.poll_seconds = poll_seconds
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_lock = threading.Lock()
        self._cursor: tuple[int, int] = (0, -1)  # (rowid, 0) on SQLite, else (block number, log index)
        self.updated_at: float | None = None
        self.mirror: MirrorState | None = None  # None until the first load finished

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def state(self) -> IndexState:
        return IndexState(ready=self.ready, images=len(self.index))

    def local_search(self) -> LocalSearch:
        return LocalSearch(self.local, self.local.content_of)  # type: ignore[arg-type]

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="match-index", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_ready(self, timeout: float = 30.0) -> bool:
        return self._ready.wait(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
                if not self._ready.is_set():
                    self._ready.set()
                    log.info("match index loaded: %s", self.index.sizes())
            except Exception:  # noqa: BLE001 - a locked or missing table must not kill the thread; try again
                log.exception("match index refresh failed; retrying")
            self._stop.wait(self.poll_seconds)

    def refresh(self) -> int:
        """Add every mirrored record not yet indexed; returns how many images were added."""
        with self._poll_lock:
            # The checkpoint first: every row it covers is then read below, so the index holds all it names.
            checkpoint = None
            if self.contract is not None:
                with self.db.read() as session:
                    row = repo.get_checkpoint(session, self.contract)
                    checkpoint = (row.block_number, row.block_hash, freshness_of(row)) if row is not None else None
            if self.db.is_sqlite:
                start: tuple[int, int] = (max(0, self._cursor[0] - ROWID_REWIND), 0)
            else:
                start = (max(0, self._cursor[0] - BLOCK_REWIND), -1)
            added = 0
            while True:
                batch, with_features, last = indexed_after(self.db, start, LOAD_CHUNK)
                # Features only of pictures new to this index: every poll re-reads the last ROWID_REWIND rows, and
                # reading their features again (~8 KB each) was most of an idle poll's cost. (Features added later
                # to a picture already indexed reach the API at its next start: docs/matching.md.)
                new = [h for h in with_features if h not in self.index]
                added += self.index.add_many(batch)
                for content_hash, data in local_features(self.db, new) if new else []:
                    self.local.add(content_hash, Features.from_bytes(data))
                if last is not None:
                    self._cursor = max(self._cursor, last)
                    start = last
                if last is None or len(batch) < LOAD_CHUNK:
                    break
            self.updated_at = time.time()
            if self.contract is not None:
                block, block_hash, fresh = checkpoint if checkpoint is not None else (None, None, Freshness())
                serial = self.mirror.serial + 1 if self.mirror is not None else 0
                self.mirror = MirrorState((block, block_hash, self._cursor), fresh, serial)
            return added
