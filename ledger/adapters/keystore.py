"""Publisher signing keys in encrypted keystore files (Web3 Secret Storage, scrypt), one per publisher.

Keys never leave this module in clear except as the return value of ``load_key``; nothing here logs them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from eth_account import Account

from ledger.adapters.durable import write_new
from ledger.config import PASSWORD_FILE_NAME, Settings
from ledger.errors import ConfigError


def ensure_password_file(settings: Settings) -> Path | None:
    """For local use: create ``<data-dir>/keystore-password`` (mode 600) when no password is configured. Written
    durably (``durable.write_new``): on disk before any key is encrypted with it."""
    if settings.keystore_password is not None or settings.keystore_password_file is not None:
        return None
    path = settings.data_path / PASSWORD_FILE_NAME
    if path.exists():
        return path
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    write_new(path, (secrets.token_urlsafe(32) + "\n").encode())
    return path


def create_key(directory: Path, password: str) -> tuple[str, str]:
    """Create a new key, write it encrypted, return (checksummed address, file name)."""
    account = Account.create()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{account.address}.json"
    keystore = Account.encrypt(account.key, password)
    # On disk before its address is handed out: a key lost with the filesystem would orphan the publisher's account.
    write_new(directory / name, json.dumps(keystore).encode())
    return account.address, name


def load_key(directory: Path, name: str, password: str) -> bytes:
    path = directory / name
    try:
        keystore = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"keystore file {path} is missing") from exc
    try:
        return bytes(Account.decrypt(keystore, password))
    except ValueError as exc:
        raise ConfigError(f"cannot decrypt {path}: wrong keystore password?") from exc


def decrypt_keystore(path: Path, password: str) -> bytes:
    """A newsroom's own keystore file (``provenance sign``): the key, decrypted in memory only."""
    return load_key(path.parent, path.name, password)


class KeyRing:
    """Publisher keys decrypted on first use (scrypt takes about a second, on purpose) and kept in memory."""

    def __init__(self, directory: Path, password: Callable[[], str]):
        self.directory = directory
        self._password = password
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def cached(self, address: str) -> bytes | None:
        with self._lock:
            return self._keys.get(address)

    def get(self, address: str, keystore_file: str) -> bytes:
        with self._lock:
            if address not in self._keys:
                self._keys[address] = load_key(self.directory, keystore_file, self._password())
            return self._keys[address]
