"""Whether an anvil state dump agrees with itself: its accounts are what its blocks made, no more.

anvil writes its dump (``--state``: every ``--state-interval`` seconds and on exit) from reads made one after
another while its miner goes on: the best block number, the blocks, the transactions, then the accounts
(foundry's ``Backend::serialized_state``). A transaction mined between those reads is in the accounts but in no
block. Measured here (scratch, 2026-12-02): 11 of 117 dumps written each second in two minutes of back-to-back
transfers (2 of 39 and 0 of 39 in shorter runs), and the exit dump of a node stopped right after its last transfer. Started from such a dump, anvil holds the effects of a
transaction no block shows: a registration in the contract's storage without its event. The anchorer is then told
"already registered", and the indexer, which reads events, never mirrors it: an accepted registration lost (seen
once in CI, ``tests/faults/test_read_only_running.py``). An older dump that agrees with itself only loses blocks,
which the indexer and the anchorer recover from (the indexer rewinds, the anchorer sends again).

The check uses what every state change on these chains leaves: each transaction raises its sender's nonce, and
the dump lists every transaction (anvil keeps them across loads, measured). So an externally owned account's
nonce must be one past the highest nonce among its transactions in the dump, and no transaction or block may lie
past the best block. Contracts are skipped (their nonce counts contracts they created, not transactions)."""

from __future__ import annotations

from typing import Any


def _number(value: Any) -> int:
    return int(value, 0) if isinstance(value, str) else int(value)


def disagreement(state: dict[str, Any]) -> str | None:
    """Why the dump ``state`` (anvil's JSON, parsed) does not agree with itself; None when it does, or when it lacks
    the parts the check reads (another format: nothing to tell, and nothing to refuse it for)."""
    try:
        return _disagreement(state)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _disagreement(state: dict[str, Any]) -> str | None:
    best = _number(state["best_block_number"])
    blocks = [_number(block["header"]["number"]) for block in state["blocks"]]
    if blocks and max(blocks) != best:
        return f"its blocks go to {max(blocks)} but its best block is {best}"
    last_nonce: dict[str, int] = {}
    for transaction in state["transactions"]:
        block = _number(transaction.get("block_number", 0))
        if block > best:
            return f"a transaction in block {block} is past its best block {best}"
        info = transaction["info"]
        sender = str(info["from"]).lower()
        last_nonce[sender] = max(last_nonce.get(sender, -1), _number(info["nonce"]))
    for address, account in state["accounts"].items():
        nonce = _number(account.get("nonce", 0))
        if nonce == 0 or account.get("code") not in (None, "", "0x"):
            continue
        listed = last_nonce.get(address.lower(), -1) + 1
        if nonce != listed:
            return f"account {address} has nonce {nonce} but its transactions in the dump account for {listed}"
    return None
