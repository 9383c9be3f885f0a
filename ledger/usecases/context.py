"""What every use case needs from the running service, passed in (never built here): the database, the contract
the answers name, decoding limits, and (for publishers' paths) how to reach a publisher's key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger.adapters.c2pa.reader import NO_TRUST, CredentialReader
from ledger.adapters.c2pa.signers import SignerMaterial
from ledger.adapters.index_feed import IndexFeed
from ledger.adapters.store.db import Database
from ledger.core.eip712 import Domain
from ledger.core.fingerprint import Limits


@dataclass(frozen=True)
class Context:
    db: Database
    chain_id: int
    contract: str
    limits: Limits = Limits()
    keys: Callable[[str], bytes] | None = None  # publisher address -> signing key (register)
    signature_validity_seconds: int = 30 * 24 * 3600
    index: IndexFeed | None = None  # the perceptual match index (verify uploads); None: exact and pixel lookups only
    # (wallet, digest, signature) -> does the contract wallet accept it (ERC-1271, on chain); None: EOAs only
    contract_signature: Callable[[str, str, str], bool] | None = None
    development_chain: bool = False  # labelled in every verify answer (ledger.config.is_development_chain)
    credentials: CredentialReader = NO_TRUST  # reads C2PA manifests; its trust anchors come from the settings
    c2pa_signers: Callable[[str], SignerMaterial] | None = None  # publisher address -> C2PA certificate and key
    ledger_url: str | None = None  # where readers reach this API (named in the manifests signed here)
    # publisher -> the contract's nonces(publisher) now; None: not checked before queueing (the anchorer still is)
    chain_nonce: Callable[[str], int] | None = None

    @property
    def domain(self) -> Domain:
        return Domain(self.chain_id, self.contract)
