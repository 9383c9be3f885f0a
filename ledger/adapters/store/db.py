"""Engines and sessions. SQLite runs in WAL mode with a busy timeout because the API, the indexer and the
anchorer are separate processes writing one file; write transactions start with BEGIN IMMEDIATE so two
writers queue on the busy timeout instead of failing on a lock upgrade.

A SQLite write is also checked after its commit (``FilesystemWitness``): ext4 failing under the service (an I/O
error, ``errors=remount-ro``) aborts its journal first and refuses writes a moment later, and an ``fsync`` in
between can return success for data that never reaches the disk. Measured with
``tests/faults/test_read_only_running.py``'s fault (2026-12-02, Linux 6.18): in 1 of 15 runs of scratch ro_diag.py
a registration answered 202 while the kernel was handling the error (within the 45 ms its trigger took) was missing
from the database and from its WAL after ``e2fsck``, and 1 of 10 runs of the test lost one so. A transaction whose
commit returned while the journal was already aborted is not known to be kept, so it is answered as not kept."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ledger.errors import StorageUnavailable

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0  # the default of Settings.sqlite_busy_timeout_seconds


def make_engine(url: str, busy_timeout_seconds: float = SQLITE_BUSY_TIMEOUT_SECONDS) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds})
        _configure_sqlite(engine, round(busy_timeout_seconds * 1000))
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, say when a transaction begins (SQLAlchemy's pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        # FULL: each commit is flushed to disk (fsync of the WAL) before it returns, so a 202 means the
        # registration survives the machine or its filesystem failing (an ext4 error remounts it read-only and drops
        # whatever was not flushed: with NORMAL 5 of 6 accepted registrations were gone after e2fsck,
        # tests/faults/test_read_only_running.py). NORMAL is durable only against the process dying.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


class FilesystemWitness:
    """Whether the filesystem holding a SQLite database still journals: an empty file created and removed beside
    the database after each commit. Creating a file starts a journal handle, which ext4 refuses (EROFS, or EIO)
    once its journal is aborted, so a commit whose ``fsync`` may have been answered by an aborted journal is
    caught; a file's times would not be (ext4 drops the error of dirtying an inode). A full disk is no failure
    here: it refuses new data, not what was committed. ~50 us of CPU a write (ext4)."""

    FAILED = (errno.EROFS, errno.EIO)

    def __init__(self, database: Path) -> None:
        self.directory = database.parent
        self.prefix = f".{database.name}.witness"

    def failure(self) -> str | None:
        """Why the filesystem cannot be trusted with the commit just made; None when it can."""
        path = self.directory / f"{self.prefix}-{os.getpid()}-{threading.get_ident()}"
        try:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # left by a process that died between the two steps
                path.unlink()
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            path.unlink()
        except OSError as exc:
            if exc.errno in self.FAILED:
                return exc.strerror or os.strerror(exc.errno)
        return None


def _witness_for(url: str) -> FilesystemWitness | None:
    if not url.startswith("sqlite") or "///" not in url:
        return None  # a server's database (its durability is the server's), or SQLite in memory
    path = url.split("///", 1)[1].split("?", 1)[0]
    return FilesystemWitness(Path(path)) if path and path != ":memory:" else None


def _reason(exc: OperationalError) -> str:
    return " ".join(str(exc.orig).split())[:200] if exc.orig is not None else "unavailable"


class Database:
    """One engine and its session factories; built once per process and handed to services."""

    def __init__(self, url: str, busy_timeout_seconds: float = SQLITE_BUSY_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.engine = make_engine(url, busy_timeout_seconds)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        reader = self.engine.execution_options(sqlite_begin="DEFERRED") if self.is_sqlite else self.engine
        self._readers = sessionmaker(reader, expire_on_commit=False)
        self._witness = _witness_for(url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error. A database that cannot take the
        write (disk full, read-only, locked past the busy timeout, the server gone) is ``StorageUnavailable``: the
        caller was told nothing was kept, and may try again (an API request gets 503, not 500)."""
        try:
            with self._sessions() as session, session.begin():
                yield session
        except OperationalError as exc:
            raise StorageUnavailable(f"the database cannot take writes now ({_reason(exc)}); nothing was kept, "
                                     "try again shortly") from exc  # fmt: skip
        failure = self._witness.failure() if self._witness is not None else None
        if failure is not None:
            raise StorageUnavailable(f"the database's filesystem failed as this was written ({failure}); it may not "
                                     "have been kept, try again shortly")  # fmt: skip

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction. A database that cannot be opened or read (a read-only data directory whose
        SQLite file in WAL mode cannot get its shared-memory file, the server gone) is ``StorageUnavailable`` too:
        a reader gets 503 and tries again, not a 500."""
        try:
            with self._readers() as session, session.begin():
                yield session
        except OperationalError as exc:
            raise StorageUnavailable(f"the database cannot be read now ({_reason(exc)}); try again shortly") from exc

    def dispose(self) -> None:
        self.engine.dispose()
