"""Publishers register images (Bearer API key) and read their own records back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import PublisherDep, StateDep, read_upload
from api.schemas import MediaAccepted, MediaStatus
from ledger.errors import NotFound
from ledger.fingerprint import fingerprint_bytes
from ledger.manifest import build_manifest
from ledger.publishing import accept
from ledger.records import record_uid
from ledger.store import repository as repo
from ledger.types import parse_hash32

router = APIRouter(prefix="/v1/media", tags=["publish"])


@router.post("", status_code=202, response_model=MediaAccepted)
async def register_media(
    state: StateDep,
    account: PublisherDep,
    file: Annotated[UploadFile, File(description="the image as published")],
    caption: Annotated[str, Form(max_length=2000)],
    credit: Annotated[str, Form(max_length=2000)],
    published_url: Annotated[str | None, Form(max_length=2000)] = None,
    taken_at: Annotated[str | None, Form(max_length=64)] = None,
) -> MediaAccepted:
    data = await read_upload(file, state.settings.max_upload_bytes)
    fingerprint = await run_in_threadpool(fingerprint_bytes, data, state.limits)
    manifest = build_manifest(account.address, fingerprint, caption, credit, published_url, taken_at)
    key = await run_in_threadpool(state.publisher_key, account.address, account.keystore_file)
    accepted = await run_in_threadpool(
        accept, state.db, state.domain, account.address, key, fingerprint, manifest,
        state.settings.signature_validity_seconds,
    )  # fmt: skip
    return MediaAccepted(content_hash=accepted.content_hash, uid=accepted.uid, status=accepted.status)


@router.get("/{content_hash}", response_model=MediaStatus)
def media_status(content_hash: str, state: StateDep, account: PublisherDep) -> MediaStatus:
    content_hash = parse_hash32(content_hash, "content hash")
    uid = record_uid(account.address, content_hash)
    with state.db.read() as session:
        submission = repo.submission(session, uid)
        record = repo.record(session, uid)
        if submission is None and record is None:
            raise NotFound(f"this publisher has no registration of {content_hash}")
        status = MediaStatus(
            content_hash=content_hash,
            uid=uid,
            status=submission.status if submission else repo.ANCHORED,
            nonce=submission.nonce if submission else None,
            deadline=submission.deadline if submission else None,
            signature=submission.signature if submission else None,
            manifest_hash=submission.manifest_hash if submission else record.manifest_hash,  # type: ignore[union-attr]
            sent_tx_hash=submission.tx_hash if submission else None,
            last_error=submission.last_error if submission else None,
        )
        if record is not None:
            status.status = repo.ANCHORED
            status.chain_id = state.deployment.chain_id
            status.contract = state.deployment.address
            status.tx_hash = record.tx_hash
            status.block_number = record.block_number
            status.log_index = record.log_index
            status.registered_at = record.registered_at
    return status
