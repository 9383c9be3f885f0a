"""The one place that opens things: database, deployment record, registry client, key ring.

The CLI, the supervisor, the workers, the API factory and the scripts all start here, so a new adapter (another
chain, a metrics exporter) is wired once. Settings that can only fail later (a missing password, a deployment
record for another chain) are checked when a part is opened, not on its first use in a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ledger.adapters.c2pa.reader import CredentialReader
from ledger.adapters.c2pa.signers import SignerMaterial, SignerStore
from ledger.adapters.chain.artifact import load_artifact
from ledger.adapters.chain.client import RegistryClient, connect
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.keystore import KeyRing
from ledger.adapters.store import repository as repo
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.config import Settings
from ledger.errors import ConfigError, PublisherHoldsKey

KeyLoader = Callable[[str], bytes]


def open_database(settings: Settings, migrate: bool = False) -> Database:
    db = Database(settings.resolved_database_url(), settings.sqlite_busy_timeout_seconds)
    if migrate:
        upgrade(db.engine)
    return db


def open_deployment(settings: Settings) -> Deployment:
    return Deployment.load(settings.deployment_file)


def rpc_url(settings: Settings, deployment: Deployment) -> str:
    """The chain the service talks to: the one named in the settings, else the one it deployed on."""
    return settings.rpc_url or deployment.rpc_url


def contract_abi() -> list[dict[str, Any]]:
    return load_artifact()["abi"]  # type: ignore[no-any-return]


def open_registry(settings: Settings, deployment: Deployment, require_node: bool = False) -> RegistryClient:
    url = rpc_url(settings, deployment)
    w3 = connect(url)
    if require_node and not w3.is_connected():
        raise ConfigError(f"the chain at {url} does not answer: is `provenance up` running?")
    return RegistryClient(w3, deployment.address, contract_abi())


def open_key_ring(settings: Settings) -> KeyRing:
    return KeyRing(settings.keystore_dir, settings.resolved_password)


def open_credential_reader(settings: Settings) -> CredentialReader:
    """The C2PA reader with the trust anchors the settings name (and the local test CA when asked for)."""
    anchors = list(settings.c2pa_trust_anchors)
    test_ca = settings.c2pa_dir / "test-ca" / "test-ca.pem"
    if settings.c2pa_trust_test_ca and test_ca.is_file():
        anchors.append(test_ca)
    try:
        return CredentialReader.from_files(anchors)
    except OSError as exc:
        raise ConfigError(f"cannot read a C2PA trust anchor file: {exc}") from None


def open_signer_store(settings: Settings) -> SignerStore:
    return SignerStore(settings.c2pa_dir / "signers", settings.resolved_password())


def c2pa_signer_loader(settings: Settings) -> Callable[[str], SignerMaterial]:
    """Publishers' C2PA signers by address, decrypted on first use and again when their files change (a newly
    installed certificate is used from the next registration on)."""
    cache: dict[str, tuple[float, SignerMaterial]] = {}

    def load(address: str) -> SignerMaterial:
        store = SignerStore(settings.c2pa_dir / "signers", None)
        key_file = store.directory / address / "key.pem"
        stamp = key_file.stat().st_mtime if key_file.is_file() else -1.0
        if address in cache and cache[address][0] == stamp:
            return cache[address][1]
        material = open_signer_store(settings).load(address) if stamp >= 0 else store.load(address)
        cache[address] = (stamp, material)
        return material

    return load


def publisher_keys(ring: KeyRing, db: Database) -> KeyLoader:
    """Publisher keys by address, from the keystore file this service holds for each (one lookup for the API and
    the anchorer). The database is read only until the key is cached."""

    def load(address: str) -> bytes:
        key = ring.cached(address)
        if key is not None:
            return key
        with db.read() as session:
            account = repo.account(session, address)
        if account is None:
            raise ConfigError(f"no keystore for publisher {address} in this service")
        if account.keystore_file is None:
            raise PublisherHoldsKey(f"{account.name} keeps its own signing key: sign registrations with `provenance "
                                    "sign` and send them to POST /v1/registrations")  # fmt: skip
        return ring.get(address, account.keystore_file)

    return load


@dataclass
class Ledger:
    """What a long-running part of the service holds: settings, database, the deployment it serves, the contract's
    ABI, and (decrypted on first use) publisher keys. Built by ``open_ledger``; tests may pass their own parts."""

    settings: Settings
    db: Database
    deployment: Deployment
    abi: list[dict[str, Any]]

    @cached_property
    def keys(self) -> KeyLoader:
        return publisher_keys(open_key_ring(self.settings), self.db)

    @cached_property
    def credentials(self) -> CredentialReader:
        return open_credential_reader(self.settings)

    @cached_property
    def c2pa_signers(self) -> Callable[[str], SignerMaterial]:
        return c2pa_signer_loader(self.settings)

    def registry(self) -> RegistryClient:
        return RegistryClient(connect(rpc_url(self.settings, self.deployment)), self.deployment.address, self.abi)

    @property
    def rpc_url(self) -> str:
        return rpc_url(self.settings, self.deployment)

    def close(self) -> None:
        self.db.dispose()


def check_settings(settings: Settings) -> None:
    """What can be known wrong at start-up is reported then, not at the first request that needs it."""
    if settings.keystore_dir.is_dir() and any(settings.keystore_dir.glob("*.json")):
        settings.resolved_password()  # publishers' keys exist: their password must be readable
    missing = [str(p) for p in settings.c2pa_trust_anchors if not p.is_file()]
    if missing:
        raise ConfigError(f"PROVENANCE_C2PA_TRUST_ANCHORS names files that do not exist: {', '.join(missing)}")


def open_ledger(settings: Settings, db: Database | None = None, deployment: Deployment | None = None) -> Ledger:
    check_settings(settings)
    return Ledger(settings, db or open_database(settings), deployment or open_deployment(settings), contract_abi())
