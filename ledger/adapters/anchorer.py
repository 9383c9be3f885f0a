"""The anchorer: sends the outbox to the chain until the indexer sees it.

Two modes (setting ``anchor_mode``):
- ``single``: one ``registerBySig`` transaction per image (a record per image on chain), sent by the service's
  relayer account with the publisher's EIP-712 signature, the one stored in the receipt, so any relayer could have
  sent the same receipt. The signature's nonce must be the contract's next nonce for that publisher: for keys this
  service holds (custody ``service``) a registration whose nonce is not the next (a nonce used meanwhile, a
  deadline near) is signed again with the contract's next nonce and the new signature stored before it is sent; a
  newsroom's own signature (custody ``publisher``) is relayed as it is, in nonce order, and one whose nonce was used
  or whose deadline passed is ``refused`` with the reason (the newsroom signs it again);
- ``batch``: per publisher, up to ``batch_max_items`` images become one Merkle tree whose root is anchored once
  the batch is full or its oldest image has waited ``batch_max_seconds``. Each image keeps its leaf index and proof
  (the receipt), and the tree is served at the batch's URI. The root goes on chain as the single registrations do:
  the publisher's service-held key signs an EIP-712 ``BatchAnchor`` with the contract's next nonce (the nonce
  ``registerBySig`` uses too), the signature is stored with the batch, and the relayer sends ``anchorBatchBySig``,
  so the publisher's account needs no funds and any relayer could have sent the same signature. The anchor lists
  every item's file hash (in the order of the tree's values; the signature covers them), so auditors find batched
  images on chain by SHA-256 without this service.

Retractions requested by a publisher go out once the registration is on chain: a service-held publisher's with
``revoke`` (or ``revokeBatchItem`` with the item's proof) from its account; a newsroom's own signed retraction
(custody ``publisher``) with ``revokeBySig`` from the relayer's account, in the publisher's nonce order.

Several registrations of one publisher go out in one step: the contract's nonce is read once per step and
counted up locally; those after the first are sent with a fixed gas limit, since an estimate against the latest
block would see the earlier ones' nonces unused.

Status moves pending -> sent (transaction accepted by the node) -> anchored (set by the indexer when the
event is mirrored). Nothing is dropped: a reverted or vanished transaction goes back to pending and is
retried with backoff; a registration, root or retraction already on chain just waits for the indexer. A suspended
publisher's work is held (status ``held``, the reason in ``last_error``) instead of retried, and released when the
mirror sees the publisher re-enabled.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from itertools import groupby

from eth_account import Account

from ledger.adapters.chain.client import RETRY_MAX_SECONDS, RETRYABLE, RegistryClient, SentTx
from ledger.adapters.store import outbox
from ledger.adapters.store.db import Database
from ledger.adapters.store.models import BatchRow, RetractionRow, SubmissionRow
from ledger.adapters.store.outbox import OutboxRow, OutboxStatus
from ledger.adapters.store.repository import as_utc, utcnow
from ledger.core.eip712 import Domain, recover_batch_anchor_signer, sign_batch_anchor, sign_registration
from ledger.core.merkle import MerkleTree, batch_content_hashes, registration_tree
from ledger.core.records import Registration
from ledger.errors import ContractRevert, LedgerError, StorageUnavailable

log = logging.getLogger("ledger.anchorer")

KeyLoader = Callable[[str], bytes]
MAX_BACKOFF_SECONDS = 300.0
# A pipelined registerBySig (an earlier nonce of the same publisher not yet mined) is sent without an estimate.
# Measured: 65,108 gas (82,196 for a publisher's first); an ERC-1271 wallet adds its isValidSignature call. Only the
# gas used is paid; the limit bounds a revert's cost.
PIPELINED_REGISTER_GAS = 250_000
# The same for anchorBatchBySig, whose cost grows with the content hashes it lists: measured 1,338,620 gas for 1,024
# images with a 66-character URI on anvil (bench/results/gas.json: EIP-7623's calldata floor, 1,280 gas per listed
# hash, sets it), so a fixed part plus a per-image allowance well above that.
PIPELINED_ANCHOR_GAS_BASE = 250_000
PIPELINED_ANCHOR_GAS_PER_IMAGE = 2_000
RESIGN_MARGIN_SECONDS = 600  # a service-held signature this close to its deadline is signed again before sending
SIGNATURE_REFUSALS = ("MediaRegistryInvalidSignature", "MediaRegistryExpiredSignature")
ON_CHAIN_ALREADY = ("MediaRegistryAlreadyRegistered", "MediaRegistryBatchAlreadyAnchored", "MediaRegistryAlreadyRevoked")


def registration_of(row: SubmissionRow) -> Registration:
    return Registration(row.content_hash, row.pixel_hash, row.pdq_hash, row.manifest_hash, row.parent)


def batch_content_hashes_of(row: BatchRow) -> list[str]:
    """The file hashes the batch's anchor lists on chain, in the order of its tree's values."""
    return batch_content_hashes(MerkleTree.load(json.loads(row.tree)))


def describe(row: OutboxRow) -> str:
    if isinstance(row, BatchRow):
        return f"batch {row.root}"
    if isinstance(row, RetractionRow):
        return f"retraction of {row.uid}"
    return f"registration {row.uid}"


class Anchorer:
    def __init__(
        self,
        db: Database,
        client: RegistryClient,
        load_key: KeyLoader,
        resend_after: float = 60.0,
        mode: str = "single",
        batch_max_items: int = 256,
        batch_max_seconds: float = 5.0,
        base_url: str = "http://127.0.0.1:8000",
        relayer_key: bytes | str | None = None,
        signature_validity_seconds: int = 30 * 24 * 3600,
        vanished_check_seconds: float = 2.0,
    ):
        if relayer_key is None:
            raise ValueError("the anchorer needs the relayer's key (Settings.relayer_key)")
        self.db = db
        self.client = client
        self.load_key = load_key
        self.relayer_key = relayer_key
        self.relayer = Account.from_key(relayer_key).address
        self.signature_validity_seconds = signature_validity_seconds
        self._chain_nonce: dict[str, int] = {}  # per step: the contract's nonce of each publisher sent for
        self._chain_domain: Domain | None = None  # the EIP-712 domain batch anchors are signed for (read once)
        self._next_nonce: dict[str, int] = {}
        self.resend_after = resend_after
        self.vanished_check_seconds = vanished_check_seconds
        self._reset: set[str] = set()  # publishers whose later sent rows went back to pending in this step
        self._last_seen: dict[str, float] = {}  # tx hash -> when the node last said it knows it (monotonic)
        self.mode = mode
        self.batch_max_items = batch_max_items
        self.batch_max_seconds = batch_max_seconds
        self.base_url = base_url.rstrip("/")

    def step(self) -> int:
        """Send what is due; returns how many transactions were sent."""
        held, released = outbox.hold_and_release(self.db)
        if held or released:
            log.info("suspended publishers: %d outbox rows held, %d released", held, released)
        if self.mode == "batch":
            self.form_batches()
        work = outbox.open_work(self.db)
        # In batch mode a waiting registration waits for its batch; sent ones are still checked. A newsroom's own
        # signature covers one registration, so its registrations are always relayed one by one.
        singles = [r for r in work.singles
                   if self.mode == "single" or r.status == OutboxStatus.SENT or r.custody == "publisher"]  # fmt: skip
        # Signatures are used in nonce order; a newsroom's signed retractions share its registrations' sequence.
        signed_retractions = [r for r in work.retractions if r.signature is not None]
        unsigned_retractions = [r for r in work.retractions if r.signature is None]
        in_order: list[SubmissionRow | RetractionRow] = sorted([*singles, *signed_retractions],
                                                                 key=lambda r: (r.publisher, r.nonce or 0))  # fmt: skip
        self._chain_nonce.clear()
        self._next_nonce.clear()
        sent = 0
        self._reset.clear()
        for row in [*work.batches, *unsigned_retractions, *in_order]:
            if isinstance(row, (SubmissionRow, BatchRow)) and row.publisher in self._reset and row.status == OutboxStatus.SENT:
                continue  # this copy is stale: the row may be pending again (the next step sees it as it is)
            if not self._is_due(row):
                continue
            if row.status == OutboxStatus.SENT:
                if outbox.age_seconds(row) >= self.resend_after:
                    self._check(row)
                else:
                    self._check_known(row)
            else:
                sent += self._send(row)
        in_flight = {row.tx_hash for row in [*work.batches, *work.retractions, *singles] if row.tx_hash}
        self._last_seen = {tx: seen for tx, seen in self._last_seen.items() if tx in in_flight}  # stays small
        return sent

    def _is_due(self, row: OutboxRow) -> bool:
        age = outbox.age_seconds(row)
        if row.status == OutboxStatus.SENT:
            if age >= self.resend_after:
                return True
            # Sooner, only to ask whether the node still knows the transaction, once per vanished_check_seconds.
            last = self._last_seen.get(row.tx_hash or "", 0.0)
            return bool(row.tx_hash) and age >= self.vanished_check_seconds and \
                time.monotonic() - last >= self.vanished_check_seconds
        return row.attempts == 0 or age >= min(MAX_BACKOFF_SECONDS, 2.0**row.attempts)

    # -- sending -------------------------------------------------------------------------------------------------
    def _send(self, row: OutboxRow) -> int:
        try:
            if self._on_chain_already(row):
                outbox.mark_on_chain_already(self.db, row)
                log.info("%s is on chain already; the indexer will mirror it", describe(row))
                return 0
            tx = self._transaction(row)
        except ContractRevert as exc:
            newsroom_signed = (isinstance(row, SubmissionRow) and row.custody == "publisher") or \
                (isinstance(row, RetractionRow) and row.signature is not None)
            if newsroom_signed and exc.error_name in SIGNATURE_REFUSALS:
                outbox.mark_unusable(self.db, row, f"the contract refused the publisher's signature: {exc.message}")
            elif exc.error_name in ON_CHAIN_ALREADY:
                outbox.mark_on_chain_already(self.db, row)
            elif exc.error_name == "MediaRegistryPublisherSuspended":
                outbox.mark_held(self.db, row)
                log.warning("%s held: its publisher is suspended on chain", describe(row))
            else:
                log.warning("%s refused by the contract: %s (will retry)", describe(row), exc.message)
                outbox.mark_refused(self.db, row, exc.message)
            return 0
        if tx is None:
            return 0
        try:
            outbox.mark_sent(self.db, row, tx.tx_hash)
        except StorageUnavailable:  # said here: the step's error alone would not tell that a transaction went out
            log.warning("sent %s in tx %s but could not record it; before it is sent again the chain is asked "
                        "whether it is there", describe(row), tx.tx_hash)  # fmt: skip
            raise
        log.info("sent %s in tx %s", describe(row), tx.tx_hash)
        return 1

    def _on_chain_already(self, row: OutboxRow) -> bool:
        """Is this registration, root or newsroom-signed retraction on chain already? Asked of a row sent before (its
        transaction may have been mined while the node, a stale backend or a reorg made it look lost), of one whose
        stored signature's nonce the contract has used, and of one whose nonce would be pipelined (sent without the
        estimate that would say so). Sending it again would revert, and, pipelined, make every later nonce of its
        publisher in this step revert with it; signing it again first would replace the receipt's signature with one
        the chain never saw; a newsroom's signature would be refused as used ("sign it again") although the chain
        holds what it signed."""
        if isinstance(row, RetractionRow) and row.signature is None:
            return False  # sent from the publisher's account after an estimate, which says "already revoked" if it is
        expected = self._expected_nonce(row.publisher)
        chain_nonce = self._chain_nonce[row.publisher]
        # A stored signature whose nonce the contract has used may have been used by this very row: sent, mined,
        # and its "sent" mark lost (the database refused it, or the anchorer was killed before writing it).
        signature_used = row.nonce is not None and row.nonce < chain_nonce
        if row.attempts == 0 and expected <= chain_nonce and not signature_used:
            return False  # never sent, and estimated before sending: the estimate says so if it is
        if isinstance(row, BatchRow):
            return self.client.batch(row.publisher, row.root) is not None
        if isinstance(row, RetractionRow):  # retracted by anyone: nothing is left to send (the indexer mirrors it)
            return self.client.revocation(row.uid) is not None
        return self.client.get_record(row.uid).exists

    def _transaction(self, row: OutboxRow) -> SentTx | None:
        """The transaction that puts ``row`` on chain (None: not yet possible)."""
        if isinstance(row, SubmissionRow):
            return self._relay(row)
        if isinstance(row, BatchRow):
            return self._relay_batch(row)
        record, proof = outbox.retraction_target(self.db, row.uid)
        if record is None:
            return None  # not on chain yet: it is retracted once its registration is mirrored
        if row.signature is not None:
            return self._relay_retraction(row)
        signer = self.load_key(row.publisher)
        if record.batch_root:
            registration = Registration(record.content_hash, record.pixel_hash, record.pdq_hash, record.manifest_hash,
                                        record.parent)  # fmt: skip
            return self.client.revoke_batch_item(signer, record.batch_root, registration, record.publisher, proof,
                                                 row.reason_code, row.reason)  # fmt: skip
        return self.client.revoke(signer, row.uid, row.reason_code, row.reason)

    # -- relayed registrations -----------------------------------------------------------------------------------
    def _domain(self) -> Domain:
        if self._chain_domain is None:
            self._chain_domain = Domain(self.client.chain_id(), self.client.address)
        return self._chain_domain

    def _expected_nonce(self, publisher: str) -> int:
        """The nonce the next signature of ``publisher`` must carry: the contract's, counted past what was sent and
        is not yet mined (registrations and batch anchors share it)."""
        if publisher not in self._next_nonce:
            chain = self.client.nonce(publisher)
            in_flight = outbox.highest_sent_nonce(self.db, publisher)
            self._chain_nonce[publisher] = chain
            self._next_nonce[publisher] = max(chain, in_flight + 1 if in_flight is not None else 0)
        return self._next_nonce[publisher]

    def _relay(self, row: SubmissionRow) -> SentTx | None:
        expected = self._expected_nonce(row.publisher)
        now = int(time.time())
        if row.custody == "publisher":
            if row.nonce > expected:
                return None  # the publisher's earlier signed registrations go first
            if row.nonce < expected:
                outbox.mark_unusable(self.db, row, f"nonce {row.nonce} was already used on chain (the contract's "
                                                   f"next nonce is {expected}): sign this registration again")  # fmt: skip
                return None
            if row.deadline <= now:
                outbox.mark_unusable(self.db, row, f"the signature's deadline {row.deadline} has passed: sign again")
                return None
        elif row.nonce != expected or row.deadline <= now + RESIGN_MARGIN_SECONDS:
            row = self._sign_again(row, expected, now + self.signature_validity_seconds)
        pipelined = expected > self._chain_nonce[row.publisher]
        tx = self.client.register_by_sig(self.relayer_key, registration_of(row), row.publisher, row.deadline,
                                         row.signature, gas=PIPELINED_REGISTER_GAS if pipelined else None)  # fmt: skip
        self._next_nonce[row.publisher] = expected + 1
        return tx

    def _relay_retraction(self, row: RetractionRow) -> SentTx | None:
        """``revokeBySig`` from the relayer's account with the newsroom's own Revocation signature, in the
        publisher's nonce order (shared with its registrations); one whose nonce was used or whose deadline passed
        is refused with the reason, never sent."""
        assert row.nonce is not None and row.deadline is not None and row.signature is not None
        expected = self._expected_nonce(row.publisher)
        if row.nonce > expected:
            return None  # the publisher's earlier signatures go first
        if row.nonce < expected:
            outbox.mark_unusable(self.db, row, f"nonce {row.nonce} was already used on chain (the contract's next nonce "
                                               f"is {expected}): sign this retraction again")  # fmt: skip
            return None
        if row.deadline <= int(time.time()):
            outbox.mark_unusable(self.db, row, f"the signature's deadline {row.deadline} has passed: sign again")
            return None
        pipelined = expected > self._chain_nonce[row.publisher]
        tx = self.client.revoke_by_sig(self.relayer_key, row.uid, row.reason_code, row.reason, row.publisher,
                                       row.deadline, row.signature, gas=PIPELINED_REGISTER_GAS if pipelined else None)  # fmt: skip
        self._next_nonce[row.publisher] = expected + 1
        return tx

    def _relay_batch(self, row: BatchRow) -> SentTx:
        """``anchorBatchBySig`` from the relayer's account with the publisher's BatchAnchor signature, signed (and
        stored) with the contract's next nonce unless the stored one already carries it."""
        expected = self._expected_nonce(row.publisher)
        now = int(time.time())
        if (row.signature is None or row.nonce != expected or (row.deadline or 0) <= now + RESIGN_MARGIN_SECONDS
                or not self._batch_signature_fits(row)):  # fmt: skip
            deadline = now + self.signature_validity_seconds
            signature = sign_batch_anchor(self.load_key(row.publisher), self._domain(), row.root, row.count, row.uri,
                                          batch_content_hashes_of(row), expected, deadline)  # fmt: skip
            outbox.store_signature(self.db, row, expected, deadline, signature)
            row.nonce, row.deadline, row.signature = expected, deadline, signature
        pipelined = expected > self._chain_nonce[row.publisher]
        assert row.deadline is not None and row.signature is not None
        tx = self.client.anchor_batch_by_sig(self.relayer_key, row.root, batch_content_hashes_of(row), row.uri, row.publisher,
                                             row.deadline, row.signature,
                                             gas=PIPELINED_ANCHOR_GAS_BASE + PIPELINED_ANCHOR_GAS_PER_IMAGE * row.count
                                             if pipelined else None)  # fmt: skip
        self._next_nonce[row.publisher] = expected + 1
        return tx

    def _batch_signature_fits(self, row: BatchRow) -> bool:
        """Whether the stored BatchAnchor signature is the publisher's for this contract and this list of content
        hashes: one made for a contract since replaced (``--redeploy``), or in the type before the hashes were
        signed, would only be refused on chain."""
        assert row.signature is not None and row.nonce is not None and row.deadline is not None
        try:
            signer = recover_batch_anchor_signer(self._domain(), row.root, row.count, row.uri, batch_content_hashes_of(row),
                                                 row.publisher, row.nonce, row.deadline, row.signature)  # fmt: skip
        except (ValueError, LedgerError):
            return False
        return signer == row.publisher

    def _sign_again(self, row: SubmissionRow, nonce: int, deadline: int) -> SubmissionRow:
        """A service-held key signs the registration with the contract's next nonce; stored before it is sent, so
        the receipt holds the signature that goes on chain."""
        signature = sign_registration(self.load_key(row.publisher), Domain(row.chain_id, row.contract),
                                      registration_of(row), nonce, deadline)  # fmt: skip
        outbox.store_signature(self.db, row, nonce, deadline, signature)
        log.info("registration %s signed again with nonce %d (was %d)", row.uid, nonce, row.nonce)
        row.nonce, row.deadline, row.signature = nonce, deadline, signature
        return row

    def _check_known(self, row: OutboxRow) -> None:
        """Sent recently: a transaction the node does not know (lost with blocks or a mempool when the node
        restarted, or dropped) will never get a receipt, and a reverted one will never be mirrored; send it again now
        rather than after ``resend_after``. Sending twice is safe: the contract refuses a second copy of a
        registration (it is then marked on chain already)."""
        assert row.tx_hash is not None
        problem = None
        if not self.client.transaction_known(row.tx_hash):
            problem = "transaction no longer known to the chain node"
        else:
            receipt = self.client.receipt(row.tx_hash)
            if receipt is not None and receipt.get("status") != 1:
                problem = "transaction reverted"
        if problem is None:
            self._last_seen[row.tx_hash] = time.monotonic()
            return
        self._last_seen.pop(row.tx_hash, None)
        outbox.mark_vanished(self.db, row, problem)
        log.warning("%s: tx %s %s; sending again", describe(row), row.tx_hash, problem.removeprefix("transaction "))
        # A registration, batch or newsroom-signed retraction used one of the publisher's nonces: every later one
        # sent behind it is refused until it is on chain again (a retraction's was not reset, so the retraction was
        # then refused as "nonce already used", counting a later one still marked sent).
        signed_with_nonce = isinstance(row, BatchRow) or (isinstance(row, SubmissionRow) and row.batch_root is None) \
            or (isinstance(row, RetractionRow) and row.signature is not None)
        nonce = row.nonce if signed_with_nonce else None
        if nonce is not None:
            later = outbox.send_later_nonces_again(self.db, row.publisher, nonce,
                                                   f"the transaction with nonce {nonce} is sent again first")  # fmt: skip
            self._reset.add(row.publisher)
            self._next_nonce.pop(row.publisher, None)
            if later:
                log.warning("%d later registrations of %s go back to pending behind it", later, row.publisher)

    def _check(self, row: OutboxRow) -> None:
        """Sent long ago and not yet mirrored: is the transaction still there?"""
        receipt = self.client.receipt(row.tx_hash) if row.tx_hash else None
        problem = None
        if receipt is None:
            problem = "transaction not found on the chain"
        elif receipt.get("status") != 1:
            problem = "transaction reverted"
        if problem is None:
            outbox.mark_mined(self.db, row)
        else:
            outbox.mark_vanished(self.db, row, problem)
            log.warning("%s: %s; sending again", describe(row), problem)

    # -- Merkle batches ------------------------------------------------------------------------------------------
    def form_batches(self) -> int:
        """Group waiting registrations per publisher into trees; returns how many batches were formed."""
        formed = 0
        now = utcnow()
        for publisher, group in groupby(outbox.unbatched(self.db), key=lambda r: r.publisher):
            rows = list(group)
            oldest_wait = (now - as_utc(rows[0].created_at)).total_seconds()
            for start in range(0, len(rows), self.batch_max_items):
                chunk = rows[start : start + self.batch_max_items]
                if len(chunk) < self.batch_max_items and oldest_wait < self.batch_max_seconds:
                    break
                tree = registration_tree(publisher, [registration_of(r) for r in chunk])
                uri = f"{self.base_url}/v1/batches/{publisher}/{tree.root}"
                outbox.add_batch(self.db, publisher, tree.root, uri, tree.dump(),
                                 [(r.uid, tree.proof(i)) for i, r in enumerate(chunk)])  # fmt: skip
                log.info("batch %s of %d registrations formed for %s", tree.root, len(chunk), publisher)
                formed += 1
        return formed

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        log.info("anchorer sending registrations to %s (%s mode)", self.client.address, self.mode)
        backoff = poll_seconds
        while not stop.is_set():
            try:
                sent = self.step()
                backoff = poll_seconds
            except RETRYABLE as exc:
                log.warning("chain node unavailable (%s); retrying in %.1f s", str(exc).splitlines()[0][:200], backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, RETRY_MAX_SECONDS)
                continue
            except LedgerError as exc:
                log.error("anchorer: %s", exc.message)
                sent = 0
            if not sent:
                stop.wait(poll_seconds)
