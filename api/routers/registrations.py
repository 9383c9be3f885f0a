"""Registrations signed by the newsroom's own key (``provenance sign``): checked and relayed, never re-signed."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from api.deps import PublisherDep, PublisherRoute, StateDep, read_upload
from api.registering import signed_registration
from api.schemas import MediaAccepted
from ledger.errors import LedgerValueError

router = APIRouter(prefix="/v1/registrations", tags=["publish"], route_class=PublisherRoute)

SIGNED_MAX_CHARS = 16_384  # a signed registration is about 1.5 KB


@router.post("", status_code=202, response_model=MediaAccepted)
async def register_signed_route(
    state: StateDep,
    account: PublisherDep,
    registration: Annotated[str, Form(max_length=SIGNED_MAX_CHARS,
                                      description="the JSON `provenance sign` wrote for the image")],
    file: Annotated[UploadFile | None, File(description="the image; without it only the hashes are kept")] = None,
    keep_reference: Annotated[bool, Form(description="keep a 512 px copy (needs the file)")] = True,
) -> MediaAccepted:
    """Queue a registration the publisher signed itself (EIP-712, its key or its ERC-1271 wallet); the relayer sends
    it with `registerBySig` as signed. 202 once it is durable, as for `POST /v1/media`."""
    try:
        document = json.loads(registration)
    except json.JSONDecodeError:
        raise LedgerValueError("registration is not JSON (send the file `provenance sign` wrote)") from None
    data = await read_upload(file, state.settings.max_upload_bytes) if file is not None else None
    accepted = await signed_registration(state, account.address, document, data, keep_reference)
    return MediaAccepted(content_hash=accepted.content_hash, uid=accepted.uid, status=accepted.status,
                         note=accepted.note, content_credentials=accepted.content_credentials)  # fmt: skip
