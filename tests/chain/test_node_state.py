"""anvil's state file, rewritten in place, is cut short by a full disk, or written while a block was mined so
that it holds a transaction's effects without its block (ledger/adapters/chain/anvil_state.py):
``AnvilNode.keep_state`` keeps the last whole dump that agrees with itself aside and ``start`` puts it back (the
first tests start no node; the whole path with anvil and a full tmpfs: tests/faults/test_sqlite_disk_full.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.adapters.chain.anvil_state import disagreement
from ledger.adapters.chain.client import connect
from ledger.adapters.chain.node import AnvilNode
from ledger.errors import ChainError
from tests.conftest import free_port

WHOLE = b'{"block": {"number": 7}, "accounts": {}}'


def test_a_whole_dump_is_kept_and_a_cut_one_is_not(tmp_path: Path) -> None:
    node = AnvilNode(tmp_path, 1)
    node.keep_state()  # no dump yet: nothing to keep
    assert not node.whole_state_file.exists()
    node.state_file.write_bytes(WHOLE)
    node.keep_state()
    assert node.whole_state_file.read_bytes() == WHOLE
    node.state_file.write_bytes(WHOLE[:20] + b"x" * 100)  # larger and cut short, as on a full disk
    node.keep_state()
    assert node.whole_state_file.read_bytes() == WHOLE


def test_a_cut_dump_is_replaced_by_the_whole_copy_before_anvil_starts(tmp_path: Path) -> None:
    node = AnvilNode(tmp_path, 1)
    node.state_file.write_bytes(WHOLE)
    node.keep_state()
    node.state_file.write_bytes(WHOLE[:20])
    node._restore_whole_state()
    assert node.state_file.read_bytes() == WHOLE


def test_a_cut_dump_without_a_copy_is_refused_in_one_line(tmp_path: Path) -> None:
    node = AnvilNode(tmp_path, 1)
    node.state_file.write_bytes(WHOLE[:20])
    with pytest.raises(ChainError, match="cut short"):
        node._restore_whole_state()


def _dump(nonce: int) -> bytes:
    """A dump whose one sender sent one transaction (nonce 0, in block 1): it agrees with itself at nonce 1."""
    return json.dumps({"best_block_number": 1, "blocks": [{"header": {"number": 1}}],
                       "transactions": [{"block_number": 1, "info": {"from": "0xaa", "nonce": 0}}],
                       "accounts": {"0xaa": {"nonce": nonce}}}).encode()  # fmt: skip


def test_a_copy_that_disagrees_is_not_started_from_in_place_of_a_newer_dump(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """Copies made before copies were checked (an install from before 2026-12-02) may be torn themselves."""
    node = AnvilNode(tmp_path, 1)
    node.state_dir.mkdir(exist_ok=True)
    assert disagreement(json.loads(_dump(1))) is None and disagreement(json.loads(_dump(2))) is not None
    node.state_file.write_bytes(_dump(2) + b" ")  # torn, and newer than the copy
    node.whole_state_file.write_bytes(_dump(2))  # torn too
    node._restore_whole_state()
    assert node.state_file.read_bytes() == _dump(2) + b" "  # the newer of two torn dumps
    assert "no earlier copy that agrees" in caplog.text
    node.state_file.write_bytes(_dump(2)[:30])  # cut short: a torn copy still starts, a cut dump does not
    node._restore_whole_state()
    assert node.state_file.read_bytes() == _dump(2) and "disagrees with itself too" in caplog.text
    node.whole_state_file.write_bytes(_dump(1)[:30])  # both cut short
    node.state_file.write_bytes(_dump(1)[:20])
    with pytest.raises(ChainError, match="cut short"):
        node._restore_whole_state()
    node.whole_state_file.write_bytes(_dump(1))  # a copy that agrees replaces a torn dump
    node.state_file.write_bytes(_dump(2))
    node._restore_whole_state()
    assert node.state_file.read_bytes() == _dump(1)


def _transfers(node: AnvilNode, count: int) -> None:
    w3 = connect(node.url)
    sender, receiver = w3.eth.accounts[:2]
    for _ in range(count):
        w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": sender, "to": receiver, "value": 1}))


def _chain(node: AnvilNode) -> tuple[int, int]:
    """The head's number and the first development account's nonce, as the running node answers."""
    w3 = connect(node.url)
    return int(w3.eth.block_number), int(w3.eth.get_transaction_count(w3.eth.accounts[0]))


def test_a_dump_holding_a_transaction_without_its_block_is_not_started_from(tmp_path: Path) -> None:
    """The dump anvil writes while it mines can carry the newest transaction's effects (here: the sender's nonce;
    in the service: a registration in the contract's storage) without the block holding it. Made here as that race
    makes it, from two real dumps: the accounts of the later one, the blocks and transactions of the earlier."""
    node = AnvilNode(tmp_path / "chain", free_port(), state_interval=3600)  # dumps only on exit
    node.start()
    _transfers(node, 2)
    node.stop()  # its exit dump is kept aside too
    earlier: dict[str, Any] = json.loads(node.state_file.read_bytes())
    assert disagreement(earlier) is None
    assert node.whole_state_file.read_bytes() == node.state_file.read_bytes()
    kept = node.whole_state_file.read_bytes()
    node.start()
    _transfers(node, 1)
    node.stop()
    later: dict[str, Any] = json.loads(node.state_file.read_bytes())
    assert disagreement(later) is None
    torn = {**later, **{part: earlier[part] for part in ("best_block_number", "blocks", "transactions")}}
    assert "has nonce 3 but its transactions in the dump account for 2" in (disagreement(torn) or "")
    node.state_file.write_text(json.dumps(torn))
    node.whole_state_file.write_bytes(kept)

    control = AnvilNode(tmp_path / "control", free_port(), state_interval=3600)  # the torn dump, no copy to go back to
    control.state_dir.mkdir()
    control.state_file.write_text(json.dumps(torn))
    control.start()
    try:
        assert _chain(control) == (2, 3)  # anvil takes it: a transaction's effects that no block shows
    finally:
        control.stop()

    node.keep_state()
    assert node.whole_state_file.read_bytes() == kept  # a torn dump is never copied aside
    node.start()
    try:
        assert _chain(node) == (2, 2)  # started from the last copy that agrees with itself
        _transfers(node, 1)
        assert _chain(node) == (3, 3)
    finally:
        node.stop()
    assert disagreement(json.loads(node.state_file.read_bytes())) is None


@pytest.mark.parametrize("state", [{}, {"best_block_number": 1}, {"best_block_number": "x", "blocks": [], "transactions": [],
                                   "accounts": {}}, {"best_block_number": 1, "blocks": [], "transactions": [{}], "accounts": {}},
                                   []])  # fmt: skip
def test_a_dump_in_another_shape_is_not_refused(state: Any) -> None:
    assert disagreement(state) is None  # nothing to tell from it: kept as a whole dump was before
