"""EIP-712 signing and recovery over arbitrary keys, domains and messages, and signed registrations
(``ledger.core.signed``) from arbitrary JSON: a signature binds one chain id, contract, nonce, deadline and content;
a bundle is parsed or refused with the project's own 4xx-type error, nothing else.

The fixed vectors shared with the contract are in tests/core/test_eip712.py and tests/contracts."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.core.eip712 import (
    REGISTRATION_TYPES,
    Domain,
    batch_anchor_digest,
    recover_batch_anchor_signer,
    recover_registration_signer,
    registration_digest,
    registration_message,
    sign_batch_anchor,
    sign_registration,
)
from ledger.core.fingerprint import Fingerprint, Limits
from ledger.core.manifest import build_manifest
from ledger.core.records import Registration
from ledger.core.signed import parse_bundle, sign_bundle
from ledger.errors import InvalidSignature, LedgerError, LedgerValueError, NonceInUse, WrongDomain
from ledger.usecases.context import Context
from ledger.usecases.signed import register_signed
from tests.fuzz.profile import examples

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
hashes = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
# TEST keys only: any scalar of the curve, as a newsroom's wallet could hold.
test_keys = st.integers(1, SECP256K1_N - 1).map(lambda k: "0x" + k.to_bytes(32, "big").hex())
domains = st.builds(Domain, st.integers(1, 2**64 - 1), addresses)
uint256 = st.integers(0, 2**256 - 1)
registrations = st.builds(Registration, hashes, hashes, hashes, hashes, hashes)


@examples(40)
@given(key=test_keys, domain=domains, reg=registrations, nonce=uint256, deadline=uint256, data=st.data())
def test_a_registration_signature_binds_domain_nonce_deadline_and_content(key: str, domain: Domain, reg: Registration,
                                                                           nonce: int, deadline: int, data: st.DataObject) -> None:  # fmt: skip
    publisher = Account.from_key(key).address
    signature = sign_registration(key, domain, reg, nonce, deadline)
    assert recover_registration_signer(domain, reg, publisher, nonce, deadline, signature) == publisher
    # sign_registration encodes the digest itself: the very signature eth-account's EIP-712 encoder gives (RFC 6979).
    reference = Account.sign_typed_data(key, domain.as_dict(), REGISTRATION_TYPES,
                                        registration_message(reg, publisher, nonce, deadline))  # fmt: skip
    assert signature == "0x" + bytes(reference.signature).hex()
    # One thing changed at a time: another chain, contract, nonce, deadline or field is another digest, and the
    # signature recovers some other address (never the publisher's).
    chain = data.draw(st.integers(1, 2**64 - 1).filter(lambda c: c != domain.chain_id), label="other chain")
    contract = data.draw(addresses.filter(lambda a: a != domain.verifying_contract.lower()), label="other contract")
    other_nonce = data.draw(uint256.filter(lambda n: n != nonce), label="other nonce")
    other_deadline = data.draw(uint256.filter(lambda d: d != deadline), label="other deadline")
    field = data.draw(st.sampled_from(["content_hash", "pixel_hash", "pdq_hash", "manifest_hash", "parent"]), label="field")
    changed = replace(reg, **{field: data.draw(hashes.filter(lambda h: h != getattr(reg, field)), label="value")})
    digest = registration_digest(domain, reg, publisher, nonce, deadline)
    for args in ((Domain(chain, domain.verifying_contract), reg, nonce, deadline), (Domain(domain.chain_id, contract), reg, nonce, deadline),
                 (domain, reg, other_nonce, deadline), (domain, reg, nonce, other_deadline), (domain, changed, nonce, deadline)):  # fmt: skip
        d, r, n, t = args
        assert registration_digest(d, r, publisher, n, t) != digest
        assert recover_registration_signer(d, r, publisher, n, t, signature) != publisher


@examples(30)
@given(key=test_keys, domain=domains, root=hashes, count=st.integers(0, 2**32 - 1), uri=st.text(max_size=200),
       content=st.lists(hashes, max_size=4), nonce=uint256, deadline=uint256, other_uri=st.text(max_size=200),
       other_hash=hashes)  # fmt: skip
@example(key="0x" + "01" * 32, domain=Domain(31337, "0x" + "11" * 20), root="0x" + "00" * 32, count=0, uri="",
         content=[], nonce=0, deadline=0, other_uri="\x00", other_hash="0x" + "00" * 32)  # fmt: skip
def test_a_batch_anchor_signature_round_trips_and_binds_its_uri_and_hashes(
        key: str, domain: Domain, root: str, count: int, uri: str, content: list[str], nonce: int, deadline: int,
        other_uri: str, other_hash: str) -> None:  # fmt: skip
    publisher = Account.from_key(key).address
    signature = sign_batch_anchor(key, domain, root, count, uri, content, nonce, deadline)
    assert recover_batch_anchor_signer(domain, root, count, uri, content, publisher, nonce, deadline, signature) == publisher
    digest = batch_anchor_digest(domain, root, count, uri, content, publisher, nonce, deadline)
    if other_uri != uri:
        assert batch_anchor_digest(domain, root, count, other_uri, content, publisher, nonce, deadline) != digest
    assert batch_anchor_digest(domain, root, count, uri, [*content, other_hash], publisher, nonce, deadline) != digest


@examples(30)
@given(count=st.integers(-(2**40), -1) | st.integers(2**32, 2**70), root=st.text(max_size=70))
def test_a_batch_count_or_root_out_of_range_is_refused(count: int, root: str) -> None:
    with pytest.raises(LedgerValueError):
        batch_anchor_digest(Domain(1, "0x" + "11" * 20), root, count, "", [], "0x" + "22" * 20, 0, 0)


# -- signed registrations (``POST /v1/registrations``, ``provenance sign``) --------------------------------------------
NEWSROOM_TEST_KEY = "0x" + "4b" * 32  # a TEST key, named as such
NEWSROOM = Account.from_key(NEWSROOM_TEST_KEY).address
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FP = Fingerprint("0x" + "01" * 32, "0x" + "02" * 32, "0x" + "03" * 32, 100, 640, 480, "JPEG")


def valid_bundle(nonce: int = 3, chain_id: int = 31337, contract: str = CONTRACT) -> dict[str, Any]:
    manifest = build_manifest(NEWSROOM, FP, "Crowd at the square", "Jane Doe", "https://example.org/a", "2026-11-01")
    return sign_bundle(NEWSROOM_TEST_KEY, Domain(chain_id, contract), NEWSROOM, manifest, nonce,
                       int(time.time()) + 86_400).as_json()  # fmt: skip


BUNDLE = valid_bundle()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**300), 2**300) | st.floats() | st.text(max_size=60) | hashes | addresses
    | st.sampled_from(["\ud800", "\x00", "0x", "0X" + "AB" * 32, "2026-11-01T00:00:00+01:00", "0001-01-01T00:00:00+01:00",
                       "9999-12-31T23:59:59-01:00", "https://", 1, 0, -1, 2**256, 2**64]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=8,
)  # fmt: skip
FIELDS = ["version", "publisher", "chain_id", "contract", "nonce", "deadline", "signature", "registration", "manifest"]
MANIFEST_FIELDS = ["version", "publisher", "content_hash", "pixel_hash", "pdq", "pdq_quality", "width", "height",
                   "caption", "credit", "published_url", "taken_at", "parent"]  # fmt: skip


@examples(200)
@given(top=st.sampled_from(FIELDS), inner=st.sampled_from(MANIFEST_FIELDS), in_manifest=st.booleans(), value=json_values,
       through_json=st.booleans())  # fmt: skip
@example(top="manifest", inner="taken_at", in_manifest=True, value="0001-01-01T00:00:00+01:00", through_json=True)
@example(top="manifest", inner="caption", in_manifest=True, value="\ud800", through_json=False)
@example(top="manifest", inner="width", in_manifest=True, value=True, through_json=True)
@example(top="signature", inner="caption", in_manifest=False, value="0x" + "00" * 65, through_json=True)
@example(top="signature", inner="caption", in_manifest=False, value="0x", through_json=True)  # found at FUZZ_SCALE=10
def test_a_mutated_bundle_parses_or_is_refused_with_a_ledger_error(top: str, inner: str, in_manifest: bool, value: Any,
                                                                   through_json: bool) -> None:  # fmt: skip
    bundle = copy.deepcopy(BUNDLE)
    bundle["registration"] = None  # a changed manifest changes the registration: keep the check on the signature
    if in_manifest:
        bundle["manifest"][inner] = value
    else:
        bundle[top] = value
    if through_json:
        try:
            bundle = json.loads(json.dumps(bundle))
        except ValueError:  # NaN and lone surrogates: json.dumps writes them, as a client could
            pass
    try:
        signed = parse_bundle(bundle)
    except LedgerError:
        return
    # Parsed: everything the relay and the chain need is computable, and the signature verifies only if nothing it
    # signed was changed.
    signed.manifest.canonical_bytes()
    assert signed.registration.manifest_hash == signed.manifest.hash()
    if signed.recovered_signer() == NEWSROOM:
        assert signed.as_json()["manifest"] == BUNDLE["manifest"] and signed.nonce == BUNDLE["nonce"]


@examples(100)
@given(document=json_values)
def test_any_json_document_is_a_bundle_or_refused(document: Any) -> None:
    try:
        parse_bundle(document)
    except LedgerError:
        pass


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Context:
    folder = tmp_path_factory.mktemp("signed-fuzz")
    db = Database(f"sqlite:///{folder / 'l.sqlite3'}")
    upgrade(db.engine)
    return Context(db=db, chain_id=31337, contract=CONTRACT, limits=Limits(), chain_nonce=lambda _p: 5)


@examples(25)
@given(chain_id=st.integers(0, 2**64 - 1), contract=addresses, nonce=st.integers(0, 10))
@example(chain_id=1, contract=CONTRACT.lower(), nonce=7)
@example(chain_id=31337, contract="0x" + "11" * 20, nonce=7)
@example(chain_id=31337, contract=CONTRACT, nonce=4)
def test_the_service_refuses_another_chain_contract_or_a_used_nonce(context: Context, chain_id: int, contract: str,
                                                                   nonce: int) -> None:  # fmt: skip
    bundle = valid_bundle(nonce, chain_id, contract)
    wrong_domain = chain_id != 31337 or contract.lower() != CONTRACT.lower()
    if not wrong_domain and nonce >= 5:
        return  # would be accepted and queued; tests/api covers acceptance
    expected = WrongDomain if wrong_domain else NonceInUse
    with pytest.raises(expected):
        register_signed(context, NEWSROOM, bundle)
    # Signed by another key for this publisher: refused as not the publisher's, whatever else is right.
    forged = dict(valid_bundle(7), signature=valid_bundle_signed_by("0x" + "5c" * 32))
    with pytest.raises(InvalidSignature):
        register_signed(context, NEWSROOM, forged)


def valid_bundle_signed_by(other_test_key: str) -> str:
    manifest = build_manifest(NEWSROOM, FP, "Crowd at the square", "Jane Doe", "https://example.org/a", "2026-11-01")
    reg = Registration(manifest.content_hash, manifest.pixel_hash, manifest.pdq, manifest.hash(), manifest.parent)
    return sign_registration(other_test_key, Domain(31337, CONTRACT), reg, 7, int(time.time()) + 86_400)
