"""What the API process holds: the opened ledger (settings, database, deployment, ABI, publisher keys), the
match index it keeps in step with the mirror, the hot answers of verify by hash, and the decoding gate."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ledger.adapters.index_feed import IndexFeed
from ledger.config import is_development_chain
from ledger.core.eip712 import Domain
from ledger.core.fingerprint import Limits
from ledger.runtime.wiring import Ledger
from ledger.usecases.context import Context
from ledger.usecases.hash_answers import HashAnswers


@dataclass
class AppState(Ledger):
    matcher: IndexFeed | None = None  # the match index kept in step with the mirror, started with the app
    decodes: Any = None  # api.deps.DecodeGate: bounds concurrent decoding (verify uploads and registrations)
    hash_answers: HashAnswers | None = None  # verify by hash from the hot index (kept per mirror generation)

    @property
    def domain(self) -> Domain:
        return Domain(self.deployment.chain_id, self.deployment.address)

    @property
    def limits(self) -> Limits:
        return Limits(self.settings.max_upload_bytes, self.settings.max_pixels)

    @property
    def context(self) -> Context:
        return Context(self.db, self.deployment.chain_id, self.deployment.address, self.limits, self.keys,
                       self.settings.signature_validity_seconds, self.matcher, self.contract_signature,
                       is_development_chain(self.deployment.chain_id, self.deployment.started_node),
                       self.credentials, self.c2pa_signers, self.settings.base_url)  # fmt: skip

    def contract_signature(self, wallet: str, digest: str, signature: str) -> bool:
        """ERC-1271 on chain, for newsrooms publishing from a contract wallet (one call, only when the signature is
        not an EOA's)."""
        return self.registry().accepts_signature(wallet, digest, signature)

    @property
    def verify_context(self) -> Context:
        """For readers' uploads: the lower pixel cap ``verify_max_pixels`` (see ``ledger.config.Settings``)."""
        pixels = min(self.settings.verify_max_pixels, self.settings.max_pixels)
        return replace(self.context, limits=Limits(self.settings.max_upload_bytes, pixels))
