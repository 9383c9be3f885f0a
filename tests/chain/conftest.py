"""A fresh local chain (anvil, the registry deployed) per test; modules that need another kind define their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.loadgen import LocalChain, start_local_chain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[LocalChain]:
    chain = start_local_chain(tmp_path / "var")
    try:
        yield chain
    finally:
        chain.node.stop()
