"""Registrations signed by the newsroom's own key (custody ``publisher``): checked, queued, relayed as they are.

The service never holds the key. It checks what it can before the 202: the document's shape, that the publisher is
the caller, the chain id and contract, the deadline, the signature (an EOA's by recovery; a contract wallet's by
its ERC-1271 ``isValidSignature`` on chain, through ``Context.contract_signature``), that no other queued
registration of the publisher uses the nonce, that the nonce is not below the contract's ``nonces(publisher)``
(``Context.chain_nonce``: such a signature can never go on chain), and, when the file is sent, that it is the file the manifest
describes. A nonce can still be used elsewhere between the check and the relay: the anchorer relays the publisher's
registrations in nonce order and marks one whose nonce was used meanwhile ``refused`` with the reason, never sending
it.

Without the file only the on-chain hashes are kept: readers find the exact file, the same pixels and whole-picture
copies within PDQ distance 31; crops, screenshots and edits need the reference copy, which is made from the file.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from ledger.adapters.store import outbox
from ledger.adapters.store import repository as repo
from ledger.adapters.store.credentials import keep_credentials
from ledger.adapters.store.matching_data import keep_matching_data
from ledger.adapters.store.outbox import OutboxStatus
from ledger.core.content_credentials import ContentCredentials
from ledger.core.eip712 import registration_digest
from ledger.core.fingerprint import Fingerprint, registration_probe
from ledger.core.jumbf import jpeg_manifest_store
from ledger.core.match_index import pack_variants
from ledger.core.records import record_uid
from ledger.core.signed import SignedRegistration, SignedRetraction, parse_bundle
from ledger.errors import (
    AlreadyRegistered,
    FileMismatch,
    InvalidSignature,
    NonceInUse,
    SignatureExpired,
    WrongDomain,
)
from ledger.usecases.context import Context
from ledger.usecases.register import HASHES_ONLY_NOTE, Accepted, MatchingData, check_known

DEADLINE_MARGIN_SECONDS = 60  # a signature that expires within a minute could not be relayed in time
NO_FILE_NOTE = "Registered from its fingerprints only (no file was sent). " + HASHES_ONLY_NOTE


def check_signature(ctx: Context, signed: SignedRegistration) -> None:
    if signed.recovered_signer() == signed.publisher:
        return
    if ctx.contract_signature is not None:  # maybe a contract wallet: ask it (ERC-1271)
        digest = registration_digest(signed.domain, signed.registration, signed.publisher, signed.nonce,
                                     signed.deadline)  # fmt: skip
        if ctx.contract_signature(signed.publisher, digest, signed.signature):
            return
    raise InvalidSignature("the signature is not the publisher's (neither its key's nor, for a contract wallet, "
                           "accepted by its isValidSignature)")  # fmt: skip


def check_envelope(ctx: Context, signed: SignedRegistration | SignedRetraction, publisher: str) -> None:
    """What every signed request must match before its signature is looked at: the caller's key, this service's
    chain and contract, and a deadline the relayer can still meet."""
    if signed.publisher != publisher:
        raise InvalidSignature(f"signed for {signed.publisher}, but the API key is {publisher}'s")
    if signed.chain_id != ctx.chain_id or signed.contract.lower() != ctx.contract.lower():
        raise WrongDomain(f"signed for chain {signed.chain_id} and contract {signed.contract}; this service anchors "
                          f"on chain {ctx.chain_id}, contract {ctx.contract} (see GET /v1/chain)")  # fmt: skip
    if signed.deadline <= time.time() + DEADLINE_MARGIN_SECONDS:
        raise SignatureExpired(f"the signature's deadline {signed.deadline} has passed or is too near: sign again")


def check_nonce_unused(ctx: Context, signed: SignedRegistration | SignedRetraction, what: str = "registration") -> None:
    """A nonce below the contract's ``nonces(publisher)`` was used on chain: the signature can never be relayed."""
    if ctx.chain_nonce is None:
        return
    current = ctx.chain_nonce(signed.publisher)
    if signed.nonce < current:
        raise NonceInUse(f"nonce {signed.nonce} was already used on chain (the contract's next nonce for "
                         f"{signed.publisher} is {current}): sign this {what} again with nonce {current} or "
                         "a later one")  # fmt: skip


def register_signed(ctx: Context, publisher: str, document: Any, data: bytes | None = None,
                    keep_reference: bool = True) -> Accepted:  # fmt: skip
    """Check the signed registration, decode the file when sent, queue it: the three steps the API runs apart
    (only the decoding in a decoding slot, ``api.registering``)."""
    signed = check_signed(ctx, publisher, document)
    decoded = decode_signed(ctx, signed, data, keep_reference) if data is not None else None
    return queue_signed(ctx, signed, decoded)


def check_signed(ctx: Context, publisher: str, document: Any) -> SignedRegistration:
    """Everything that can be checked before the file is decoded: the document's shape, the caller, the domain,
    the deadline, the signature and the nonce (the chain may be asked), the parent (the database is read)."""
    signed = parse_bundle(document)
    check_envelope(ctx, signed, publisher)
    check_signature(ctx, signed)
    check_nonce_unused(ctx, signed)
    check_known(ctx.db, signed.manifest.parent, "parent")
    return signed


@dataclass(frozen=True, slots=True)
class DecodedFile:
    """What the sent file gave (no decoded pixels, as ``register.Decoded``)."""

    matching: MatchingData
    credentials: ContentCredentials | None  # a newsroom that signs C2PA itself: kept for step 3
    store: bytes | None
    keep_reference: bool


def decode_signed(ctx: Context, signed: SignedRegistration, data: bytes, keep_reference: bool) -> DecodedFile:
    """Decode and hash the sent file (no database): it must be the file the signed manifest describes."""
    probe = registration_probe(data, ctx.limits)
    fp, m = probe.fingerprint, signed.manifest
    if (fp.sha256, fp.pixel_sha256, fp.pdq) != (m.content_hash, m.pixel_hash, m.pdq):
        raise FileMismatch("the file is not the one the signed manifest describes (its hashes differ)")
    matching = MatchingData.from_probe(probe, keep_reference)
    credentials = ctx.credentials.read(data, fp.format)
    store = jpeg_manifest_store(data) if credentials is not None else None
    return DecodedFile(matching, credentials, store, keep_reference)


def queue_signed(ctx: Context, signed: SignedRegistration, decoded: DecodedFile | None) -> Accepted:
    """The outbox row (one write transaction); ``decoded`` None: no file was sent, only the hashes are kept."""
    if decoded is None:
        return replace(_queue(ctx, signed, None), note=NO_FILE_NOTE)
    accepted = _queue(ctx, signed, decoded.matching, decoded.credentials, decoded.store)
    return replace(accepted, note=None if decoded.keep_reference else HASHES_ONLY_NOTE,
                   content_credentials=decoded.credentials)  # fmt: skip


def _queue(ctx: Context, signed: SignedRegistration, matching: MatchingData | None,
           credentials: ContentCredentials | None = None, store: bytes | None = None) -> Accepted:  # fmt: skip
    m, registration = signed.manifest, signed.registration
    uid = record_uid(signed.publisher, m.content_hash)
    with ctx.db.write() as session:
        existing = repo.submission(session, uid)
        if repo.record(session, uid) is not None or (existing is not None and existing.status != OutboxStatus.REFUSED):
            raise AlreadyRegistered(f"this publisher already registered the image {m.content_hash}")
        if repo.open_signature_with_nonce(session, signed.publisher, signed.nonce) is not None:
            raise NonceInUse(f"another queued registration or retraction of this publisher carries nonce {signed.nonce}")
        if existing is not None:  # signed again after a refusal: the new signature replaces the refused one
            session.delete(existing)
            session.flush()
        outbox.add_registration(session, uid, signed.publisher, registration, m.pdq_quality, signed.chain_id,
                                signed.contract, signed.nonce, signed.deadline, signed.signature,
                                m.canonical_bytes(), custody="publisher")  # fmt: skip
        if matching is not None:
            fp = Fingerprint(m.content_hash, m.pixel_hash, m.pdq, m.pdq_quality, m.width, m.height, "")
            keep_matching_data(session, fp, pack_variants(matching.variants), matching.reference, matching.features,
                               matching.query)  # fmt: skip
        if credentials is not None:
            keep_credentials(session, m.content_hash, credentials, store)
    return Accepted(m.content_hash, uid, OutboxStatus.PENDING)
