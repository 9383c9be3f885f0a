"""A file this service signed with Content Credentials for a publisher, fetched back by its publisher."""

from __future__ import annotations

from ledger.adapters.store.credentials import published_file as find_file
from ledger.core.types import parse_hash32
from ledger.errors import NotFound
from ledger.usecases.context import Context


def published_file(ctx: Context, publisher: str, content_hash: str) -> tuple[str, bytes]:
    """(media type, bytes) of the signed file registered as ``content_hash`` by ``publisher``."""
    value = parse_hash32(content_hash, "content_hash")
    with ctx.db.read() as session:
        row = find_file(session, value, publisher)
        if row is None:
            raise NotFound(f"no file signed here for this publisher has the SHA-256 {value}")
        return row.media_type, row.data
