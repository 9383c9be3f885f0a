"""The committed artifact is exactly what a fresh offline compile produces, from this folder or any other."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.artifact import DEFAULT_ARTIFACT_PATH, artifact_digest, load_artifact, render_artifact
from ledger.chain.compile import SOURCE_UNITS, compile_contracts, source_keccak

from .helpers import REPO_ROOT


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    return compile_contracts(REPO_ROOT)


def test_fresh_compile_reproduces_committed_artifact_byte_for_byte(fresh: dict[str, Any]) -> None:
    committed = DEFAULT_ARTIFACT_PATH.read_bytes()
    assert render_artifact(fresh).encode("utf-8") == committed, (
        "contracts/build/MediaRegistry.json is stale: run `python -m ledger.chain.compile` and commit it"
    )


def test_committed_text_is_canonical() -> None:
    text = DEFAULT_ARTIFACT_PATH.read_text(encoding="utf-8")
    assert render_artifact(json.loads(text)) == text
    assert text.endswith("}\n")


def test_artifact_has_no_absolute_path(fresh: dict[str, Any]) -> None:
    text = render_artifact(fresh)
    assert "/work" not in text
    assert str(REPO_ROOT) not in text
    assert "file:" not in text
    for unit in fresh["sourceHashes"]:
        assert not unit.startswith("/"), unit


def test_artifact_shape(fresh: dict[str, Any]) -> None:
    assert fresh["contractName"] == "MediaRegistry"
    assert re.fullmatch(r"0\.8\.37\+commit\.[0-9a-f]{8}", fresh["compiler"]["version"])
    assert fresh["compiler"]["settings"]["evmVersion"] == "cancun"
    assert fresh["compiler"]["settings"]["optimizer"]["enabled"] is True
    assert re.fullmatch(r"0x[0-9a-f]+", fresh["bytecode"])
    assert re.fullmatch(r"0x[0-9a-f]+", fresh["deployedBytecode"])
    names = {e["name"] for e in fresh["abi"] if e["type"] in ("function", "event", "error")}
    assert {"register", "addPublisher", "Registered", "MediaRegistryNotPublisher", "hashRegistration"} <= names
    for unit in SOURCE_UNITS:
        assert fresh["sourceHashes"][unit] == source_keccak((REPO_ROOT / unit).read_text(encoding="utf-8"))
    assert any(u.startswith("@openzeppelin/contracts/") for u in fresh["sourceHashes"])


def test_compile_from_another_folder_gives_the_same_bytecode(fresh: dict[str, Any], tmp_path: Path) -> None:
    """What CI does: a clone in another folder must reproduce the committed bytecode (metadata hash included)."""
    clone = tmp_path / "elsewhere"
    (clone / "contracts").mkdir(parents=True)
    for source in (REPO_ROOT / "contracts").glob("*.sol"):
        shutil.copy2(source, clone / "contracts" / source.name)
    (clone / "node_modules").symlink_to(REPO_ROOT / "node_modules", target_is_directory=True)

    other = compile_contracts(clone)

    assert other["bytecode"] == fresh["bytecode"]
    assert other["deployedBytecode"] == fresh["deployedBytecode"]
    assert render_artifact(other) == render_artifact(fresh)
    assert str(clone) not in render_artifact(other)


def test_load_artifact_and_digest() -> None:
    artifact = load_artifact()
    assert artifact == load_artifact(DEFAULT_ARTIFACT_PATH)
    digest = artifact_digest(artifact)
    assert re.fullmatch(r"0x[0-9a-f]{64}", digest)
    assert digest == "0x" + hashlib.sha256(DEFAULT_ARTIFACT_PATH.read_bytes()).hexdigest()
