"""Publishers register images (Bearer API key) and read their own records back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response

from api.deps import PublisherDep, PublisherRoute, StateDep, read_upload
from api.registering import registration
from api.schemas import MediaAccepted, MediaStatus
from ledger.usecases.published import published_file
from ledger.usecases.receipt import receipt
from ledger.usecases.register import RegistrationRequest

router = APIRouter(prefix="/v1/media", tags=["publish"], route_class=PublisherRoute)  # the key before the body


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
    parent: Annotated[str | None, Form(max_length=66, description="the uid of the original this image is derived "
                                                                  "from (a crop, an edit); refused when unknown")] = None,
    c2pa: Annotated[bool, Form(description="sign the file with Content Credentials (C2PA) with the publisher's "
                                           "certificate, register the signed file and keep it at `file_url`: "
                                           "publish that file")] = False,
) -> MediaAccepted:
    data = await read_upload(file, state.settings.max_upload_bytes)
    request = RegistrationRequest(caption, credit, published_url, taken_at, keep_reference, parent, c2pa,
                                  file.filename)  # fmt: skip
    accepted = await registration(state, account.address, data, request)  # decoding in a slot, the write after it
    file_url = f"/v1/media/{accepted.content_hash}/file" if accepted.signed_file else None
    return MediaAccepted(content_hash=accepted.content_hash, uid=accepted.uid, status=accepted.status,
                         note=accepted.note, file_url=file_url, content_credentials=accepted.content_credentials)  # fmt: skip


@router.get("/{content_hash}/file", response_class=Response,
            responses={200: {"content": {"image/*": {}}, "description": "the signed file, byte for byte as registered"}})
def media_file(content_hash: str, state: StateDep, account: PublisherDep) -> Response:
    """The file this service signed with Content Credentials for the caller (``c2pa=true``): publish exactly this."""
    media_type, data = published_file(state.context, account.address, content_hash)
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, no-store"})


@router.get("/{content_hash}", response_model=MediaStatus)
def media_status(content_hash: str, state: StateDep, account: PublisherDep) -> MediaStatus:
    """The caller's receipt for this image: what was signed and where the chain anchors it (``provenance audit
    receipt`` checks it against the chain)."""
    return MediaStatus(**receipt(state.context, account.address, content_hash))
