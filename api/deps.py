"""Dependencies as ``Annotated`` aliases, so routes say what they need and tests can override them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, UploadFile

from api.state import AppState
from ledger.adapters.store.models import PublisherAccountRow
from ledger.errors import TooLarge, Unauthorized
from ledger.usecases.publishers import authenticate

READ_CHUNK = 1024 * 1024


def get_state(request: Request) -> AppState:
    return request.app.state.ledger  # type: ignore[no-any-return]


StateDep = Annotated[AppState, Depends(get_state)]


def get_publisher(request: Request, state: StateDep) -> PublisherAccountRow:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the publisher's API key as `Authorization: Bearer <key>`")
    return authenticate(state.db, token.strip())


PublisherDep = Annotated[PublisherAccountRow, Depends(get_publisher)]


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """Read at most ``max_bytes``; one byte more means the file is too large (never buffer more)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge(f"the file is larger than the limit of {max_bytes:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
