"""anvil's state file, rewritten in place, is cut short by a full disk: ``AnvilNode.keep_state`` keeps the last
whole dump aside and ``start`` puts it back (no node is started here; the whole path, with anvil and a full tmpfs:
tests/faults/test_sqlite_disk_full.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.adapters.chain.node import AnvilNode
from ledger.errors import ChainError

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
