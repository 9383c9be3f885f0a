"""What the API process holds: settings, the database, the deployment it serves, and decrypted keys."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ledger.chain.deployment import Deployment
from ledger.config import Settings
from ledger.eip712 import Domain
from ledger.fingerprint import Limits
from ledger.keystore import load_key
from ledger.store.db import Database
from ledger.verification import MatchService


@dataclass
class AppState:
    settings: Settings
    db: Database
    deployment: Deployment
    abi: list[dict[str, Any]]
    matcher: MatchService | None = None  # the PDQ match index (issue 4), started with the app
    heatmaps: Any = None  # api.routers.verify.HeatmapCache: change heatmaps of recent `edited` answers
    _keys: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def domain(self) -> Domain:
        return Domain(self.deployment.chain_id, self.deployment.address)

    @property
    def limits(self) -> Limits:
        return Limits(self.settings.max_upload_bytes, self.settings.max_pixels)

    def publisher_key(self, address: str, keystore_file: str) -> bytes:
        """Decrypt once per process (scrypt takes about a second), then keep in memory."""
        with self._lock:
            if address not in self._keys:
                password = self.settings.resolved_password()
                self._keys[address] = load_key(self.settings.keystore_dir, keystore_file, password)
            return self._keys[address]
