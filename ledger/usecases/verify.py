"""Verify: look a reader's image up in the mirror and say what it is. Reads only the database, never the chain.

Adapter around the pure core: exact lookup, pixel lookup (SQL on the mirror), then perceptual matching
(``ledger.core.matcher`` over the in-memory ``MatchService`` index, reference copies read from the database).
``MatchService`` builds the index from the mirror when the API starts and follows the indexer's new rows with a
background thread; requests never wait for it (``match_index.ready`` says whether the first load finished).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ledger.core.fingerprint import Fingerprint, Probe
from ledger.core.match_index import MatchIndex, unpack_variants, variant_name
from ledger.core.matcher import PerceptualMatch, Registered, find_matches
from ledger.core.reference import load_reference
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import MatchFingerprintRow, RecordRow, ReferenceCopyRow
from ledger.core.verdict import MatchKind, RecordFacts, decide_verdict

log = logging.getLogger("ledger.core.match_index")

MATCH_POLL_SECONDS = 0.5  # how often the API looks for rows the indexer added
LOAD_CHUNK = 5000  # rows per read while building the index
# SQLite reuses the rowids of rows a reorg deleted: each poll re-reads this many rows below the last one seen.
ROWID_REWIND = 512
# Other databases have no rowid: each poll re-reads records from this many blocks below the highest seen.
BLOCK_REWIND = 64


def iso(seconds: int | float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def freshness(session: Session, contract: str) -> dict[str, Any]:
    checkpoint = repo.get_checkpoint(session, contract)
    if checkpoint is None:
        return {"indexed_block": None, "head_block": None, "index_updated_at": None, "seconds_behind": None}
    updated = repo.as_utc(checkpoint.updated_at)
    return {
        "indexed_block": checkpoint.block_number,
        "head_block": checkpoint.head_block,
        "index_updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds_behind": round((repo.utcnow() - updated).total_seconds(), 3),
    }


# -- retractions (mirrored from Revoked events) --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Retraction:
    retracted_at: str | None
    reason: str | None


def retraction_of(session: Session, row: RecordRow) -> Retraction | None:
    """The record's retraction (``records.revoked_at``, ``revoke_reason``), or None."""
    if row.revoked_at is None:
        return None
    return Retraction(iso(int(row.revoked_at)), row.revoke_reason)


def describe_record(session: Session, row: RecordRow, kind: MatchKind, chain_id: int, contract: str) -> dict[str, Any]:
    publisher = repo.publisher(session, row.publisher)
    body = repo.manifest_body(session, row.manifest_hash)
    manifest = json.loads(body) if body else {}
    retraction = retraction_of(session, row)
    return {
        "uid": row.uid,
        "match": kind.value,
        "publisher": {
            "address": row.publisher,
            "name": publisher.name if publisher else None,
            "domain": publisher.domain if publisher else None,
        },
        # The manifest is off-chain; without it (another operator's registration) we still know the hashes.
        "caption": manifest.get("caption"),
        "credit": manifest.get("credit"),
        "published_url": manifest.get("published_url"),
        "taken_at": manifest.get("taken_at"),
        "manifest_hash": row.manifest_hash,
        "registered_at": iso(row.registered_at),
        "chain_id": chain_id,
        "contract": contract,
        "tx_hash": row.tx_hash,
        "block_number": row.block_number,
        "log_index": row.log_index,
        "distance": None,
        "quality": None,
        "variant": None,
        "transform": None,
        "transforms": [],
        "retracted": retraction is not None,
        "retracted_at": retraction.retracted_at if retraction else None,
        "retraction_reason": retraction.reason if retraction else None,
        # A Merkle-batched record: the root anchored in tx_hash, and the proof that this image is one of its leaves.
        "batch_root": row.batch_root,
        "leaf_index": row.leaf_index,
        "proof": _proof(session, row),
    }


def _proof(session: Session, row: RecordRow) -> list[str] | None:
    if row.batch_root is None:
        return None
    submission = repo.submission(session, row.uid)
    return json.loads(submission.proof) if submission is not None and submission.proof else None


def _facts(session: Session, rows: list[RecordRow]) -> list[RecordFacts]:
    return [RecordFacts((r.block_number, r.log_index), retraction_of(session, r) is not None) for r in rows]


# -- the verdict ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Outcome:
    """The JSON body, and for an ``edited`` verdict the change map to render as the heatmap."""

    body: dict[str, Any]
    heat: np.ndarray | None = None


def verify(db: Database, chain_id: int, contract: str, content_hash: str, fingerprint: Fingerprint | None) -> dict[str, Any]:
    """The verdict for a bare SHA-256 (exact lookup only), or for a fingerprint without perceptual matching."""
    with db.read() as session:
        exact = repo.records_by_content_hash(session, content_hash)
        pixels: list[RecordRow] = []
        if fingerprint is not None and not exact:
            pixels = repo.records_by_pixel_hash(session, fingerprint.pixel_sha256)
        kind = MatchKind.EXACT if exact else MatchKind.PIXELS if pixels else None
        rows = exact or pixels
        decision = decide_verdict(kind, _facts(session, rows))
        matches = [describe_record(session, row, kind, chain_id, contract) for row in rows] if kind else []
        return {
            "verdict": decision.verdict.value,
            "relation": decision.relation.value,
            "query": fingerprint.as_dict() if fingerprint else {"sha256": content_hash},
            "matches": matches,
            "changes": None,
            **freshness(session, contract),
        }


def verify_image(db: Database, chain_id: int, contract: str, probe: Probe, matcher: MatchService | None) -> Outcome:
    """Exact, then pixel, then perceptual lookup of a reader's image."""
    fingerprint = probe.fingerprint
    query = {**fingerprint.as_dict(), "trimmed_pdq": probe.trimmed_pdq, "trim": probe.trim.kind if probe.trim else None}
    index_state = matcher.state() if matcher is not None else {"ready": False, "images": 0}
    with db.read() as session:
        exact = repo.records_by_content_hash(session, fingerprint.sha256)
        pixels = [] if exact else repo.records_by_pixel_hash(session, fingerprint.pixel_sha256)
        rows = exact or pixels
        if rows:
            kind = MatchKind.EXACT if exact else MatchKind.PIXELS
            decision = decide_verdict(kind, _facts(session, rows))
            matches = [describe_record(session, row, kind, chain_id, contract) for row in rows]
            body = {"verdict": decision.verdict.value, "relation": decision.relation.value, "query": query,
                    "matches": matches, "changes": None}  # fmt: skip
            return Outcome({**body, "match_index": index_state, **freshness(session, contract)})

        found: list[tuple[PerceptualMatch, list[RecordRow]]] = []
        if matcher is not None:
            for match in find_matches(probe, matcher.index, lambda content: registered(session, content)):
                records = repo.records_by_content_hash(session, match.content_hash)
                if records:  # a reorg may have removed what the index still holds
                    found.append((match, records))
        if not found:
            decision = decide_verdict(None)
            body = {"verdict": decision.verdict.value, "relation": decision.relation.value, "query": query,
                    "matches": [], "changes": None}  # fmt: skip
            return Outcome({**body, "match_index": index_state, **freshness(session, contract)})

        primary, primary_rows = found[0]
        decision = decide_verdict(primary.kind, _facts(session, primary_rows), primary.edited)
        matches = []
        for match, records in found:
            for row in records:
                matches.append({**describe_record(session, row, match.kind, chain_id, contract), **_perceptual_fields(match)})
        changes = _changes(primary)
        body = {"verdict": decision.verdict.value, "relation": decision.relation.value, "query": query,
                "matches": matches, "changes": changes}  # fmt: skip
        heat = primary.comparison.heat if primary.edited and primary.comparison is not None else None
        return Outcome({**body, "match_index": index_state, **freshness(session, contract)}, heat)


def registered(session: Session, content_hash: str) -> Registered:
    """The reference copy and canonical size of a registered picture, as far as this database knows them."""
    copy = session.get(ReferenceCopyRow, content_hash)
    reference = load_reference(content_hash, copy.data, copy.source_width, copy.source_height) if copy else None
    if copy is not None:
        return Registered(reference, (copy.source_width, copy.source_height))
    fingerprints = session.get(MatchFingerprintRow, content_hash)
    return Registered(None, (fingerprints.width, fingerprints.height) if fingerprints else None)


def _perceptual_fields(match: PerceptualMatch) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "distance": match.hit.distance,
        "quality": match.hit.quality,
        "variant": variant_name(match.hit.variant),
        "transform": ", ".join(match.transforms),
        "transforms": list(match.transforms),
        "confirmed_by": match.judgement.acceptance.value,  # "confirmed" (second stage) or "hash" (distance <= 31)
    }
    if match.edited and match.comparison is not None:
        fields["edit_summary"] = edit_summary(match.comparison.changed_share, len(match.comparison.regions))
    elif match.comparison is None:
        fields["note"] = "The publisher keeps no reference copy, so changes cannot be shown."
    return fields


def edit_summary(share: float, regions: int) -> str:
    percent = share * 100
    amount = f"about {percent:.0f}%" if percent >= 1 else "less than 1%"
    where = "one area" if regions == 1 else f"{regions} areas"
    return f"In {where} ({amount} of the picture) it differs from the registered image; the area is highlighted." \
        if regions == 1 else f"In {where} ({amount} of the picture) it differs from the registered image; they are highlighted."


def _changes(match: PerceptualMatch) -> dict[str, Any] | None:
    comparison = match.comparison
    if comparison is None:
        return None
    return {
        "compared": comparison.aligned,
        "confirmed": comparison.confirmed,
        "changed_share": comparison.changed_share,
        "covered_share": comparison.covered_share,
        "regions": [{"x": x0, "y": y0, "width": round(x1 - x0, 4), "height": round(y1 - y0, 4)}
                    for x0, y0, x1, y1 in comparison.regions] if match.edited else [],  # fmt: skip
        "correlation": comparison.ncc,
        "structure": comparison.structure,
        "heatmap_url": None,  # set by the API when it keeps a heatmap for this verification
    }


# -- the index, kept in step with the mirror -----------------------------------------------------------------------
class MatchService:
    """Owns the ``MatchIndex`` of one API process: first load in a background thread, then polls for rows the
    indexer added. New rows are found by SQLite's rowid (an index scan from the last one seen) or, on other
    databases, by block number."""

    def __init__(self, db: Database, poll_seconds: float = MATCH_POLL_SECONDS) -> None:
        self.db = db
        self.index = MatchIndex()
        self.poll_seconds = poll_seconds
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_lock = threading.Lock()
        self._cursor: tuple[int, int] = (0, -1)  # (rowid, 0) on SQLite, else (block number, log index)
        self.updated_at: float | None = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def state(self) -> dict[str, Any]:
        return {"ready": self.ready, "images": len(self.index)}

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
            sqlite = self.db.is_sqlite
            if sqlite:
                start: tuple[int, int] = (max(0, self._cursor[0] - ROWID_REWIND), 0)
            else:
                start = (max(0, self._cursor[0] - BLOCK_REWIND), -1)
            added = 0
            while True:
                batch, last = self._read_after(start, sqlite)
                added += self.index.add_many(batch)
                if last is not None:
                    self._cursor = max(self._cursor, last)
                    start = last
                if last is None or len(batch) < LOAD_CHUNK:
                    break
            self.updated_at = time.time()
            return added

    def _read_after(self, start: tuple[int, int], sqlite: bool) -> tuple[list[tuple[str, str, int | None, np.ndarray | None]], tuple[int, int] | None]:
        columns = (RecordRow.content_hash, RecordRow.pdq_hash, MatchFingerprintRow.pdq_quality, MatchFingerprintRow.variants)
        if sqlite:
            query = select(*columns, text("records.rowid"), RecordRow.log_index).where(text("records.rowid > :start"))
            query = query.order_by(text("records.rowid")).params(start=start[0])
        else:
            block, log_index = start
            after = (RecordRow.block_number > block) | ((RecordRow.block_number == block) & (RecordRow.log_index > log_index))
            query = select(*columns, RecordRow.block_number, RecordRow.log_index).where(after)
            query = query.order_by(RecordRow.block_number, RecordRow.log_index)
        query = query.outerjoin(MatchFingerprintRow, MatchFingerprintRow.content_hash == RecordRow.content_hash)
        with self.db.read() as session:
            rows = session.execute(query.limit(LOAD_CHUNK)).all()
        if not rows:
            return [], None
        batch = [(c, p, q, unpack_variants(v) if v else None) for c, p, q, v, _, _ in rows]
        last = rows[-1]
        return batch, ((int(last[4]), 0) if sqlite else (int(last[4]), int(last[5])))
