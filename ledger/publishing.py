"""Accepting a registration: fingerprint, manifest, EIP-712 signature, outbox row; durable before the reply."""

from __future__ import annotations

import time
from dataclasses import dataclass

from ledger.eip712 import Domain, sign_registration
from ledger.errors import AlreadyRegistered
from ledger.fingerprint import Fingerprint
from ledger.manifest import Manifest
from ledger.records import Registration, record_uid
from ledger.store import repository as repo
from ledger.store.db import Database
from ledger.store.models import ManifestRow, SubmissionRow


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
    return Accepted(fingerprint.sha256, uid, repo.PENDING)
