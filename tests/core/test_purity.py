"""Import rules that keep the layers of docs/architecture.md honest.

- The pure core (``ledger/core``) imports no I/O framework, directly or through another ledger module, and no
  ledger module outside the core but ``ledger.errors``.
- SQLAlchemy lives in the store (``ledger/adapters/store``) and the mirror (``ledger/adapters/indexer/mirror.py``);
  web3 in the chain adapters, the indexer's scanner and the independent audit decoder; FastAPI (and Starlette)
  only in ``api/``; nothing in ``ledger/`` imports ``api``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IO_FRAMEWORKS = ("web3", "sqlalchemy", "fastapi", "starlette", "httpx", "requests", "alembic", "uvicorn")

# package or module prefix (a path under the repository) -> where it may be imported
ALLOWED = {
    "sqlalchemy": ("ledger/adapters/store/", "ledger/adapters/indexer/mirror.py"),
    "alembic": ("ledger/adapters/store/",),
    "web3": ("ledger/adapters/chain/", "ledger/adapters/indexer/scanner.py", "ledger/adapters/audit.py"),
    "fastapi": ("api/",),
    "starlette": ("api/",),
    "api": ("api/",),
}


def python_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "ledger")
    return found


def module_path(name: str) -> Path | None:
    base = ROOT / name.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def test_pure_core_imports_no_io_framework_directly_or_through_ledger_modules() -> None:
    core = python_files("ledger/core")
    assert len(core) > 10
    todo, seen = list(core), set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        relative = path.relative_to(ROOT).as_posix()
        for name in imports_of(path):
            assert name.split(".")[0] not in IO_FRAMEWORKS, f"{relative} imports {name}"
            if name.startswith("ledger."):
                assert name.startswith("ledger.core") or name == "ledger.errors", f"pure {relative} imports {name}"
                target = module_path(name)
                if target is not None:
                    todo.append(target)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_io_libraries_are_imported_only_where_the_layout_says(package: str) -> None:
    offenders = []
    for path in python_files("ledger") + python_files("api"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(ALLOWED[package]):
            continue
        if any(name == package or name.startswith(package + ".") for name in imports_of(path)):
            offenders.append(relative)
    assert offenders == [], f"{package} imported outside {ALLOWED[package]}: {offenders}"
