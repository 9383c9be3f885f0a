"""Issue 14: a SQLite commit whose ``fsync`` returned while ext4 was aborting its journal is not known to be on disk
(ledger/adapters/store/db.py, ``FilesystemWitness``): such a write is answered as not kept (``StorageUnavailable``,
503 ``storage_unavailable`` for an upload), never as done.

The kernel's window (between the journal's abort and the filesystem refusing writes) cannot be hit on demand; the
whole fault, with its one loss in ten runs before this check, is tests/faults/test_read_only_running.py. Here the
witness's own step (creating a file beside the database) is made to fail as it does in that window (EROFS), on a
real SQLite file; and the witness is run on a real filesystem the test makes read-only."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.adapters.store import db as db_module
from ledger.adapters.store.db import Database, FilesystemWitness
from ledger.adapters.store.migrate import upgrade
from ledger.adapters.store.models import ManifestRow
from ledger.errors import StorageUnavailable
from tests.faults.scenarios import small_tmpfs
from tests.faults.test_read_only import remount


def _count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(ManifestRow)) or 0)


def _fail_witness_with(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    real_open = os.open

    def failing_open(path: Any, flags: int, *args: Any) -> int:
        if ".witness-" in str(path):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(db_module.os, "open", failing_open)


def test_a_commit_on_a_filesystem_that_stopped_journaling_is_not_called_done(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    db = Database(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    upgrade(db.engine)
    with db.write() as session:
        session.add(ManifestRow(manifest_hash="0x" + "01" * 32, body="{}"))
    assert _count(db) == 1 and not list(tmp_path.glob(".*witness*"))  # checked, and nothing left behind

    _fail_witness_with(monkeypatch, errno.EROFS)
    with pytest.raises(StorageUnavailable, match="filesystem failed as this was written .*may not have been kept"):
        with db.write() as session:
            session.add(ManifestRow(manifest_hash="0x" + "02" * 32, body="{}"))
    assert _count(db) == 2  # committed, as far as SQLite knows: "may not have been kept", not "nothing was kept"

    _fail_witness_with(monkeypatch, errno.ENOSPC)  # a full disk refuses new data, not what was committed
    with db.write() as session:
        session.add(ManifestRow(manifest_hash="0x" + "03" * 32, body="{}"))
    assert _count(db) == 3
    db.dispose()


def test_no_witness_for_a_database_server_or_sqlite_in_memory() -> None:
    assert db_module._witness_for("postgresql+psycopg://u@localhost/db") is None
    assert db_module._witness_for("sqlite://") is None
    assert db_module._witness_for("sqlite:///:memory:") is None
    witness = db_module._witness_for("sqlite:////var/lib/ledger/ledger.sqlite3?timeout=5")
    assert witness is not None and witness.directory == Path("/var/lib/ledger")


def test_the_witness_sees_a_read_only_filesystem(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI and the development machines run as root)")
    with small_tmpfs(1, tmp_path) as mount:
        witness = FilesystemWitness(mount / "ledger.sqlite3")
        assert witness.failure() is None
        remount(mount, "ro")
        assert witness.failure() is not None
