"""Several registrations in one request, each accepted or refused on its own (``ledger.usecases.batch_registration``).

The body is bounded as a whole (``registration_batch_max_bytes``, counted as it arrives by ``api/limits.py``), each
file by ``max_upload_bytes``, and the items by ``registration_batch_max_items``. Items are decoded one at a time,
each through the decoding gate like any upload (``api.registering``: the slot is held while the item is decoded,
not while it is written), so a batch never holds more than one decoding slot; an item that finds the gate full is
refused with ``busy`` and its ``retry_after`` (send it again), the others go on.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from api.deps import PublisherDep, PublisherRoute, StateDep, read_upload
from api.errors import public_message, status_for
from api.registering import registration, signed_registration
from api.schemas import MediaStatus
from ledger.errors import LedgerError, LedgerValueError
from ledger.usecases.batch_registration import BatchItem, ItemResult, accepted_result, parse_items
from ledger.usecases.receipt import MAX_RECEIPTS, receipts

router = APIRouter(prefix="/v1/media", tags=["publish"], route_class=PublisherRoute)  # the key before the body

ITEMS_MAX_CHARS = 4 * 1024 * 1024  # the items field: 1.5 KB a signed item, far less an unsigned one


class ReceiptsRequest(BaseModel):
    content_hashes: list[str] = Field(max_length=MAX_RECEIPTS, description="SHA-256 of each file, 0x hex")


class Receipts(BaseModel):
    receipts: list[MediaStatus | None]  # in the order asked; null where this publisher registered no such file


class BatchAccepted(BaseModel):
    accepted: int
    refused: int
    results: list[ItemResult]  # the use case's own record, one shape for the code and the answer


@router.post("/batch", response_model=BatchAccepted, openapi_extra={
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["items"],
        "properties": {"items": {"type": "string", "description": "JSON list of items (docs/api.md)"}},
        "additionalProperties": {"type": "string", "format": "binary"}}}}}})  # fmt: skip
async def register_batch(request: Request, state: StateDep, account: PublisherDep) -> BatchAccepted:
    """Register several images in one request: a multipart body with `items` (a JSON list) and the files the items
    name. 200 with one result per item, in order; an accepted item is durable, as after `POST /v1/media`'s 202."""
    settings = state.settings
    max_items = settings.registration_batch_max_items
    async with request.form(max_files=max_items, max_fields=max_items + 1, max_part_size=ITEMS_MAX_CHARS) as form:
        parts = form.multi_items()
        texts = [(name, value) for name, value in parts if not isinstance(value, UploadFile)]
        files = {name: value for name, value in parts if isinstance(value, UploadFile)}
        if [name for name, _ in texts] != ["items"]:
            raise LedgerValueError("the request has one text field, `items` (a JSON list of items; item fields "
                                   "belong there), and the files as parts (docs/api.md)")  # fmt: skip
        if len(files) != len(parts) - 1:
            raise LedgerValueError("each file part needs a name of its own")
        raw = str(texts[0][1])
        items = parse_items(raw, files, max_items)
        results = [item if isinstance(item, ItemResult) else await _register(state, account.address, item, files)
                   for item in items]  # fmt: skip
    accepted = sum(1 for r in results if r.result == "accepted")
    return BatchAccepted(accepted=accepted, refused=len(results) - accepted,
                         results=results)  # fmt: skip


async def _register(state: Any, publisher: str, item: BatchItem, files: dict[str, UploadFile]) -> ItemResult:
    try:
        data = await read_upload(files[item.file], state.settings.max_upload_bytes) if item.file else None
        if item.signed is not None:  # as POST /v1/registrations would
            accepted = await signed_registration(state, publisher, item.signed, data, item.keep_reference)
        else:  # as POST /v1/media would
            assert item.request is not None and data is not None
            accepted = await registration(state, publisher, data, item.request)
    except LedgerError as exc:
        return ItemResult(item.index, item.file, "refused", error_code=exc.code, message=public_message(exc),
                          http_status=status_for(exc), retry_after=exc.retry_after)  # fmt: skip
    return accepted_result(item, accepted)


@router.post("/receipts", response_model=Receipts)
def media_receipts(body: ReceiptsRequest, state: StateDep, account: PublisherDep) -> Receipts:
    """The caller's receipts for several files at once (what `GET /v1/media/{hash}` gives for one); null for a file
    it has not registered. `provenance register` asks this before uploading, to skip what is registered already."""
    found = receipts(state.context, account.address, body.content_hashes)
    return Receipts(receipts=[MediaStatus(**r) if r is not None else None for r in found])
