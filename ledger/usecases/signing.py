"""``provenance sign``: the newsroom signs its registrations offline with its own key (custody ``publisher``).

Per image: fingerprints (as the service computes them), the manifest, and the EIP-712 signature with consecutive
nonces from ``nonce`` and one deadline, written as ``NAME.signed.json`` for ``POST /v1/registrations``. No network,
no database: the chain id, contract and starting nonce are given (``GET /v1/chain``; the contract's
``nonces(publisher)``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from eth_account import Account

from ledger.core.eip712 import Domain
from ledger.core.fingerprint import Limits, registration_probe
from ledger.core.manifest import build_manifest
from ledger.core.signed import sign_bundle
from ledger.core.types import ZERO_HASH, parse_hash32
from ledger.usecases.publishers import parse_address


def sign_files(files: list[Path], signer_key: bytes, chain_id: int, contract: str, nonce: int, caption: str,
               credit: str, published_url: str | None, taken_at: str | None, publisher: str | None,
               validity_seconds: int, out_dir: Path | None, parent: str | None = None) -> list[tuple[Path, Path]]:  # fmt: skip
    """Sign each file; returns (image, signed JSON) pairs. The key stays in this process."""
    owner = Account.from_key(signer_key).address
    publisher = parse_address(publisher) if publisher else owner
    domain = Domain(chain_id, parse_address(contract))
    deadline = int(time.time()) + validity_seconds
    written = []
    for offset, path in enumerate(files):
        fingerprint = registration_probe(path.read_bytes(), Limits()).fingerprint
        manifest = build_manifest(publisher, fingerprint, caption, credit, published_url, taken_at,
                                  parse_hash32(parent, "parent") if parent else ZERO_HASH)  # fmt: skip
        bundle = sign_bundle(signer_key, domain, publisher, manifest, nonce + offset, deadline)
        target = (out_dir or path.parent) / f"{path.name}.signed.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"file": path.name, **bundle.as_json()}, indent=1) + "\n")
        written.append((path, target))
    return written
