"""Files that must survive the machine or its filesystem failing right after they were written: the deployment
record, publishers' keystore files, the copy of the chain's last whole state.

Closing a file does not put it on disk: ext4 allocates its blocks up to 30 s later, and a filesystem that fails
before (an I/O error remounts it read-only and aborts its journal, ``errors=remount-ro``; a power cut) comes back
with the file empty or missing. Seen in ``tests/faults/test_read_only_running.py``: ``deployment.json``, the
keystore password and a publisher's key all zero bytes long after ``e2fsck``. So these writes are flushed
(``fsync``) with the directory entry that names them before the caller says they are done."""

from __future__ import annotations

import os
from pathlib import Path


def sync_directory(directory: Path) -> None:
    """Flush a directory's entries (a file created or renamed in it)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create ``path`` (it must not exist) with ``data``, on disk when this returns."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    sync_directory(path.parent)


def replace(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` as one step: a temporary file beside it, flushed, renamed over it. A failure
    (full or read-only disk) leaves the previous file whole and raises ``OSError``."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:  # read-only: nothing could be left behind either
            pass
        raise
    sync_directory(path.parent)
