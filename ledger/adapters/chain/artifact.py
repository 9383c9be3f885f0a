"""The committed compiled contract: reading it and naming it.

``contracts/build/MediaRegistry.json`` is produced by ``python -m ledger.adapters.chain.compile`` and committed; a test
checks that a fresh compile reproduces it byte for byte. Its one canonical text form is ``render_artifact``;
the deployment record stores ``artifact_digest`` so a deployment can be tied to the exact code it ran.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ledger.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[3]
ARTIFACT_RELPATH = Path("contracts") / "build" / "MediaRegistry.json"
DEFAULT_ARTIFACT_PATH = REPO_ROOT / ARTIFACT_RELPATH
# One artifact per EVM target (ledger/adapters/chain/compile.py says why there are two); same ABI in both.
TARGET_ARTIFACTS = {
    "cancun": ARTIFACT_RELPATH,
    "shanghai": Path("contracts") / "build" / "MediaRegistry.shanghai.json",
}

_REQUIRED_KEYS = ("contractName", "compiler", "abi", "bytecode", "deployedBytecode", "sourceHashes")


def render_artifact(artifact: dict[str, Any]) -> str:
    """The one canonical text form of an artifact: sorted keys, two-space indent, trailing newline."""
    return json.dumps(artifact, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def artifact_digest(artifact: dict[str, Any]) -> str:
    """``0x`` + SHA-256 of the rendered artifact text."""
    return "0x" + hashlib.sha256(render_artifact(artifact).encode("utf-8")).hexdigest()


def artifact_path(target: str) -> Path:
    if target not in TARGET_ARTIFACTS:
        raise ConfigError(f"no contract artifact for EVM target {target!r}; known: {', '.join(TARGET_ARTIFACTS)}")
    return REPO_ROOT / TARGET_ARTIFACTS[target]


def load_artifact(path: Path | str | None = None, target: str | None = None) -> dict[str, Any]:
    """Read a committed artifact: ``path``, else the one for ``target``, else ``contracts/build/MediaRegistry.json``."""
    file = Path(path) if path is not None else artifact_path(target) if target else DEFAULT_ARTIFACT_PATH
    try:
        artifact: Any = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"contract artifact not found at {file}; build it with `python -m ledger.adapters.chain.compile`"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"contract artifact at {file} is not valid JSON: {exc}") from None
    missing = [k for k in _REQUIRED_KEYS if not isinstance(artifact, dict) or k not in artifact]
    if missing:
        raise ConfigError(f"contract artifact at {file} lacks {', '.join(missing)}")
    return artifact  # type: ignore[no-any-return]
