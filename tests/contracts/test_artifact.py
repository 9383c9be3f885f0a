"""The committed artifact is exactly what a fresh offline compile produces, from this folder or any other."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from solcx.wrapper import get_solc_version

from ledger.adapters.chain.artifact import (
    DEFAULT_ARTIFACT_PATH,
    artifact_digest,
    artifact_path,
    load_artifact,
    render_artifact,
)
from ledger.adapters.chain.compile import SOLC_WRAPPER, SOURCE_UNITS, compile_contracts, source_keccak

from .helpers import REPO_ROOT


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    return compile_contracts(REPO_ROOT)


def test_fresh_compile_reproduces_committed_artifact_byte_for_byte(fresh: dict[str, Any]) -> None:
    committed = DEFAULT_ARTIFACT_PATH.read_bytes()
    assert render_artifact(fresh).encode("utf-8") == committed, (
        "contracts/build/MediaRegistry.json is stale: run `python -m ledger.adapters.chain.compile` and commit it"
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


def test_solc_wrapper_answers_like_a_native_solc(fresh: dict[str, Any]) -> None:
    version = get_solc_version(SOLC_WRAPPER, with_commit_hash=True)  # what py-solc-x parses
    assert str(version) == fresh["compiler"]["version"]
    banner = subprocess.run([str(SOLC_WRAPPER), "--version"], capture_output=True, text=True, check=True).stdout
    assert banner == f"solc, the solidity compiler commandline interface\nVersion: {version}.Linux.g++\n"


def test_solc_wrapper_resolves_include_paths_and_prints_pure_json(tmp_path: Path) -> None:
    """``--include-path`` as native solc: the import is found in the second folder; stdout is JSON only."""
    (tmp_path / "base").mkdir()
    (tmp_path / "lib" / "dep").mkdir(parents=True)
    (tmp_path / "lib" / "dep" / "Lib.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\n"
        "library Lib { function one() internal pure returns (uint) { return 1; } }\n"
    )
    source = (
        '// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\nimport {Lib} from "dep/Lib.sol";\n'
        "contract C { function f() external pure returns (uint) { return Lib.one(); } }\n"
    )
    def run(sources: dict[str, Any]) -> dict[str, Any]:
        request = {
            "language": "Solidity",
            "sources": {name: {"content": text} for name, text in sources.items()},
            "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
        }
        proc = subprocess.run(
            [
                str(SOLC_WRAPPER),
                "--standard-json",
                "--base-path",
                str(tmp_path / "base"),
                "--include-path",
                str(tmp_path / "lib"),
            ],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            check=True,  # compile errors are reported in the JSON with exit code 0, as native solc does
            cwd=tmp_path,
        )
        result: dict[str, Any] = json.loads(proc.stdout)  # nothing but JSON on stdout
        return result

    ok = run({"C.sol": source})
    assert not [e for e in ok.get("errors", []) if e["severity"] == "error"]
    assert set(ok["sources"]) == {"C.sol", "dep/Lib.sol"}
    assert ok["contracts"]["C.sol"]["C"]["abi"][0]["name"] == "f"

    missing = run({"M.sol": 'import "nowhere/X.sol";'})
    messages = [e["message"] for e in missing["errors"] if e["severity"] == "error"]
    assert len(messages) == 1 and "nowhere/X.sol" in messages[0]


def test_shanghai_build_for_ganache_reproduces_its_artifact_with_the_same_abi(fresh: dict[str, Any]) -> None:
    """Ganache 7 runs at most shanghai: the second build's committed artifact is what a fresh compile gives, it
    speaks the same ABI, and the OpenZeppelin files it replaces hold verbatim the functions the registry reaches."""
    shanghai = compile_contracts(REPO_ROOT, target="shanghai")
    path = artifact_path("shanghai")
    assert render_artifact(shanghai) == path.read_text(encoding="utf-8"), f"{path.name} is stale: recompile"
    assert shanghai["compiler"]["settings"]["evmVersion"] == "shanghai"
    assert shanghai["abi"] == fresh["abi"]
    assert shanghai["deployedBytecode"] != fresh["deployedBytecode"]
    oz = REPO_ROOT / "node_modules" / "@openzeppelin" / "contracts"
    for compat, original, function in (
        ("SignatureChecker.sol", "utils/cryptography/SignatureChecker.sol", "isValidERC1271SignatureNowCalldata"),
        ("Bytes.sol", "utils/Bytes.sol", "equal"),
    ):
        ours = _function_text((REPO_ROOT / "contracts" / "compat" / "shanghai" / compat).read_text(), function)
        assert ours == _function_text((oz / original).read_text(), function)
        assert f"contracts/compat/shanghai/{compat}" in shanghai["sourceHashes"]
    assert not any(unit.endswith(("SignatureChecker.sol", "/Bytes.sol")) and unit.startswith("@openzeppelin")
                   for unit in shanghai["sourceHashes"])  # fmt: skip


def _function_text(source: str, name: str) -> str:
    start = source.index(f"function {name}(")
    return source[start : source.index("\n    }\n", start)]
