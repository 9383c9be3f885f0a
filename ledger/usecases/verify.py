"""Verify: what is this image? Exact lookup, pixel lookup, then perceptual matching; reads only the mirror and the
match index, never the chain. ``verify_upload``, ``verify_hash`` and ``compare_offline`` (``provenance compare``:
the same decision with ORIGINAL as the only registered picture) all answer with ``ledger.core.answer.Verification``.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ledger.adapters.c2pa.reader import NO_TRUST, CredentialReader
from ledger.adapters.index_feed import freshness_of
from ledger.adapters.store import heatmaps
from ledger.adapters.store import repository as repo
from ledger.adapters.store.credentials import credentials_of
from ledger.adapters.store.matching_data import registered, upload_query
from ledger.adapters.store.models import RecordRow
from ledger.core.answer import (
    Freshness,
    Link,
    Match,
    Publisher,
    Query,
    Verification,
    chain_label,
    changes_of,
    perceptual_fields,
    query_of,
)
from ledger.core.content_credentials import ContentCredentials, CredentialsRemoved, credentials_removed
from ledger.core.fingerprint import Limits, Probe, probe_bytes, registration_probe, sha256_hex, within_limits
from ledger.core.match_index import MatchIndex
from ledger.core.matcher import LocalSearch, PerceptualMatch, Registered, find_matches
from ledger.core.reference import load_reference
from ledger.core.second_stage import heatmap_png
from ledger.core.types import ZERO_HASH, parse_hash32
from ledger.core.verdict import Decision, MatchKind, RecordFacts, decide_verdict, earliest
from ledger.core.wild.local_features import Features
from ledger.core.wild.shared_index import SharedLocalIndex
from ledger.errors import NotFound
from ledger.usecases.context import Context
from ledger.usecases.register import MatchingData

HEATMAP_LONG_SIDE = 512  # the PNG's long side; the page stretches it over the reader's image
# Heatmaps are fetched by the page seconds after the answer; kept a while for a reader who comes back to it. At most
# HEATMAP_MAX_ROWS in the table (5-20 KB each: 100-200 MB at most), the soonest to expire dropped first.
HEATMAP_TTL_SECONDS = 15 * 60
HEATMAP_MAX_ROWS = 10_000


@dataclass(frozen=True, slots=True)
class Verified:
    """The answer, and for an ``edited`` verdict the change heatmap (a transparent PNG in the reader's frame)."""

    answer: Verification
    heatmap_png: bytes | None = None
    heat: Any = None  # the change map behind the PNG (numpy, NaN where not compared), for callers that measure it
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step (decode, lookup, match, total)


def new_verification_id() -> str:
    return "v_" + secrets.token_urlsafe(12)


def iso(seconds: int | float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def freshness(session: Any, contract: str) -> Freshness:
    return freshness_of(repo.get_checkpoint(session, contract))


def index_freshness(ctx: Context) -> Freshness:
    with ctx.db.read() as session:
        return freshness(session, ctx.contract)


def link_to(session: Any, uid: str) -> Link:
    """Another record, named: its publisher, caption and time (just the uid while it is not yet on chain)."""
    row = repo.record(session, uid)
    if row is None:
        return Link(uid=uid)
    publisher = repo.publisher(session, row.publisher)
    body = repo.manifest_body(session, row.manifest_hash)
    return Link(uid=uid, content_hash=row.content_hash, caption=json.loads(body).get("caption") if body else None,
                publisher=Publisher(address=row.publisher, name=publisher.name if publisher else None,
                                    domain=publisher.domain if publisher else None),
                registered_at=iso(row.registered_at), retracted=row.revoked_at is not None)  # fmt: skip


def lineage(session: Any, row: RecordRow) -> dict[str, Any]:
    retraction = repo.retraction(session, row.uid) if row.revoked_at is not None else None
    return {
        "derived_from": link_to(session, row.parent) if row.parent != ZERO_HASH else None,
        "derived_into": [link_to(session, child.uid) for child in repo.records_derived_from(session, row.uid)],
        "successor": link_to(session, retraction.successor) if retraction and retraction.successor else None,
    }


def describe_record(session: Any, row: RecordRow, kind: MatchKind, chain_id: int, contract: str) -> Match:
    publisher = repo.publisher(session, row.publisher)
    body = repo.manifest_body(session, row.manifest_hash)
    manifest = json.loads(body) if body else {}  # off-chain: without it (another operator's record) hashes remain
    submission = repo.submission(session, row.uid) if row.batch_root is not None else None
    return Match(
        match=kind.value,
        uid=row.uid,
        publisher=Publisher(address=row.publisher, name=publisher.name if publisher else None,
                            domain=publisher.domain if publisher else None),  # fmt: skip
        caption=manifest.get("caption"),
        credit=manifest.get("credit"),
        published_url=manifest.get("published_url"),
        taken_at=manifest.get("taken_at"),
        manifest_hash=row.manifest_hash,
        registered_at=iso(row.registered_at),
        chain_id=chain_id,
        contract=contract,
        tx_hash=row.tx_hash,
        block_number=row.block_number,
        log_index=row.log_index,
        retracted=row.revoked_at is not None,
        retracted_at=iso(int(row.revoked_at)) if row.revoked_at is not None else None,
        retraction_reason=row.revoke_reason if row.revoked_at is not None else None,
        # A Merkle-batched record: the root anchored in tx_hash, and the proof that this image is one of its leaves.
        batch_root=row.batch_root,
        leaf_index=row.leaf_index,
        proof=json.loads(submission.proof) if submission is not None and submission.proof else None,
        content_credentials=credentials_of(session, row.content_hash),
        **lineage(session, row),
    )


def record_facts(rows: list[RecordRow]) -> list[RecordFacts]:
    return [RecordFacts((r.block_number, r.log_index), r.revoked_at is not None) for r in rows]


def _label_earliest(matches: list[Match], rows: list[RecordRow]) -> list[Match]:
    """Mark the earliest registration among ``rows`` (one per match, same order): a fact about time, not ownership."""
    first = earliest(record_facts(rows))
    return [m.model_copy(update={"earliest": i == first}) for i, m in enumerate(matches)]


def _same_picture(session: Any, exact: list[RecordRow], pixel_hash: str) -> tuple[list[RecordRow], list[RecordRow]]:
    """Records of the file and, after them, other publishers' records of the same pixels (another file of the same
    picture): every publisher that registered the picture is shown, none hidden behind another's registration."""
    pixels = repo.records_by_pixel_hash(session, pixel_hash)
    if not exact:
        return [], pixels
    seen = {r.uid for r in exact}
    return exact, [r for r in pixels if r.uid not in seen]


def _record_matches(ctx: Context, session: Any, exact: list[RecordRow], pixels: list[RecordRow]) -> list[Match]:
    described = [describe_record(session, r, MatchKind.EXACT, ctx.chain_id, ctx.contract) for r in exact]
    described += [describe_record(session, r, MatchKind.PIXELS, ctx.chain_id, ctx.contract) for r in pixels]
    return _label_earliest(described, [*exact, *pixels])


def verify_hash(ctx: Context, sha256: str) -> Verification:
    """The verdict for a bare SHA-256 of a file (exact lookup; other files of the same pixels are shown beside)."""
    content_hash = parse_hash32(sha256, "sha256")
    with ctx.db.read() as session:
        decision, matches = hash_decision(ctx, session, content_hash)
        return Verification(verification_id=new_verification_id(), verdict=decision.verdict.value,
                            relation=decision.relation.value, query={"sha256": content_hash},
                            matches=matches, changes=None,
                            **freshness(session, ctx.contract).model_dump(), **chain_label(ctx.development_chain))  # fmt: skip


def hash_decision(ctx: Context, session: Any, content_hash: str) -> tuple[Decision, list[Match]]:
    """The verdict and records for a file's SHA-256 (also what the hot hash index keeps, ``hash_answers``)."""
    exact = repo.records_by_content_hash(session, content_hash)
    exact, pixels = _same_picture(session, exact, exact[0].pixel_hash) if exact else ([], [])
    decision = decide_verdict(MatchKind.EXACT if exact else None, record_facts([*exact, *pixels]))
    return decision, _record_matches(ctx, session, exact, pixels)


def verify_upload(ctx: Context, data: bytes) -> Verified:
    """Exact, then pixel, then perceptual lookup of a reader's image; the upload is hashed, never stored. A file
    whose exact bytes were registered here and are mirrored is not decoded (``verify_registered``); any other is
    (``verify_decoded``). The API calls the two itself, only the second in a decoding slot."""
    return verify_registered(ctx, data) or verify_decoded(ctx, data)


def verify_registered(ctx: Context, data: bytes, content_hash: str | None = None) -> Verified | None:
    """The answer for exactly these bytes, registered here and mirrored, without decoding: the ``query`` is what
    registration measured of them (``registered_query``) and the answer the one decoding would give. No pixels are
    held, so the API gives it without a decoding slot. None when the picture must be decoded: not registered here
    (or kept before revision 0012, or over verify's limits), or registered but not mirrored (yet, or no longer after
    a reorg): with nothing exact to show, the perceptual matcher needs the pixels. ``content_hash``: the SHA-256 of
    ``data`` when the caller has it already."""
    started = time.perf_counter()
    query = registered_query(ctx, data, content_hash)
    return None if query is None else _verify(ctx, data, query, None, started)


def verify_decoded(ctx: Context, data: bytes) -> Verified:
    """The answer from the decoded picture (within ``ctx.limits``: refused past them)."""
    started = time.perf_counter()
    probe = probe_bytes(data, ctx.limits)
    verified = _verify(ctx, data, query_of(probe), probe, started)
    assert verified is not None  # _verify gives None only without a probe
    return verified


def _verify(ctx: Context, data: bytes, query: Query, probe: Probe | None, started: float) -> Verified | None:
    """The answer for ``query``; None if it has no exact or pixel match and no ``probe`` to match perceptually."""
    decoded = time.perf_counter()
    timings = {"decode": decoded - started}  # decode and hashes; for a registered file its SHA-256 and one lookup
    credentials = ctx.credentials.read(data, query.format)
    timings["c2pa"] = time.perf_counter() - decoded
    decoded = time.perf_counter()
    index_state = ctx.index.state() if ctx.index is not None else None
    answer: dict[str, Any] = {"verification_id": new_verification_id(), "query": query,
                              "match_index": index_state, "changes": None, "matches": [],
                              "content_credentials": credentials, **chain_label(ctx.development_chain)}  # fmt: skip
    heat = None
    with ctx.db.read() as session:
        answer.update(freshness(session, ctx.contract).model_dump())
        exact, pixels = _same_picture(session, repo.records_by_content_hash(session, query.sha256),
                                      query.pixel_sha256)  # fmt: skip
        timings["lookup"] = time.perf_counter() - decoded
        if exact or pixels:
            kind = MatchKind.EXACT if exact else MatchKind.PIXELS
            decision = decide_verdict(kind, record_facts([*exact, *pixels]))
            answer["matches"] = _record_matches(ctx, session, exact, pixels)
        else:
            if probe is None:  # kept at registration but not mirrored: verify_decoded answers it
                return None
            found: list[tuple[PerceptualMatch, list[RecordRow]]] = []
            if ctx.index is not None:
                lookups = lambda content: registered(session, content)  # noqa: E731
                for match in find_matches(probe, ctx.index.index, lookups, local=ctx.index.local_search()):
                    records = repo.records_by_content_hash(session, match.content_hash)
                    if records:  # a reorg may have removed what the index still holds
                        found.append((match, records))
            timings["match"] = time.perf_counter() - decoded - timings["lookup"]
            if not found:
                decision = decide_verdict(None)
            else:
                primary = found[0][0]
                shown = [row for _, records in found for row in records]
                # A different photograph of the same scene is shown but is not the picture: it neither keeps a
                # retracted copy's verdict alive nor is retracted itself.
                same = [row for match, records in found for row in records if not match.similar_scene]
                decision = decide_verdict(primary.kind, record_facts(same), primary.edited, primary.similar_scene)
                described = [
                    describe_record(session, row, match.kind, ctx.chain_id, ctx.contract).model_copy(
                        update=perceptual_fields(match))
                    for match, records in found for row in records
                ]  # fmt: skip
                answer["matches"] = _label_earliest(described, shown)
                answer["changes"] = changes_of(primary)
                heat = primary.heat
    answer["credentials_removed"] = removed_from_copy(credentials, answer["matches"])
    verification = Verification(verdict=decision.verdict.value, relation=decision.relation.value, **answer)
    png = _heatmap(heat, query.width, query.height)
    timings["total"] = time.perf_counter() - started
    return Verified(verification, png, heat, timings)


def registered_query(ctx: Context, data: bytes, content_hash: str | None = None) -> Query | None:
    """The ``query`` registration kept for exactly these bytes (their SHA-256, ~0.5 ms for a 1 MP JPEG, against
    ~22 ms to decode and hash the picture), or None: not registered here, kept before revision 0012, or a file
    decoding would refuse under verify's limits (it is then decoded, and refused as before)."""
    content_hash = content_hash or sha256_hex(data)
    with ctx.db.read() as session:
        query = upload_query(session, content_hash)
    if query is None or not (query.pixel_sha256 and query.width and query.height and query.format):
        return None
    return query if within_limits(ctx.limits, len(data), query.width, query.height, query.format) else None


def removed_from_copy(credentials: ContentCredentials | None, matches: list[Match]) -> CredentialsRemoved | None:
    """Step 3 of issue 13: the copy lacks (or breaks) the credentials the earliest matched original carried. A
    different photograph of the same scene is no original of this copy."""
    carriers = [m for m in matches if m.content_credentials is not None and m.relation != "similar_scene"]
    if not carriers:
        return None
    first = next((m for m in carriers if m.earliest), carriers[0])
    return credentials_removed(credentials, first.content_credentials, first.uid, first.registered_at)


def keep_heatmap(ctx: Context, verification_id: str, png: bytes) -> None:
    """Keep an `edited` answer's heatmap where every API process and host finds it (the database)."""
    heatmaps.keep_heatmap(ctx.db, verification_id, png, HEATMAP_TTL_SECONDS, HEATMAP_MAX_ROWS)


def find_heatmap(ctx: Context, verification_id: str) -> bytes:
    png = heatmaps.find_heatmap(ctx.db, verification_id)
    if png is None:
        raise NotFound("no change heatmap for this verification: the verdict was not `edited`, or it expired")
    return png


def _heatmap(heat: Any, width: int, height: int) -> bytes | None:
    if heat is None:
        return None
    scale = HEATMAP_LONG_SIDE / max(width, height)
    return heatmap_png(heat, (max(1, round(width * scale)), max(1, round(height * scale))))


class InMemoryRegistry:
    """Registered pictures held in memory, matched by the same steps as the service: what ``provenance compare``
    and the matching benchmark use (no chain, no database). Registration keeps what the service keeps."""

    def __init__(self, limits: Limits = Limits(), credentials: CredentialReader = NO_TRUST) -> None:
        self.limits = limits
        self.credentials = credentials
        self.carried: dict[str, ContentCredentials] = {}  # content hash -> the manifest the registered file carried
        self.index = MatchIndex()
        self.local = SharedLocalIndex()
        self.facts: dict[str, Registered] = {}
        self.fingerprints: dict[str, Query] = {}
        self.by_pixels: dict[str, str] = {}

    def register(self, data: bytes, keep_reference: bool = True) -> str:
        probe = registration_probe(data, self.limits)
        fp = probe.fingerprint
        matching = MatchingData.from_probe(probe, keep_reference)
        self.index.add(fp.sha256, fp.pdq, fp.pdq_quality, matching.variants)
        reference = features = None
        if matching.reference is not None and matching.features is not None:
            reference = load_reference(fp.sha256, matching.reference.data, fp.width, fp.height)
            features = Features.from_bytes(matching.features)
            self.local.add(fp.sha256, features)
        self.facts[fp.sha256] = Registered(reference, (fp.width, fp.height), features)
        self.fingerprints[fp.sha256] = Query(**fp.as_dict())
        self.by_pixels.setdefault(fp.pixel_sha256, fp.sha256)
        carried = self.credentials.read(data, fp.format)
        if carried is not None:
            self.carried[fp.sha256] = carried
        return fp.sha256

    def verify(self, data: bytes) -> tuple[Verified, str | None]:
        """The answer for ``data`` and the content hash of the registered picture it names (None: none)."""
        probe = probe_bytes(data, self.limits)
        fp = probe.fingerprint
        kind: MatchKind | None = None
        named: str | None = None
        matches: list[Match] = []
        changes = heat = None
        edited = similar_scene = False
        if fp.sha256 in self.facts:
            kind, named = MatchKind.EXACT, fp.sha256
        elif fp.pixel_sha256 in self.by_pixels:
            kind, named = MatchKind.PIXELS, self.by_pixels[fp.pixel_sha256]
        else:
            found = find_matches(probe, self.index, self.facts.__getitem__, local=LocalSearch(self.local, self.local.content_of))  # type: ignore[arg-type]
            if found:
                best = found[0]
                kind, named, edited, similar_scene = best.kind, best.content_hash, best.edited, best.similar_scene
                matches = [Match(match=kind.value, registered=self.fingerprints[best.content_hash], **perceptual_fields(best))]
                changes = changes_of(best)
                heat = best.heat
        if kind is not None and not matches:
            matches = [Match(match=kind.value, registered=self.fingerprints[named])]  # type: ignore[index]
        carried = self.carried.get(named) if named is not None and not similar_scene else None
        matches = [m.model_copy(update={"content_credentials": carried}) for m in matches]
        credentials = self.credentials.read(data, fp.format)
        decision = decide_verdict(kind, [RecordFacts((0, 0), False)], edited, similar_scene)
        answer = Verification(verdict=decision.verdict.value, relation=decision.relation.value, query=query_of(probe),
                              matches=matches, changes=changes, content_credentials=credentials,
                              credentials_removed=credentials_removed(credentials, carried, None, None))  # fmt: skip
        return Verified(answer, _heatmap(heat, fp.width, fp.height), heat), named


def compare_offline(original: bytes, copy: bytes, keep_reference: bool = True, limits: Limits = Limits()) -> Verified:
    """The verdict the API would give for ``copy`` if ``original`` were registered (and mirrored) alone: no chain,
    no database."""
    registry = InMemoryRegistry(limits)
    registry.register(original, keep_reference)
    return registry.verify(copy)[0]
