"""Publishers retract their own registrations; the chain keeps the record and adds when and why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import PublisherDep, PublisherRoute, StateDep
from ledger.usecases.retract import MAX_REASON, retract, retract_signed

router = APIRouter(prefix="/v1/media", tags=["publish"], route_class=PublisherRoute)  # the key before the body
signed_router = APIRouter(prefix="/v1/retractions", tags=["publish"], route_class=PublisherRoute)


class RetractionRequest(BaseModel):
    reason_code: int = Field(description="0 unspecified, 1 wrong caption, 2 manipulated, 3 rights, 4 published in error, 5 key compromised")
    reason: str = Field(max_length=MAX_REASON, description="A sentence for readers: why it was retracted.")
    successor: str | None = Field(None, description="the uid of the corrected image readers are pointed to")


class RetractionAccepted(BaseModel):
    uid: str
    status: str


@router.post("/{content_hash}/retract", status_code=202, response_model=RetractionAccepted)
async def retract_media(content_hash: str, body: RetractionRequest, state: StateDep, account: PublisherDep) -> RetractionAccepted:
    row = await run_in_threadpool(retract, state.context, account.address, content_hash, body.reason_code, body.reason,
                                  body.successor)  # fmt: skip
    return RetractionAccepted(uid=row.uid, status=row.status)


@signed_router.post("", status_code=202, response_model=RetractionAccepted)
async def retract_signed_route(
    state: StateDep,
    account: PublisherDep,
    retraction: dict[str, Any] = Body(description="the JSON `provenance retract UID` wrote: uid, reason_code, "
                                                  "reason, optional successor, chain_id, contract, nonce, deadline, "
                                                  "signature (EIP-712 Revocation)"),
) -> RetractionAccepted:
    """Queue a retraction the publisher signed itself (its key or its ERC-1271 wallet); the relayer sends it with
    `revokeBySig` as signed, in the publisher's nonce order. 202 once it is durable. Refused: 422
    `invalid_signature`, `wrong_chain_or_contract`, `signature_expired`, `unknown_record`; 403
    `not_record_publisher` (another publisher's registration); 409 `nonce_in_use`, `already_retracted`."""
    row = await run_in_threadpool(retract_signed, state.context, account.address, retraction)
    return RetractionAccepted(uid=row.uid, status=row.status)
