"""Publishers retract their own registrations; the chain keeps the record and adds when and why."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import PublisherDep, PublisherRoute, StateDep
from ledger.usecases.retract import MAX_REASON, retract

router = APIRouter(prefix="/v1/media", tags=["publish"], route_class=PublisherRoute)  # the key before the body


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
