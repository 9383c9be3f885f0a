"""Issue 14, item 2: a sent registration whose transaction the chain loses (the node went back to older state, or a
reorg dropped its block) is noticed within seconds and sent again, with the default ``resend_after`` of 60 s; the
record ends on chain exactly once. Real anvil; its ``evm_revert`` to a snapshot taken before the send is the lost
block. On SQLite and PostgreSQL."""

from __future__ import annotations

import time

from eth_account import Account

from ledger.adapters.anchorer import Anchorer
from ledger.adapters.store.models import SubmissionRow
from ledger.config import ANVIL_TEST_RELAYER_KEY
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
