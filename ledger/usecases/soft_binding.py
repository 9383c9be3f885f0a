"""The C2PA Soft Binding Resolution API over the ledger (issue 13, item 4): find the manifests of registered
pictures by a binding value (``by_binding``) or by an image (``by_content``, the full matcher of ``verify``), and
serve a manifest by its id (``manifest``). Reads only the mirror and the match index, like verify.

Manifest ids: a registered file that carried Content Credentials is named by its active manifest's id
(``urn:c2pa:...``), served as ``application/c2pa`` when its manifest store was kept (JPEG files, and every file
signed here); any registration is also named by the ledger's own manifest, ``urn:provenance-ledger:record:<uid>``,
served as its canonical JSON (whose keccak256 is the on-chain ``manifestHash``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.adapters.store import repository as repo
from ledger.adapters.store.credentials import credentials_of, manifest_store
from ledger.adapters.store.models import RecordRow
from ledger.core.answer import Match
from ledger.core.fingerprint import PDQ_MIN_QUALITY, probe_bytes
from ledger.core.match_index import FULL, MATCH_DISTANCE, TRIMMED
from ledger.core.soft_binding import (
    LEDGER_MANIFEST_PREFIX,
    PDQ,
    PIXEL_SHA256,
    SHA256,
    SoftBindingMatch,
    encode_value,
    ledger_manifest_id,
    parse_value,
    result_count,
    similarity,
    supported,
)
from ledger.core.types import parse_hash32
from ledger.errors import NotFound
from ledger.usecases.context import Context
from ledger.usecases.verify import iso, verify_upload


@dataclass(frozen=True, slots=True)
class ManifestBytes:
    media_type: str
    data: bytes


def _match(session: object, row: RecordRow, kind: str, distance: int | None) -> SoftBindingMatch:
    carried = credentials_of(session, row.content_hash)  # type: ignore[arg-type]
    manifest_id = carried.active_manifest if carried is not None and carried.active_manifest else ledger_manifest_id(row.uid)
    return SoftBindingMatch(manifestId=manifest_id, similarityScore=similarity(kind, distance), recordUid=row.uid,
                            contentHash=row.content_hash, publisher=row.publisher, registeredAt=iso(row.registered_at),
                            retracted=row.revoked_at is not None, match=kind)  # fmt: skip


def by_binding(ctx: Context, alg: str, value: str, max_results: int | None = None) -> list[SoftBindingMatch]:
    """Registrations whose binding of ``alg`` is ``value`` (exact hashes), or near it (PDQ within distance 31)."""
    wanted, limit = parse_value(alg, value), result_count(max_results)
    with ctx.db.read() as session:
        if alg == SHA256:
            found = [(r, "exact", None) for r in repo.records_by_content_hash(session, wanted)]
        elif alg == PIXEL_SHA256:
            found = [(r, "pixels", None) for r in repo.records_by_pixel_hash(session, wanted)]
        else:
            found = []
            hits = ctx.index.index.search_fast(wanted, radius=MATCH_DISTANCE) if ctx.index is not None else []
            seen: set[str] = set()
            for hit in hits:  # nearest first; a registered hash too flat to trust is never matched on alone
                if hit.variant not in (FULL, TRIMMED) or (hit.quality is not None and hit.quality < PDQ_MIN_QUALITY):
                    continue
                if hit.content_hash not in seen:
                    seen.add(hit.content_hash)
                    found += [(r, "pdq", hit.distance) for r in repo.records_by_content_hash(session, hit.content_hash)]
        return [_match(session, row, kind, distance) for row, kind, distance in found[:limit]]


def by_content(ctx: Context, data: bytes, alg: str | None = None, max_results: int | None = None) -> list[SoftBindingMatch]:
    """Registrations an uploaded image matches: with ``alg``, by that binding of the image alone; without, by
    every step of ``verify`` (exact, pixels, perceptual, crops, keypoints). A different photograph of the same
    scene is not a match."""
    limit = result_count(max_results)
    if alg is not None:
        fingerprint = probe_bytes(data, ctx.limits).fingerprint
        value = {SHA256: fingerprint.sha256, PIXEL_SHA256: fingerprint.pixel_sha256, PDQ: fingerprint.pdq}[supported(alg)]
        return by_binding(ctx, alg, encode_value(value), limit)
    answer = verify_upload(ctx, data).answer
    return [_from_answer(m) for m in answer.matches if m.relation != "similar_scene" and m.uid is not None][:limit]


def _from_answer(match: Match) -> SoftBindingMatch:
    carried = match.content_credentials
    uid = match.uid or ""
    manifest_id = carried.active_manifest if carried is not None and carried.active_manifest else ledger_manifest_id(uid)
    return SoftBindingMatch(manifestId=manifest_id, similarityScore=similarity(match.match, match.distance),
                            recordUid=uid, contentHash=None, publisher=match.publisher.address if match.publisher else None,
                            registeredAt=match.registered_at, retracted=match.retracted, match=match.match)  # fmt: skip


def manifest(ctx: Context, manifest_id: str) -> ManifestBytes:
    """A manifest by its id: the C2PA manifest store kept for a registered file, or the ledger's own manifest."""
    with ctx.db.read() as session:
        if manifest_id.startswith(LEDGER_MANIFEST_PREFIX):
            row = repo.record(session, parse_hash32(manifest_id.removeprefix(LEDGER_MANIFEST_PREFIX), "manifestId"))
            body = repo.manifest_body(session, row.manifest_hash) if row is not None else None
            if body is None:
                raise NotFound(f"no registration here is named {manifest_id}")
            return ManifestBytes("application/json", body.encode())
        store = manifest_store(session, manifest_id[:300])
        if store is None:
            raise NotFound(f"no manifest store named {manifest_id} is kept here (only those of registered JPEG files "
                           "and of files signed here)")  # fmt: skip
        return ManifestBytes("application/c2pa", store)
