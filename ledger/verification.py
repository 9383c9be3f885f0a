"""Verify: look a reader's image up in the mirror and say what it is. Reads only the database."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from ledger.fingerprint import Fingerprint
from ledger.store import repository as repo
from ledger.store.db import Database
from ledger.store.models import RecordRow
from ledger.verdict import MatchKind, decide


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


def describe_record(session: Session, row: RecordRow, kind: MatchKind, chain_id: int, contract: str) -> dict[str, Any]:
    publisher = repo.publisher(session, row.publisher)
    body = repo.manifest_body(session, row.manifest_hash)
    manifest = json.loads(body) if body else {}
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
    }


def verify(db: Database, chain_id: int, contract: str, content_hash: str, fingerprint: Fingerprint | None) -> dict[str, Any]:
    """The verdict for a file (``fingerprint`` given) or for a bare SHA-256 (exact lookup only)."""
    with db.read() as session:
        exact = repo.records_by_content_hash(session, content_hash)
        pixels: list[RecordRow] = []
        if fingerprint is not None and not exact:
            pixels = repo.records_by_pixel_hash(session, fingerprint.pixel_sha256)
        kind = MatchKind.EXACT if exact else MatchKind.PIXELS
        matches = [describe_record(session, row, kind, chain_id, contract) for row in exact or pixels]
        result: dict[str, Any] = {
            "verdict": decide(bool(exact), bool(pixels)).value,
            "query": fingerprint.as_dict() if fingerprint else {"sha256": content_hash},
            "matches": matches,
            **freshness(session, contract),
        }
    return result
