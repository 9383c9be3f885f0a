"""Publishers register images (Bearer API key) and read their own records back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import PublisherDep, StateDep, read_upload
from api.schemas import MediaAccepted, MediaStatus
from ledger.errors import NotFound
from ledger.core.fingerprint import probe_bytes
from ledger.core.manifest import build_manifest
from ledger.usecases.register import MatchingData, accept
from ledger.usecases.receipt import build_receipt
from ledger.core.records import record_uid
from ledger.core.types import parse_hash32

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
    keep_reference: Annotated[bool, Form(description="keep a 512 px copy to show readers what changed in edited "
                                                     "copies (false: only hashes are kept)")] = True,
) -> MediaAccepted:
    data = await read_upload(file, state.settings.max_upload_bytes)
    probe = await run_in_threadpool(probe_bytes, data, state.limits)
    fingerprint = probe.fingerprint
    matching = await run_in_threadpool(MatchingData.from_probe, probe, keep_reference)
    manifest = build_manifest(account.address, fingerprint, caption, credit, published_url, taken_at)
    key = await run_in_threadpool(state.keys, account.address)
    accepted = await run_in_threadpool(
        accept, state.db, state.domain, account.address, key, fingerprint, manifest,
        state.settings.signature_validity_seconds, matching,
    )  # fmt: skip
    return MediaAccepted(content_hash=accepted.content_hash, uid=accepted.uid, status=accepted.status)


@router.get("/{content_hash}", response_model=MediaStatus)
def media_status(content_hash: str, state: StateDep, account: PublisherDep) -> MediaStatus:
    """The caller's receipt for this image: what was signed and where the chain anchors it (``provenance audit
    receipt`` checks it against the chain)."""
    content_hash = parse_hash32(content_hash, "content hash")
    uid = record_uid(account.address, content_hash)
    with state.db.read() as session:
        receipt = build_receipt(session, uid, state.deployment.chain_id, state.deployment.address)
    if receipt is None:
        raise NotFound(f"this publisher has no registration of {content_hash}")
    return MediaStatus(**receipt)
