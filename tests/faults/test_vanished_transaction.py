"""Issue 14, item 2: a sent registration whose transaction the chain loses (the node went back to older state, or a
reorg dropped its block) is noticed within seconds and sent again, with the default ``resend_after`` of 60 s; the
record ends on chain exactly once. Real anvil; its ``evm_revert`` to a snapshot taken before the send is the lost
block. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

from eth_account import Account

from ledger.adapters.anchorer import Anchorer
from ledger.adapters.store.models import SubmissionRow
from ledger.config import ANVIL_TEST_RELAYER_KEY
from tests.chain.test_batches import statuses_hash
from tests.chain.test_indexer_and_anchorer import Chain, _accept_one, chain  # noqa: F401 - the fixture
from tests.faults.counting import registered_events

VANISHED_CHECK_SECONDS = 1.0
RECOVERY_BOUND_SECONDS = 10.0  # issue 14: every accepted registration anchored again within 10 s


def test_a_lost_transaction_is_sent_again_within_seconds(chain: Chain) -> None:  # noqa: F811
    address = Account.from_key(chain.publisher_key).address
    uid = _accept_one(chain, address)
    w3 = chain.client.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    anchorer = Anchorer(chain.db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY,
                        vanished_check_seconds=VANISHED_CHECK_SECONDS)  # fmt: skip
    assert anchorer.resend_after == 60.0  # the long receipt wait is not what recovers it
    assert anchorer.step() == 1
    with chain.db.read() as session:
        first_tx = session.get(SubmissionRow, uid).tx_hash  # type: ignore[union-attr]
    assert chain.client.receipt(first_tx) is not None  # mined (anvil mines at once)

    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True  # type: ignore[arg-type]
    lost_at = time.monotonic()
    assert chain.client.receipt(first_tx) is None and not chain.client.transaction_known(first_tx)
    indexer = chain.indexer()
    while time.monotonic() - lost_at < RECOVERY_BOUND_SECONDS:
        anchorer.step()
        indexer.catch_up()
        with chain.db.read() as session:
            row = session.get(SubmissionRow, uid)
            if row is not None and row.status == "anchored":
                break
        time.sleep(0.1)
    recovered = time.monotonic() - lost_at
    with chain.db.read() as session:
        row = session.get(SubmissionRow, uid)
        assert row is not None and row.status == "anchored", (row.status if row else None, row.last_error if row else None)
        assert row.attempts == 2  # sent again (the same signed transaction may well have the same hash)
    print(f"lost transaction re-sent and anchored {recovered:.2f} s after the chain lost it")
    assert recovered < RECOVERY_BOUND_SECONDS
    # Exactly once on chain.
    assert registered_events(chain.client, 0) == {row.content_hash: 1}


def test_registrations_mined_while_they_looked_lost_are_not_sent_or_signed_again(chain: Chain) -> None:  # noqa: F811
    """What a backend stuck behind the chain caused (tests/faults/test_rpc_service_faults.py, stale heads): three
    registrations mined with nonces 0-2 looked lost, so the second and third went back to pending; a new one was
    signed meanwhile with the nonce the stale backend reported (1). Once the node answers honestly, the anchorer
    sent the new one with nonce 3 and then the third again, pipelined with nonce 4 and no estimate: it reverted on
    chain (already registered), and every later nonce of that step reverted behind it. It also signed the second
    again (nonce 3) before the estimate said it was on chain, leaving a receipt signature the chain never saw. Now a
    row sent before, or pipelined, is looked up on chain first."""
    from ledger.adapters.store import outbox
    from tests.chain.test_batches import accept_images

    address = Account.from_key(chain.publisher_key).address
    first = accept_images(chain.db, chain, 3, first=1)  # type: ignore[arg-type]
    anchorer = Anchorer(chain.db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY)
    assert anchorer.step() == 3
    assert chain.client.nonce(address) == 3  # all three mined (anvil mines at once)
    assert outbox.send_later_nonces_again(chain.db, address, 0, "looked lost behind a stale backend") == 2
    [late] = accept_images(chain.db, chain, 1, first=4)  # type: ignore[arg-type]
    with chain.db.read() as session:
        late_row = session.get(SubmissionRow, late)
        before = {uid: (r.nonce, r.signature) for uid in first if (r := session.get(SubmissionRow, uid)) is not None}
    assert late_row is not None
    outbox.store_signature(chain.db, late_row, 1, late_row.deadline, late_row.signature)  # as signed from the stale nonce
    with chain.db.write() as session:  # and due at once
        for uid in first[1:]:
            session.get(SubmissionRow, uid).updated_at = session.get(SubmissionRow, uid).updated_at.replace(year=2000)  # type: ignore[union-attr]

    assert anchorer.step() == 1  # only the new registration goes out (nonce 3); the other two are on chain
    with chain.db.read() as session:
        rows = {uid: session.get(SubmissionRow, uid) for uid in [*first, late]}
    assert {uid: (r.nonce, r.signature) for uid, r in rows.items() if uid in before} == before  # not signed again
    sent = rows[late]
    assert sent is not None and sent.tx_hash and sent.nonce == 3
    assert chain.client.receipt(sent.tx_hash)["status"] == 1  # type: ignore[index]
    assert chain.client.nonce(address) == 4
    assert registered_events(chain.client, 0) == {r.content_hash: 1 for r in rows.values() if r is not None}


def test_a_lost_signed_retraction_sends_the_later_nonces_again_behind_it(chain: Chain) -> None:  # noqa: F811
    """A newsroom's signed retraction (nonce 1) is mined, then its block is lost; before the anchorer notices, the
    newsroom's next signed registration (nonce 2) goes out pipelined behind it and reverts (nonce 1 is unused
    again). A lost registration sends every later nonce of its publisher back to pending; a lost signed retraction
    did not, so the retraction was then refused ("nonce 1 was already used on chain ...: sign this retraction
    again", counting the registration still marked sent) although nonce 1 was free: the newsroom's accepted
    retraction was never retracted on chain. Now both are sent again, in order, and each ends on chain once."""
    from sqlalchemy import update

    from ledger.adapters.store import repository as repo
    from ledger.adapters.store.models import RetractionRow
    from tests.faults.counting import revoked_events
    from tests.faults.test_write_refused_after_send import anchor, newsroom_registration, retract_with_newsroom_key

    address = Account.from_key(chain.publisher_key).address
    uid = newsroom_registration(chain)  # nonce 0
    anchor(chain, uid)
    retract_with_newsroom_key(chain, uid)  # nonce 1
    w3 = chain.client.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    check_every = 30.0  # the steps below choose what is due by setting updated_at, not by the clock
    anchorer = Anchorer(chain.db, chain.client, lambda _address: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY,
                        vanished_check_seconds=check_every)  # fmt: skip
    assert anchorer.step() == 1 and chain.client.revocation(uid) is not None  # the retraction is mined
    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True  # type: ignore[arg-type]
    assert chain.client.revocation(uid) is None and chain.client.nonce(address) == 1  # and lost

    later = newsroom_registration(chain, nonce=2, seed=502)
    assert anchorer.step() == 1  # the registration, pipelined behind the retraction the anchorer thinks in flight
    with chain.db.read() as session:
        sent = session.get(SubmissionRow, later)
        assert sent is not None and sent.nonce == 2 and sent.tx_hash
    assert chain.client.receipt(sent.tx_hash)["status"] == 0  # type: ignore[index]  # reverted: nonce 1 is unused

    def age(model: type, key: str, seconds: float) -> None:
        with chain.db.write() as session:
            session.execute(update(model).where(model.uid == key)
                            .values(updated_at=repo.utcnow() - timedelta(seconds=seconds)))  # fmt: skip

    age(RetractionRow, uid, check_every + 5)  # the retraction is checked first: lost
    assert anchorer.step() == 0
    with chain.db.read() as session:
        lost = session.get(RetractionRow, uid)
        assert lost is not None and lost.status == "pending", (lost.status if lost else None)
    age(RetractionRow, uid, check_every + 5)  # both due: the retraction's retry and the registration's check
    age(SubmissionRow, later, check_every + 5)
    indexer = chain.indexer()
    deadline = time.monotonic() + RECOVERY_BOUND_SECONDS
    while time.monotonic() < deadline:
        anchorer.step()
        indexer.catch_up()
        with chain.db.read() as session:
            retraction, registration = session.get(RetractionRow, uid), session.get(SubmissionRow, later)
        assert retraction is not None and registration is not None
        assert retraction.status != "refused", retraction.last_error  # nonce 1 was never used
        if retraction.status == registration.status == "anchored":
            break
        time.sleep(0.2)
    assert (retraction.status, registration.status) == ("anchored", "anchored"), (retraction.last_error,
                                                                                   registration.last_error)  # fmt: skip
    assert revoked_events(chain.client, 0) == {uid: 1}
    assert registered_events(chain.client, 0) == {registration.content_hash: 1, statuses_hash(chain.db, uid): 1}
    assert chain.client.nonce(address) == 3
