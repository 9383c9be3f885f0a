"""An ext4 filesystem in a file, loop-mounted with ``errors=remount-ro`` (needs root and a loop device), for the
fault of a data directory that turns read-only under a running service.

``trigger_error`` writes to ext4's ``trigger_fs_error`` (sysfs): the kernel records a filesystem error as it does
for a failing disk (an I/O error on metadata, a corrupt block), aborts the journal and remounts the filesystem
read-only. Files already open for writing then get EROFS, as does creating one; nothing the journal had not
committed reaches the disk, so the filesystem afterwards is what the last journal commit (at most ``commit=5`` s
earlier) or an explicit fsync left. This is the production fault, not a mock: the kernel cannot be asked to make a
filesystem read-only while files on it are open for writing any other way (``mount -o remount,ro`` says "busy").

Recovery is an operator's: every process closes its files, the filesystem is unmounted, checked (``e2fsck -fy``)
and mounted again read-write."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def unavailable_reason() -> str | None:
    """Why this machine cannot run the fault (None: it can)."""
    if os.geteuid() != 0:
        return "mounting a loop device needs root (CI and the development machines run as root)"
    if not Path("/dev/loop-control").exists():
        return "no loop device here (/dev/loop-control missing)"
    missing = [tool for tool in ("losetup", "mkfs.ext4", "e2fsck", "findmnt") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed (Debian: e2fsprogs, util-linux, mount)"
    if subprocess.run(["losetup", "-f"], capture_output=True).returncode != 0:
        return "no free loop device here (losetup -f failed)"
    if not Path("/sys/fs/ext4").is_dir():
        return "no ext4 in this kernel (/sys/fs/ext4 missing)"
    return None


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


class LoopExt4:
    """The image file and where it is mounted."""

    def __init__(self, image: Path, mount: Path) -> None:
        self.image = image
        self.mount = mount

    def attach(self) -> None:
        _run("mount", "-o", "loop,errors=remount-ro", str(self.image), str(self.mount))

    def device(self) -> str:
        """The loop device's name (``loop3``), as ext4's sysfs directory is named."""
        return Path(_run("findmnt", "-n", "-o", "SOURCE", "--mountpoint", str(self.mount)).stdout.strip()).name

    def options(self) -> list[str]:
        found = _run("findmnt", "-n", "-o", "OPTIONS", "--mountpoint", str(self.mount), check=False).stdout.strip()
        return found.split(",") if found else []

    def read_only(self) -> bool:
        # After an error ext4 marks itself ``emergency_ro`` (Linux 6.x): the mount still says "rw", writes get EROFS.
        return bool({"ro", "emergency_ro"} & set(self.options()))

    def trigger_error(self) -> None:
        Path(f"/sys/fs/ext4/{self.device()}/trigger_fs_error").write_text("test fault\n")

    def detach(self, timeout: float = 10.0) -> None:
        """Unmount (waiting for the last process to close its files) and free the loop device."""
        deadline = time.monotonic() + timeout
        while self.options():
            if _run("umount", str(self.mount), check=False).returncode == 0:
                break
            if time.monotonic() > deadline:  # still busy: detach it from the tree so teardown can go on
                _run("umount", "-l", str(self.mount), check=False)
                break
            time.sleep(0.2)
        for line in _run("losetup", "-j", str(self.image), check=False).stdout.splitlines():
            _run("losetup", "-d", line.split(":", 1)[0], check=False)

    def repair(self) -> str:
        """What an operator does once nothing holds a file on it: unmount, ``e2fsck -fy``, mount read-write again.
        Returns e2fsck's report."""
        self.detach()
        checked = _run("e2fsck", "-fy", str(self.image), check=False)
        # 0: clean, 1: errors corrected, 2: corrected, reboot advised (for a mounted root); more is a failure.
        assert checked.returncode in (0, 1, 2), checked.stdout + checked.stderr
        self.attach()
        return checked.stdout


@contextmanager
def loop_ext4(size_mb: int, under: Path) -> Iterator[LoopExt4]:
    """A fresh ext4 of ``size_mb`` in a file under ``under``, mounted in a new directory beside it; unmounted,
    its loop device freed and the directory removed afterwards, whatever happened."""
    image = under / "data.img"
    with image.open("wb") as out:
        out.truncate(size_mb * 2**20)
    _run("mkfs.ext4", "-q", "-F", str(image))
    disk = LoopExt4(image, Path(tempfile.mkdtemp(prefix="ledger-ext4-", dir=under)))
    try:
        disk.attach()
        yield disk
    finally:
        disk.detach()
        disk.mount.rmdir()
        image.unlink(missing_ok=True)
