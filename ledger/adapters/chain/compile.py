"""Compile the contracts offline into the committed artifact ``contracts/build/MediaRegistry.json``.

No native ``solc`` can be installed here (every installer downloads from the compiler's own site), so py-solc-x
runs ``scripts/solc-wrapper.cjs``: a node script that answers like a native solc and compiles with solc-js.

Reproducibility: the metadata hash appended to the bytecode covers the source unit names, so sources are passed
in by content under relative names (``contracts/MediaRegistry.sol``) and OpenZeppelin imports resolve against
``node_modules`` as ``@openzeppelin/...``. A checkout in any folder then yields the same bytecode, and no
absolute path ends up in the artifact.

Two builds of the same sources (``TARGETS``): ``cancun`` (the default artifact, for anvil, Hardhat node and any
current chain) and ``shanghai`` for Ganache 7, whose newest hardfork is shanghai. OpenZeppelin 5.7's
``SignatureChecker`` uses the cancun opcode MCOPY (in functions the registry never calls, and through ``Bytes``),
and solc refuses it for shanghai even unused; the shanghai build maps that one file to
``contracts/compat/shanghai/SignatureChecker.sol`` (and ``Bytes.sol``), which hold verbatim the one function of each
that the registry reaches.
Keeping cancun for every other chain keeps the gas measured for it (bench/results/gas.json); the shanghai build's
gas is measured beside it.

Run ``python -m ledger.adapters.chain.compile`` to rewrite the artifacts, ``--check`` to only compare.
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

from ledger.adapters.chain.artifact import REPO_ROOT, TARGET_ARTIFACTS, render_artifact
from ledger.errors import ConfigError

__all__ = [
    "CONTRACT_NAME",
    "COMPILER_SETTINGS",
    "SOURCE_UNITS",
    "TARGETS",
    "compile_contracts",
    "compile_with_harnesses",
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
# - evmVersion pinned: solc 0.8.37 defaults to "osaka"; "cancun" runs on anvil, Hardhat node, eth-tester (Prague)
#   and L2s; Ganache 7 gets the "shanghai" build of TARGETS.
# - metadata.bytecodeHash left at its default ("ipfs").
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "evmVersion": "cancun",
}
# Per EVM target: the settings that differ from COMPILER_SETTINGS (see the module docstring for why).
TARGETS: dict[str, dict[str, Any]] = {
    "cancun": {},
    "shanghai": {
        "evmVersion": "shanghai",
        "remappings": [
            "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol=contracts/compat/shanghai/SignatureChecker.sol",
            "@openzeppelin/contracts/utils/Bytes.sol=contracts/compat/shanghai/Bytes.sol",
        ],
    },
}
# Sources a target adds to SOURCE_UNITS (passed by content, like our own).
TARGET_UNITS: dict[str, tuple[str, ...]] = {
    "shanghai": ("contracts/compat/shanghai/SignatureChecker.sol", "contracts/compat/shanghai/Bytes.sol"),
}

_OUTPUT_SELECTION = {
    MAIN_UNIT: {CONTRACT_NAME: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
}


def target_settings(target: str) -> dict[str, Any]:
    if target not in TARGETS:
        raise ConfigError(f"unknown EVM target {target!r}; known: {', '.join(TARGETS)}")
    return {**COMPILER_SETTINGS, **TARGETS[target]}


def _standard_input(root: Path, target: str) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for unit in (*SOURCE_UNITS, *TARGET_UNITS.get(target, ())):
        file = root / unit
        try:
            sources[unit] = {"content": file.read_text(encoding="utf-8")}
        except FileNotFoundError:
            raise ConfigError(f"contract source {unit} not found under {root}") from None
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {**target_settings(target), "outputSelection": _OUTPUT_SELECTION},
    }


def compile_contracts(root: Path, *, solc_binary: Path | None = None, target: str = "cancun") -> dict[str, Any]:
    """Compile ``root/contracts`` (imports from ``root/node_modules``) and return the artifact dict.

    ``solc_binary`` defaults to this checkout's ``scripts/solc-wrapper.cjs``.
    """
    root = Path(root).resolve()
    node_modules = root / "node_modules"
    if not (node_modules / "@openzeppelin" / "contracts").is_dir():
        raise ConfigError(f"{node_modules} lacks @openzeppelin/contracts; run `npm ci` in {root}")
    output = solcx.compile_standard(
        _standard_input(root, target),
        solc_binary=solc_binary or SOLC_WRAPPER,
        base_path=node_modules,
        allow_paths=[root],
    )
    compiled = output["contracts"][MAIN_UNIT][CONTRACT_NAME]
    metadata: dict[str, Any] = json.loads(compiled["metadata"])
    return {
        "contractName": CONTRACT_NAME,
        "compiler": {"version": metadata["compiler"]["version"], "settings": copy.deepcopy(target_settings(target))},
        "abi": compiled["abi"],
        "bytecode": "0x" + compiled["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + compiled["evm"]["deployedBytecode"]["object"],
        # keccak256 of every source unit that went into the bytecode, as the metadata records them.
        "sourceHashes": {unit: info["keccak256"] for unit, info in sorted(metadata["sources"].items())},
    }


def source_keccak(content: str) -> str:
    """keccak256 of a source text, as the compiler metadata records it."""
    return "0x" + keccak(content.encode("utf-8")).hex()


def compile_with_harnesses(root: Path, units: tuple[str, ...], target: str = "cancun") -> dict[str, dict[str, Any]]:
    """Compile our sources plus harness ``units`` (tests, benchmarks; never into a committed artifact) for
    ``target``; returns ``{contract name: {"abi", "bytecode"}}`` for every contract in them."""
    root = Path(root).resolve()
    request = _standard_input(root, target)
    for unit in units:
        request["sources"][unit] = {"content": (root / unit).read_text(encoding="utf-8")}
    request["settings"]["outputSelection"] = {"*": {"*": ["abi", "evm.bytecode.object"]}}
    output = solcx.compile_standard(request, solc_binary=SOLC_WRAPPER, base_path=root / "node_modules", allow_paths=[root])
    found: dict[str, dict[str, Any]] = {}
    for unit in (*SOURCE_UNITS, *units):
        for name, compiled in output["contracts"].get(unit, {}).items():
            found[name] = {"abi": compiled["abi"], "bytecode": "0x" + compiled["evm"]["bytecode"]["object"]}
    return found


def write_artifact(root: Path, target: str = "cancun") -> Path:
    """Compile and write the target's artifact under ``root/contracts/build/``; returns the path written."""
    root = Path(root).resolve()
    text = render_artifact(compile_contracts(root, target=target))
    path = root / TARGET_ARTIFACTS[target]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.adapters.chain.compile", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="checkout to compile (default: this one)")
    parser.add_argument("--check", action="store_true", help="compare with the committed artifact, write nothing")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    stale = 0
    for target, relpath in TARGET_ARTIFACTS.items():
        if args.check:
            fresh = render_artifact(compile_contracts(root, target=target))
            path = root / relpath
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if fresh != current:
                print(f"{relpath} is out of date; run `python -m ledger.adapters.chain.compile`", file=sys.stderr)
                stale += 1
            else:
                print(f"{relpath} is up to date")
            continue
        written = write_artifact(root, target)
        print(f"wrote {written.relative_to(root)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
