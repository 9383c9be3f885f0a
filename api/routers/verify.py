"""Readers verify an image (upload) or a SHA-256 (path). Reads only the mirror, never the chain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import StateDep, read_upload
from ledger.fingerprint import fingerprint_bytes
from ledger.types import parse_hash32
from ledger.verification import verify

router = APIRouter(prefix="/v1/verify", tags=["verify"])


@router.post("")
async def verify_upload(state: StateDep, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    data = await read_upload(file, state.settings.max_upload_bytes)
    fingerprint = await run_in_threadpool(fingerprint_bytes, data, state.limits)
    deployment = state.deployment
    return await run_in_threadpool(verify, state.db, deployment.chain_id, deployment.address, fingerprint.sha256, fingerprint)


@router.get("/{sha256}")
def verify_hash(sha256: str, state: StateDep) -> dict[str, Any]:
    content_hash = parse_hash32(sha256, "sha256")
    return verify(state.db, state.deployment.chain_id, state.deployment.address, content_hash, None)
