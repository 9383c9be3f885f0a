"""What the API process holds: settings, the database, the deployment it serves, and decrypted keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.chain.deployment import Deployment
from ledger.config import Settings
from ledger.eip712 import Domain
from ledger.fingerprint import Limits
from ledger.keystore import KeyRing
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
    keys: KeyRing | None = None

    def __post_init__(self) -> None:
        if self.keys is None:
            self.keys = KeyRing(self.settings.keystore_dir, self.settings.resolved_password)

    @property
    def domain(self) -> Domain:
        return Domain(self.deployment.chain_id, self.deployment.address)

    @property
    def limits(self) -> Limits:
        return Limits(self.settings.max_upload_bytes, self.settings.max_pixels)

    def publisher_key(self, address: str, keystore_file: str) -> bytes:
        assert self.keys is not None
        return self.keys.get(address, keystore_file)
