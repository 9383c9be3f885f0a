"""Response models: the public wire shapes, kept apart from ORM rows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ledger.core.content_credentials import ContentCredentials


class MediaAccepted(BaseModel):
    content_hash: str
    uid: str
    status: str
    note: str | None = None  # what readers' copies cannot be found by (registered without a reference copy)
    file_url: str | None = Field(None, description="`c2pa=true`: the signed file to publish (the one registered)")
    content_credentials: ContentCredentials | None = Field(None, description="the C2PA manifest the registered "
                                                           "file carries (null: none)")


class MediaStatus(BaseModel):
    """A publisher's receipt (``ledger.usecases.receipt``)."""

    uid: str
    content_hash: str
    publisher: str
    status: str
    pixel_hash: str
    pdq_hash: str
    manifest_hash: str
    parent: str
    chain_id: int
    contract: str
    nonce: int | None = None
    deadline: int | None = None
    signature: str | None = None
    sent_tx_hash: str | None = None
    last_error: str | None = None
    batch_root: str | None = None
    leaf_index: int | None = None
    proof: list[str] | None = None
    batch_uri: str | None = None
    batch_count: int | None = None
    batch_nonce: int | None = None  # the publisher's BatchAnchor signature the relayer sent (anchorBatchBySig)
    batch_deadline: int | None = None
    batch_signature: str | None = None
    tx_hash: str | None = None
    block_number: int | None = None
    log_index: int | None = None
    registered_at: int | None = None
    revoked_at: int | None = None
    revoke_code: int | None = None
    revoke_reason: str | None = None
    revoked_by_admin: bool | None = None
    retraction_status: str | None = None  # pending | sent | anchored, when the publisher asked to retract


class ChainInfo(BaseModel):
    chain_id: int
    contract: str
    deploy_block: int
    deploy_tx: str | None
    indexed_block: int | None
    head_block: int | None
    index_updated_at: str | None
    seconds_behind: float | None
    development_chain: bool = Field(description="true on a development chain (one the service started itself, or a "
                                    "well-known test chain id): its records prove nothing to anyone else")
    chain_warning: str | None = None
    abi: list[dict[str, Any]]


class Health(BaseModel):
    status: str
    chain_id: int
    contract: str
    indexed_block: int | None
    head_block: int | None
    seconds_behind: float | None
    pending_registrations: int


class ErrorDetail(BaseModel):
    code: str = Field(description="stable, machine-readable (ledger/errors.py)")
    message: str = Field(description="one sentence for people")


class ErrorPublic(BaseModel):
    """Every refusal, whatever the route: ``{"error": {"code", "message"}}`` (api/errors.py)."""

    error: ErrorDetail


# Declared on every operation (create_app): any 4xx and 503 carry ErrorPublic. Without it the schema promised
# FastAPI's own 422 shape ({"detail": [...]}), which this API never sends, and no other refusal at all
# (found by tests/fuzz/test_api_schema.py).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorPublic, "description": "Refused: the request, its input or its key (the code says which)"},
    503: {"model": ErrorPublic, "description": "Unavailable for now (busy, storage, chain, configuration); see Retry-After"},
}
