"""The rows a registration writes (``ledger.usecases.register.accept``, Core statements through
``ledger.adapters.store.inserts``), on SQLite and on a real PostgreSQL server: nonces taken in order per publisher and
not taken by a refused registration; the same file registered by a second publisher keeps the first one's matching
rows and adds only what they lack (a reference copy, the upload's answer)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime

import numpy as np
import pytest
from eth_account import Account
from PIL import Image
from sqlalchemy import func, select

from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import (
    LocalFeatureRow,
    ManifestRow,
    MatchFingerprintRow,
    PublisherAccountRow,
    ReferenceCopyRow,
    SubmissionRow,
)
from ledger.core.eip712 import Domain, recover_registration_signer
from ledger.core.fingerprint import registration_probe
from ledger.core.manifest import build_manifest
from ledger.core.records import Registration
from ledger.core.types import ZERO_HASH
from ledger.errors import AlreadyRegistered
from ledger.usecases.register import MatchingData, accept

DOMAIN = Domain(31337, "0x" + "11" * 20)


def _photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8).repeat(4, axis=0).repeat(4, axis=1)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def db(database_url: str) -> Database:
    database = Database(database_url)
    upgrade(database.engine)
    return database


def _publisher(db: Database) -> tuple[str, bytes]:
    key = os.urandom(32)  # a TEST key, made for this test
    address = Account.from_key(key).address
    with db.write() as session:
        session.add(PublisherAccountRow(address=address, name=address[:10], domain="example.org", keystore_file=None,
                                        next_nonce=0, created_at=datetime.now(UTC)))  # fmt: skip
    return address, key


def _register(db: Database, publisher: str, key: bytes, data: bytes, keep_reference: bool = True) -> str:
    probe = registration_probe(data)
    manifest = build_manifest(publisher, probe.fingerprint, "A caption", "A credit", None, None, ZERO_HASH)
    accepted = accept(db, DOMAIN, publisher, key, probe.fingerprint, manifest, 3600,
                      MatchingData.from_probe(probe, keep_reference))  # fmt: skip
    return accepted.uid


def _count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_nonces_are_taken_in_order_per_publisher_and_a_refused_registration_takes_none(db: Database) -> None:
    first, first_key = _publisher(db)
    second, second_key = _publisher(db)
    photos = [_photo(seed) for seed in range(3)]
    for data in photos:
        _register(db, first, first_key, data)
    _register(db, second, second_key, photos[0])
    with pytest.raises(AlreadyRegistered):
        _register(db, first, first_key, photos[1])
    _register(db, first, first_key, _photo(9))

    with db.read() as session:
        rows = session.scalars(select(SubmissionRow).order_by(SubmissionRow.created_at)).all()
        accounts = {a.address: a.next_nonce for a in session.scalars(select(PublisherAccountRow))}
        assert [(r.publisher, r.nonce) for r in rows] == [(first, 0), (first, 1), (first, 2), (second, 0), (first, 3)]
        assert accounts == {first: 4, second: 1}
        for row in rows:  # each outbox row carries its publisher's signature over its nonce, and its manifest
            registration = Registration(row.content_hash, row.pixel_hash, row.pdq_hash, row.manifest_hash, row.parent)
            signer = recover_registration_signer(DOMAIN, registration, row.publisher, row.nonce, row.deadline,
                                                 row.signature)  # fmt: skip
            assert signer == row.publisher
            assert session.get(ManifestRow, row.manifest_hash) is not None


def test_a_second_publisher_of_the_same_file_keeps_the_first_rows_and_adds_what_they_lack(db: Database) -> None:
    first, first_key = _publisher(db)
    second, second_key = _publisher(db)
    data = _photo(1)
    _register(db, first, first_key, data, keep_reference=False)  # hashes only: no reference copy, no features
    with db.write() as session:  # as a row kept before revision 0012: no upload answer
        row = session.get(MatchFingerprintRow, registration_probe(data).fingerprint.sha256)
        assert row is not None
        row.upload_query, row.variants = None, b"kept first"
    assert (_count(db, ReferenceCopyRow), _count(db, LocalFeatureRow)) == (0, 0)

    _register(db, second, second_key, data)

    assert _count(db, SubmissionRow) == 2
    assert (_count(db, MatchFingerprintRow), _count(db, ReferenceCopyRow), _count(db, LocalFeatureRow)) == (1, 1, 1)
    with db.read() as session:
        row = session.get(MatchFingerprintRow, registration_probe(data).fingerprint.sha256)
        assert row is not None
        assert row.variants == b"kept first"  # the first publisher's row is not replaced
        assert row.upload_query is not None  # but the upload's answer it lacked is added

    third, third_key = _publisher(db)
    with db.write() as session:
        session.get(ReferenceCopyRow, registration_probe(data).fingerprint.sha256).data = b"kept"  # type: ignore[union-attr]
    _register(db, third, third_key, data)
    with db.read() as session:
        copy = session.get(ReferenceCopyRow, registration_probe(data).fingerprint.sha256)
        assert copy is not None and copy.data == b"kept"
    assert (_count(db, SubmissionRow), _count(db, ReferenceCopyRow), _count(db, ManifestRow)) == (3, 1, 3)
