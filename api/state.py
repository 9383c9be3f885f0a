"""What the API process holds: the opened ledger (settings, database, deployment, ABI, publisher keys), the
match index it keeps in step with the mirror, the hot answers of verify by hash and of uploads of registered files,
and the decoding gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from ledger.adapters.chain.client import RETRYABLE, RegistryClient
from ledger.adapters.index_feed import IndexFeed
from ledger.config import is_development_chain
from ledger.core.eip712 import Domain
from ledger.core.fingerprint import Limits
from ledger.errors import ChainError
from ledger.runtime.wiring import Ledger
from ledger.usecases.context import Context
from ledger.usecases.hash_answers import HashAnswers
from ledger.usecases.upload_answers import RegisteredUploads

T = TypeVar("T")


@dataclass
class AppState(Ledger):
    matcher: IndexFeed | None = None  # the match index kept in step with the mirror, started with the app
    decodes: Any = None  # api.deps.DecodeGate: bounds concurrent decoding (verify uploads and registrations)
    hash_answers: HashAnswers | None = None  # verify by hash from the hot index (kept per mirror generation)
    upload_answers: RegisteredUploads | None = None  # verify uploads of registered files (kept the same way)
    # content hash -> set when the database read of its answer ends (api.routers.verify.computed_once; event loop only)
    hash_reads: dict[str, Any] = field(default_factory=dict)

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
                       self.credentials, self.c2pa_signers, self.settings.base_url, self.chain_nonce)  # fmt: skip

    def contract_signature(self, wallet: str, digest: str, signature: str) -> bool:
        """ERC-1271 on chain, for newsrooms publishing from a contract wallet (one call, only when the signature is
        not an EOA's)."""
        return self._ask_chain("ask the publisher's wallet (ERC-1271)",
                               lambda registry: registry.accepts_signature(wallet, digest, signature))  # fmt: skip

    def chain_nonce(self, publisher: str) -> int:
        """The contract's ``nonces(publisher)``: a newsroom's signature with a lower nonce can never go on chain."""
        return self._ask_chain("read the publisher's nonce on chain", lambda registry: registry.nonce(publisher))

    def _ask_chain(self, what: str, call: Callable[[RegistryClient], T]) -> T:
        """One read of the chain for a request: a node that does not answer is a 503, never a 500."""
        try:
            return call(self.registry())
        except ChainError:
            raise
        except RETRYABLE as exc:
            raise ChainError(f"cannot {what}: the chain node did not answer ({type(exc).__name__}); try again "
                             "shortly") from None  # fmt: skip

    @property
    def verify_context(self) -> Context:
        """For readers' uploads: the lower pixel cap ``verify_max_pixels`` (see ``ledger.config.Settings``)."""
        pixels = min(self.settings.verify_max_pixels, self.settings.max_pixels)
        return replace(self.context, limits=Limits(self.settings.max_upload_bytes, pixels))
