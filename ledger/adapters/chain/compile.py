"""Compile the contracts offline into the committed artifact ``contracts/build/MediaRegistry.json``.

No native ``solc`` can be installed here (every installer downloads from the compiler's own site), so py-solc-x
runs ``scripts/solc-wrapper.cjs``: a node script that answers like a native solc and compiles with solc-js.

Reproducibility: the metadata hash appended to the bytecode covers the source unit names, so sources are passed
in by content under relative names (``contracts/MediaRegistry.sol``) and OpenZeppelin imports resolve against
``node_modules`` as ``@openzeppelin/...``. A checkout in any folder then yields the same bytecode, and no
absolute path ends up in the artifact.

Run ``python -m ledger.adapters.chain.compile`` to rewrite the artifact, ``--check`` to only compare.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import solcx
from eth_utils import keccak

from ledger.adapters.chain.artifact import ARTIFACT_RELPATH, REPO_ROOT, render_artifact
from ledger.errors import ConfigError

__all__ = [
    "CONTRACT_NAME",
    "COMPILER_SETTINGS",
    "SOURCE_UNITS",
    "compile_contracts",
    "render_artifact",
    "write_artifact",
    "main",
]

CONTRACT_NAME = "MediaRegistry"
MAIN_UNIT = "contracts/MediaRegistry.sol"
# Our own sources, passed to the compiler by content under these relative names.
SOURCE_UNITS = ("contracts/IMediaRegistry.sol", MAIN_UNIT)
SOLC_WRAPPER = REPO_ROOT / "scripts" / "solc-wrapper.cjs"

# Settings that shape the bytecode (the metadata records them).
# - runs = 10_000: `runs` tells the optimizer how often each opcode is expected to execute over the contract's
#   life. A registry is deployed once and `register` is called for every published image, so we trade a slightly
#   larger deployment for cheaper calls (constants inlined instead of shared through jumps).
# - evmVersion pinned: solc 0.8.37 defaults to "osaka"; "cancun" runs on anvil, eth-tester (Prague) and L2s.
# - metadata.bytecodeHash left at its default ("ipfs").
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "evmVersion": "cancun",
}

_OUTPUT_SELECTION = {
    MAIN_UNIT: {CONTRACT_NAME: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
}


def _standard_input(root: Path) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for unit in SOURCE_UNITS:
        file = root / unit
        try:
            sources[unit] = {"content": file.read_text(encoding="utf-8")}
        except FileNotFoundError:
            raise ConfigError(f"contract source {unit} not found under {root}") from None
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {**COMPILER_SETTINGS, "outputSelection": _OUTPUT_SELECTION},
    }


def compile_contracts(root: Path, *, solc_binary: Path | None = None) -> dict[str, Any]:
    """Compile ``root/contracts`` (imports from ``root/node_modules``) and return the artifact dict.

    ``solc_binary`` defaults to this checkout's ``scripts/solc-wrapper.cjs``.
    """
    root = Path(root).resolve()
    node_modules = root / "node_modules"
    if not (node_modules / "@openzeppelin" / "contracts").is_dir():
        raise ConfigError(f"{node_modules} lacks @openzeppelin/contracts; run `npm ci` in {root}")
    output = solcx.compile_standard(
        _standard_input(root),
        solc_binary=solc_binary or SOLC_WRAPPER,
        base_path=node_modules,
        allow_paths=[root],
    )
    compiled = output["contracts"][MAIN_UNIT][CONTRACT_NAME]
    metadata: dict[str, Any] = json.loads(compiled["metadata"])
    return {
        "contractName": CONTRACT_NAME,
        "compiler": {"version": metadata["compiler"]["version"], "settings": copy.deepcopy(COMPILER_SETTINGS)},
        "abi": compiled["abi"],
        "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
        # keccak256 of every source unit that went into the bytecode, as the metadata records them.
        "sourceHashes": {unit: info["keccak256"] for unit, info in sorted(metadata["sources"].items())},
    }


def source_keccak(content: str) -> str:
    """keccak256 of a source text, as the compiler metadata records it."""
    return "0x" + keccak(content.encode("utf-8")).hex()


def write_artifact(root: Path) -> Path:
    """Compile and write ``root/contracts/build/MediaRegistry.json``; returns the path written."""
    root = Path(root).resolve()
    text = render_artifact(compile_contracts(root))
    target = root / ARTIFACT_RELPATH
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.adapters.chain.compile", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="checkout to compile (default: this one)")
    parser.add_argument("--check", action="store_true", help="compare with the committed artifact, write nothing")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    target = root / ARTIFACT_RELPATH
    if args.check:
        fresh = render_artifact(compile_contracts(root))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if fresh != current:
            print(f"{ARTIFACT_RELPATH} is out of date; run `python -m ledger.adapters.chain.compile`", file=sys.stderr)
            return 1
        print(f"{ARTIFACT_RELPATH} is up to date")
        return 0
    written = write_artifact(root)
    print(f"wrote {written.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
