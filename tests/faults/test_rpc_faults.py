"""Issue 14, item 1: the anchorer's RPC endpoint misbehaves (``tests/chain/rpc_proxy.py`` on loopback between the
anchorer and a real anvil): JSON-RPC errors, HTTP errors, a transaction that reached the node but whose answer was
lost (an error, or a timeout), failed nonce and contract reads. Each registration ends on chain exactly once and mirrored, within
10 s of the endpoint answering honestly again. The indexer reads the node directly: the anchorer is under test."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from eth_account import Account

from ledger.adapters.anchorer import Anchorer
from ledger.adapters.chain.client import RETRYABLE, RegistryClient, connect
from ledger.adapters.store import repository as repo
from ledger.adapters.store.models import PublisherAccountRow, SubmissionRow
from ledger.config import ANVIL_TEST_RELAYER_KEY
from ledger.core.eip712 import Domain
from ledger.core.fingerprint import Fingerprint
from ledger.core.manifest import build_manifest
from ledger.errors import LedgerError
from ledger.usecases.register import accept
from tests.chain.rpc_proxy import FaultyRpc, HttpFailure, Request, rpc_error
from tests.chain.test_indexer_and_anchorer import Chain, chain  # noqa: F401 - the fixture
from tests.faults.counting import mirrored_records, registered_events

RECOVERY_BOUND_SECONDS = 10.0
CLIENT_TIMEOUT = 2.0  # the anchorer's RPC timeout here (production: 10 s), so a stalled answer ends quickly


def sent_then_http_error(request: Request, forward: Callable[[Request], dict]) -> dict:  # type: ignore[type-arg]
    """The node took the transaction; the answer was lost on the way back (a proxy's 502)."""
    forward(request)
    raise HttpFailure(502)


def sent_then_stalled(request: Request, forward: Callable[[Request], dict]) -> dict:  # type: ignore[type-arg]
    """The node took the transaction; the answer came after the client gave up."""
    answer = forward(request)
    time.sleep(CLIENT_TIMEOUT + 1)
    return answer


FAULTS = {
    "send-rpc-error": ("eth_sendRawTransaction", rpc_error("upstream busy"), 3),
    "send-http-503": ("eth_sendRawTransaction", lambda _r, _f: (_ for _ in ()).throw(HttpFailure(503)), 3),
    "sent-answer-lost": ("eth_sendRawTransaction", sent_then_http_error, 1),
    "sent-answer-timed-out": ("eth_sendRawTransaction", sent_then_stalled, 1),
    "nonce-read-errors": ("eth_getTransactionCount", rpc_error("header not found"), 3),
    "contract-read-errors": ("eth_call", rpc_error("execution timeout"), 3),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_rpc_fault_between_anchorer_and_node(chain: Chain, fault: str) -> None:  # noqa: F811
    method, answer, times = FAULTS[fault]
    address = Account.from_key(chain.publisher_key).address
    with chain.db.write() as session:
        session.add(PublisherAccountRow(address=address, name="Wire Service", domain="wire.example",
                                        keystore_file="unused", next_nonce=0, created_at=repo.utcnow()))  # fmt: skip
    uids = []
    for i in range(3):
        fp = Fingerprint("0x" + f"{i + 1:02x}" * 32, "0x" + "0b" * 32, "0x" + "0c" * 32, 100, 10, 10, "PNG")
        uids.append(accept(chain.db, Domain(31337, chain.deployment.address), address, chain.publisher_key, fp,
                           build_manifest(address, fp, f"caption {i}", "credit"), 3600).uid)  # fmt: skip
    proxy = FaultyRpc(chain.node.url)
    try:
        client = RegistryClient(connect(proxy.url, timeout=CLIENT_TIMEOUT), chain.deployment.address, chain.client.abi)
        anchorer = Anchorer(chain.db, client, lambda _a: chain.publisher_key, relayer_key=ANVIL_TEST_RELAYER_KEY,
                            vanished_check_seconds=1.0)  # fmt: skip
        proxy.inject(method, answer, times)
        indexer = chain.indexer()
        honest_at: float | None = None
        started = time.monotonic()
        while time.monotonic() - started < 30:
            try:
                anchorer.step()
            except (LedgerError, *RETRYABLE):
                pass  # what Anchorer.run does: log, wait, step again
            if honest_at is None and proxy.pending(method) == 0:
                honest_at = time.monotonic()
            indexer.catch_up()
            with chain.db.read() as session:
                if all(session.get(SubmissionRow, uid).status == "anchored" for uid in uids):  # type: ignore[union-attr]
                    break
            time.sleep(0.1)
        done = time.monotonic()
    finally:
        proxy.close()
    assert honest_at is not None, f"the {fault} faults were not all served"
    with chain.db.read() as session:
        rows = [session.get(SubmissionRow, uid) for uid in uids]
        statuses = [(r.status, r.last_error) for r in rows if r is not None]
    assert all(status == "anchored" for status, _ in statuses), statuses
    recovery = done - honest_at
    print(f"{fault}: all anchored {recovery:.2f} s after the endpoint was honest again")
    assert recovery < RECOVERY_BOUND_SECONDS
    on_chain = registered_events(chain.client, 0)
    mirrored = mirrored_records(chain.db)
    hashes = {r.content_hash for r in rows if r is not None}
    assert {h: on_chain.get(h, 0) for h in hashes} == dict.fromkeys(hashes, 1), on_chain
    assert {h: mirrored.get(h, 0) for h in hashes} == dict.fromkeys(hashes, 1), mirrored
