"""Issue 14, items 1 and 2: a reorganisation drops anchored Merkle batches. ``provenance up`` in batch mode (a root
per 3 images, or per second) while registrations are uploaded; once two roots are anchored and mirrored,
``anvil_reorg`` replaces every block from the first of them to the head with empty blocks. The indexer rewinds the
mirror, the anchorer finds the roots' transactions gone and anchors them again, and the items are mirrored again:
every registration accepted (202) is in exactly one root anchored on chain (``BatchAnchored`` events, with the
stored trees checked against their roots) and in the mirror once, within 10 s of the reorg."""

from __future__ import annotations

from pathlib import Path

from tests.faults.scenarios import assert_recovered, reorg_of_batches, start_service

BATCH_ENV = {"PROVENANCE_ANCHOR_MODE": "batch", "PROVENANCE_BATCH_MAX_ITEMS": "3", "PROVENANCE_BATCH_MAX_SECONDS": "1"}


def test_a_reorg_that_drops_anchored_batches(tmp_path: Path) -> None:
    harness = start_service(tmp_path / "var", env=BATCH_ENV)
    harness.conditions["batch-reorg"] = reorg_of_batches(harness)
    try:
        result = harness.phase("batch-reorg", uploads=12)
    finally:
        harness.service.stop()
    print(result)
    log = harness.service.log()
    assert "rewound the mirror" in log, "the reorg was not seen by the indexer"
    assert "Traceback" not in log, log[-4000:]
    assert_recovered(result)
