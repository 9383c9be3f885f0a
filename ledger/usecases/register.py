"""Register: a publisher's image becomes a signed registration in the outbox, durable before the reply.

``register`` is the whole path in three steps: ``check_known`` reads the parent from the database,
``decode_registration`` decodes and hashes the file (matching data, Content Credentials, manifest) and touches no
database, ``queue_registration`` takes the key, signs and writes the outbox row. The API runs only the middle step
in a decoding slot (``api.registering``), so a write that waits on a locked database holds no slot. ``accept`` is
the last step, for callers that already hold a fingerprint."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from ledger.adapters.c2pa.writer import SignedFile, media_type_of, sign_published
from ledger.adapters.store import outbox
from ledger.adapters.store import repository as repo
from ledger.adapters.store.credentials import keep_credentials, keep_published_file
from ledger.adapters.store.db import Database
from ledger.adapters.store.matching_data import keep_matching_data
from ledger.adapters.store.outbox import OutboxStatus
from ledger.core.answer import Query, query_of
from ledger.core.content_credentials import ContentCredentials, registration_assertion
from ledger.core.eip712 import Domain, sign_registration
from ledger.core.fingerprint import Fingerprint, Probe, registration_probe
from ledger.core.jumbf import jpeg_manifest_store
from ledger.core.manifest import Manifest, build_manifest
from ledger.core.match_index import TRIMMED, IndexedHash, pack_variants
from ledger.core.records import Registration, record_uid
from ledger.core.reference import ReferenceCopy, make_reference
from ledger.core.types import ZERO_HASH, parse_hash32
from ledger.core.wild.local_features import extract_register as register_features
from ledger.errors import AlreadyRegistered, C2paSigningFailed, NoC2paSigner, UnknownRecord
from ledger.usecases.context import Context


@dataclass(frozen=True, slots=True)
class MatchingData:
    """Kept with a registration for matching (issue 4): the hash variants, and the reduced reference copy unless
    the publisher opted out (``reference`` None)."""

    variants: list[IndexedHash]
    reference: ReferenceCopy | None
    features: bytes | None = None  # local features for the wild path, kept with the reference copy
    # The file as verify by upload describes it: an upload of exactly these bytes is answered from it, undecoded.
    query: Query | None = None

    @classmethod
    def from_probe(cls, probe: Probe, keep_reference: bool = True) -> MatchingData:
        """Hash variants for the match index, and the reference copy and local features unless opted out (without
        the reference copy the wild path cannot tell a copy from another photograph of the scene, so its features
        would be of no use)."""
        fp = probe.fingerprint
        variants = _probe_variants(probe)
        query = query_of(probe)
        if not keep_reference:
            return cls(variants, None, query=query)
        reference = make_reference(probe.image, fp.width, fp.height)
        features = register_features(probe.image).to_bytes()
        return cls(variants, reference, features, query)


def _probe_variants(probe: Probe) -> list[IndexedHash]:
    """``index_variants(probe.image)``, which the probe has already computed (its trim and trimmed hash come from
    the same hash image): ~5 ms less a registration."""
    if probe.trim is None or probe.trimmed_pdq is None or probe.trimmed_quality is None:
        return []
    return [IndexedHash(TRIMMED, probe.trimmed_pdq, probe.trimmed_quality)]


@dataclass(frozen=True, slots=True)
class Accepted:
    content_hash: str
    uid: str
    status: str
    note: str | None = None
    signed_file: bool = False  # the file was signed with Content Credentials here and is kept for the publisher
    content_credentials: ContentCredentials | None = None  # the manifest the registered file carries


HASHES_ONLY_NOTE = ("Registered without a reference copy: readers' copies are found only when the whole picture is "
                    "kept (re-encoded, resized, turned, flipped or bordered); crops, small rotations, screenshots "
                    "of posts and edited copies cannot be found, and changes cannot be shown.")  # fmt: skip


@dataclass(frozen=True, slots=True)
class RegistrationRequest:
    """What a publisher sends besides the file: what the picture shows and who made it."""

    caption: str
    credit: str
    published_url: str | None = None
    taken_at: str | None = None
    keep_reference: bool = True  # keep a 512 px copy so readers can be shown what changed in edited copies
    parent: str | None = None  # the uid of the original this image is derived from (a crop, an edit)
    c2pa: bool = False  # sign the file with Content Credentials here, register the signed file, keep it to fetch
    file_name: str | None = None  # the manifest's title when signing


def check_known(db: Database, uid: str | None, what: str) -> str:
    """A parent or successor uid: on chain or queued here, else ``unknown_record`` (the contract would refuse an
    unknown parent)."""
    if uid is None or not uid.strip() or parse_hash32(uid, what) == ZERO_HASH:
        return ZERO_HASH
    value = parse_hash32(uid, what)
    with db.read() as session:
        if not repo.known_uid(session, value):
            raise UnknownRecord(f"{what} {value} is no registration on chain or queued here (give the record's uid)")
    return value


@dataclass(frozen=True, slots=True)
class Decoded:
    """What decoding a registration's file gave, all its write needs. No decoded pixels (the reference copy is a
    512 px encoded file): once the decoding slot is released, a registration waiting for the database holds about
    its upload's size."""

    fingerprint: Fingerprint
    manifest: Manifest
    matching: MatchingData
    keep_reference: bool
    credentials: ContentCredentials | None = None  # the manifest the registered file carries
    published: tuple[str, bytes] | None = None  # (media type, file) signed here with Content Credentials
    store: bytes | None = None  # the file's C2PA manifest store, kept with the credentials


def register(ctx: Context, publisher: str, data: bytes, request: RegistrationRequest) -> Accepted:
    """Fingerprint the file, keep its matching data, build and sign the manifest's registration, queue it."""
    parent = check_known(ctx.db, request.parent, "parent")
    return queue_registration(ctx, publisher, decode_registration(ctx, publisher, data, request, parent))


def decode_registration(ctx: Context, publisher: str, data: bytes, request: RegistrationRequest,
                        parent: str) -> Decoded:  # fmt: skip
    """The decoding and hashing of a registration (C2PA signing included), no database: ``parent`` is what
    ``check_known`` returned for the request's parent."""
    probe = registration_probe(data, ctx.limits)
    published: tuple[str, bytes] | None = None
    store: bytes | None = None
    if request.c2pa:
        signed_file = sign_for_publication(ctx, publisher, data, probe, request.file_name)
        data, store = signed_file.data, signed_file.manifest_store
        signed = registration_probe(data, ctx.limits)
        if signed.fingerprint.pixel_sha256 != probe.fingerprint.pixel_sha256:  # embedding must not touch pixels
            raise C2paSigningFailed("signing changed the picture's pixels; the file was not registered")
        probe, published = signed, (media_type_of(signed.fingerprint.format), data)
    credentials = ctx.credentials.read(data, probe.fingerprint.format)
    if credentials is not None and store is None:
        store = jpeg_manifest_store(data)
    matching = MatchingData.from_probe(probe, request.keep_reference)
    manifest = build_manifest(publisher, probe.fingerprint, request.caption, request.credit, request.published_url,
                              request.taken_at, parent)  # fmt: skip
    return Decoded(probe.fingerprint, manifest, matching, request.keep_reference, credentials, published, store)


def queue_registration(ctx: Context, publisher: str, decoded: Decoded) -> Accepted:
    """The publisher's key, the signature and the outbox row (one write transaction)."""
    assert ctx.keys is not None, "registering needs the publishers' keys"
    d = decoded
    accepted = accept(ctx.db, ctx.domain, publisher, ctx.keys(publisher), d.fingerprint, d.manifest,
                      ctx.signature_validity_seconds, d.matching, d.credentials, d.published, d.store)  # fmt: skip
    accepted = replace(accepted, signed_file=d.published is not None, content_credentials=d.credentials)
    return accepted if d.keep_reference else replace(accepted, note=HASHES_ONLY_NOTE)


def sign_for_publication(ctx: Context, publisher: str, data: bytes, probe: Probe, file_name: str | None) -> SignedFile:
    """The upload with a C2PA manifest signed by the publisher's certificate, carrying the ledger's assertion: the
    file the newsroom publishes and the ledger registers."""
    if ctx.c2pa_signers is None:
        raise NoC2paSigner("this service signs no Content Credentials (no C2PA signers are configured)")
    signer = ctx.c2pa_signers(publisher)
    assertion = registration_assertion(ctx.chain_id, ctx.contract, publisher, probe.fingerprint.pixel_sha256,
                                       ctx.ledger_url)  # fmt: skip
    return sign_published(data, probe.fingerprint.format, file_name or "image", signer, assertion)


def accept(
    db: Database,
    domain: Domain,
    publisher: str,
    key: bytes,
    fingerprint: Fingerprint,
    manifest: Manifest,
    validity_seconds: int,
    matching: MatchingData | None = None,
    credentials: ContentCredentials | None = None,
    published: tuple[str, bytes] | None = None,
    manifest_store: bytes | None = None,
) -> Accepted:
    uid = record_uid(publisher, fingerprint.sha256)
    registration = Registration(
        content_hash=fingerprint.sha256,
        pixel_hash=fingerprint.pixel_sha256,
        pdq_hash=fingerprint.pdq,
        manifest_hash=manifest.hash(),
        parent=manifest.parent,
    )
    deadline = int(time.time()) + validity_seconds
    # The outbox and matching rows are written by single Core statements as they come, not through the ORM's unit
    # of work (ledger.adapters.store.inserts: ~4 ms less CPU a registration).
    with db.write() as session:
        if repo.known_uid(session, uid):
            raise AlreadyRegistered(f"this publisher already registered the image {fingerprint.sha256}")
        nonce = repo.take_nonce(session, publisher)
        signature = sign_registration(key, domain, registration, nonce, deadline)
        outbox.add_registration(session, uid, publisher, registration, fingerprint.pdq_quality, domain.chain_id,
                                domain.verifying_contract, nonce, deadline, signature, manifest.canonical_bytes())  # fmt: skip
        if matching is not None:
            keep_matching_data(session, fingerprint, pack_variants(matching.variants), matching.reference,
                               matching.features, matching.query)  # fmt: skip
        if credentials is not None:
            keep_credentials(session, fingerprint.sha256, credentials, manifest_store)
        if published is not None:
            keep_published_file(session, fingerprint.sha256, publisher, *published)
    return Accepted(fingerprint.sha256, uid, OutboxStatus.PENDING)
