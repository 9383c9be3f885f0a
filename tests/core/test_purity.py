"""The pure core stays free of I/O frameworks: no web3, SQLAlchemy, FastAPI or HTTP clients, directly or
through another ledger module it imports (DESIGN.md, "Parts and where they live")."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PURE = ["types", "errors", "fingerprint", "manifest", "eip712", "records", "merkle", "matching", "compare",
        "perceptual", "reference", "verdict"]  # fmt: skip
FORBIDDEN = ("web3", "sqlalchemy", "fastapi", "starlette", "httpx", "requests", "alembic", "uvicorn")


def imports_of(module: str) -> set[str]:
    tree = ast.parse((ROOT / "ledger" / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_pure_core_imports_no_io_framework() -> None:
    seen: set[str] = set()
    todo = list(PURE)
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in imports_of(module):
            assert not name.split(".")[0] in FORBIDDEN, f"ledger/{module}.py imports {name}"
            if name.startswith("ledger."):
                inner = name.split(".")[1]
                assert inner in PURE, f"pure ledger/{module}.py imports the adapter ledger.{inner}"
                todo.append(inner)
    assert seen >= set(PURE)
