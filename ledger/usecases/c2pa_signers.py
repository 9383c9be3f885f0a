"""Publishers' C2PA signing certificates: install a newsroom's own (``provenance c2pa signer install``), or, for
local use, issue a TEST one from this data directory's TEST CA (``provenance c2pa test-signer``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ledger.adapters.c2pa.signers import SignerStore, check_material
from ledger.adapters.c2pa.test_ca import issue_test_signer, load_or_create_test_ca
from ledger.adapters.store.db import Database
from ledger.usecases.publishers import find_account


@dataclass(frozen=True)
class InstalledSigner:
    publisher: str
    subject: str
    directory: Path
    test_ca: Path | None = None  # the TEST CA's certificate, for a TEST signer
    created_ca: bool = False


def _publisher(db: Database, publisher: str) -> tuple[str, str, str]:
    with db.read() as session:
        account = find_account(session, publisher)
        return account.address, account.name, account.domain


def install_signer(db: Database, store: SignerStore, publisher: str, chain_pem: bytes, key_pem: bytes,
                   key_password: bytes | None = None) -> InstalledSigner:  # fmt: skip
    """Check that the chain and key belong together and install them (the key re-encrypted with the keystore
    password)."""
    address, _, _ = _publisher(db, publisher)
    material = check_material(chain_pem, key_pem, key_password)
    return InstalledSigner(address, material.subject, store.install(address, material))


def issue_test_signer_for(db: Database, store: SignerStore, ca_dir: Path, publisher: str) -> InstalledSigner:
    """A TEST signing certificate for the publisher from the TEST CA (created on first use), installed."""
    assert store.password, "the keystore password encrypts the TEST keys too"
    address, name, domain = _publisher(db, publisher)
    authority, created = load_or_create_test_ca(ca_dir, store.password)
    chain_pem, key_pem = issue_test_signer(authority, domain, name)
    material = check_material(chain_pem, key_pem)
    folder = store.install(address, material)
    return InstalledSigner(address, material.subject, folder, ca_dir / "test-ca.pem", created)
