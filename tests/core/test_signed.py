"""Signed registrations (custody `publisher`): the document `provenance sign` writes and the API reads."""

from __future__ import annotations

import pytest
from eth_account import Account

from ledger.core.eip712 import Domain, recover_registration_signer
from ledger.core.fingerprint import Fingerprint
from ledger.core.manifest import build_manifest
from ledger.core.signed import parse_bundle, sign_bundle
from ledger.errors import LedgerValueError

TEST_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil account 1 (TEST key)
DOMAIN = Domain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
FP = Fingerprint("0x" + "0a" * 32, "0x" + "0b" * 32, "0x" + "0c" * 32, 90, 640, 480, "JPEG")


def bundle(publisher: str | None = None) -> dict:  # type: ignore[type-arg]
    publisher = publisher or Account.from_key(TEST_KEY).address
    manifest = build_manifest(publisher, FP, "Flooded street", "Staff", "https://example.org/a", "2026-11-28")
    return sign_bundle(TEST_KEY, DOMAIN, publisher, manifest, 7, 2_000_000_000).as_json()


def test_round_trip_and_the_signature_covers_the_manifest() -> None:
    data = bundle()
    signed = parse_bundle(data)
    assert signed.recovered_signer() == Account.from_key(TEST_KEY).address == signed.publisher
    assert signed.registration.manifest_hash == signed.manifest.hash() and signed.registration.pdq_hash == FP.pdq
    assert recover_registration_signer(DOMAIN, signed.registration, signed.publisher, 7, 2_000_000_000,
                                       signed.signature) == signed.publisher  # fmt: skip
    changed = parse_bundle({**data, "manifest": {**data["manifest"], "caption": "Riot"}, "registration": None})
    assert changed.recovered_signer() != signed.publisher  # a changed caption is not what was signed
    later = parse_bundle({**data, "nonce": 8})
    assert later.recovered_signer() != signed.publisher


def test_a_wallet_publisher_is_not_the_signer() -> None:
    wallet = "0x" + "42" * 20
    signed = parse_bundle(bundle(wallet))
    assert signed.publisher.lower() == wallet and signed.recovered_signer() == Account.from_key(TEST_KEY).address


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"publisher": "not an address"},
        {"nonce": -1},
        {"deadline": "soon"},
        {"signature": "xyz"},
        {"manifest": None},
        {"registration": {"content_hash": "0x" + "ff" * 32}},  # does not follow from the manifest
    ],
)
def test_malformed_documents_are_refused(change: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(LedgerValueError):
        parse_bundle({**bundle(), **change})


def test_manifest_publisher_must_be_the_signing_publisher() -> None:
    data = bundle()
    with pytest.raises(LedgerValueError):
        parse_bundle({**data, "manifest": {**data["manifest"], "publisher": "0x" + "42" * 20}, "registration": None})
