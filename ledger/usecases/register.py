"""Accepting a registration: fingerprint, manifest, EIP-712 signature, outbox row; durable before the reply."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ledger.core.eip712 import Domain, sign_registration
from ledger.errors import AlreadyRegistered
from ledger.core.fingerprint import Fingerprint, Probe
from ledger.core.manifest import Manifest
from ledger.core.match_index import VARIANT_SCHEME, IndexedHash, index_variants, pack_variants
from ledger.core.records import Registration, record_uid
from ledger.core.reference import ReferenceCopy, make_reference
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import ManifestRow, MatchFingerprintRow, ReferenceCopyRow, SubmissionRow


@dataclass(frozen=True, slots=True)
class MatchingData:
    """Kept with a registration for matching (issue 4): the hash variants, and the reduced reference copy unless
    the publisher opted out (``reference`` None)."""

    variants: list[IndexedHash]
    reference: ReferenceCopy | None

    @classmethod
    def from_probe(cls, probe: Probe, keep_reference: bool = True) -> MatchingData:
        """Hash variants for the match index (~160 ms: 84 PDQ hashes) and the reference copy unless opted out."""
        fp = probe.fingerprint
        reference = make_reference(probe.image, fp.width, fp.height) if keep_reference else None
        return cls(index_variants(probe.image), reference)


@dataclass(frozen=True, slots=True)
class Accepted:
    content_hash: str
    uid: str
    status: str


def accept(
    db: Database,
    domain: Domain,
    publisher: str,
    key: bytes,
    fingerprint: Fingerprint,
    manifest: Manifest,
    validity_seconds: int,
    matching: MatchingData | None = None,
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
    now = repo.utcnow()
    with db.write() as session:
        if repo.submission(session, uid) is not None or repo.record(session, uid) is not None:
            raise AlreadyRegistered(f"this publisher already registered the image {fingerprint.sha256}")
        nonce = repo.take_nonce(session, publisher)
        session.merge(ManifestRow(manifest_hash=registration.manifest_hash, body=manifest.canonical_bytes().decode()))
        session.add(
            SubmissionRow(
                uid=uid,
                publisher=publisher,
                content_hash=registration.content_hash,
                pixel_hash=registration.pixel_hash,
                pdq_hash=registration.pdq_hash,
                pdq_quality=fingerprint.pdq_quality,
                manifest_hash=registration.manifest_hash,
                parent=registration.parent,
                chain_id=domain.chain_id,
                contract=domain.verifying_contract,
                nonce=nonce,
                deadline=deadline,
                signature=sign_registration(key, domain, registration, nonce, deadline),
                status=repo.PENDING,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )
        if matching is not None:
            _keep_matching_data(session, fingerprint, matching, now)
    return Accepted(fingerprint.sha256, uid, repo.PENDING)


def _keep_matching_data(session, fingerprint: Fingerprint, matching: MatchingData, now) -> None:  # type: ignore[no-untyped-def]
    """Same content registered twice (two publishers): the first rows stay; a reference copy is added if missing."""
    if session.get(MatchFingerprintRow, fingerprint.sha256) is None:
        session.add(
            MatchFingerprintRow(
                content_hash=fingerprint.sha256,
                scheme=VARIANT_SCHEME,
                pdq_quality=fingerprint.pdq_quality,
                width=fingerprint.width,
                height=fingerprint.height,
                variants=pack_variants(matching.variants),
                created_at=now,
            )
        )
    copy = matching.reference
    if copy is not None and session.get(ReferenceCopyRow, fingerprint.sha256) is None:
        session.add(
            ReferenceCopyRow(
                content_hash=fingerprint.sha256,
                media_type=copy.media_type,
                width=copy.width,
                height=copy.height,
                source_width=copy.source_width,
                source_height=copy.source_height,
                data=copy.data,
                created_at=now,
            )
        )
