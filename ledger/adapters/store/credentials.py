"""Content Credentials kept with registrations: the manifest summary of each registered file that carried one, and
the files this service signed for publishers. Written in the registration's own transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.adapters.store.inserts import insert_new
from ledger.adapters.store.models import ContentCredentialsRow, PublishedFileRow
from ledger.adapters.store.repository import utcnow
from ledger.core.content_credentials import ContentCredentials


def keep_credentials(session: Session, content_hash: str, summary: ContentCredentials,
                     manifest_store: bytes | None = None) -> None:  # fmt: skip
    # Another publisher's record of the same file keeps its row.
    insert_new(session, ContentCredentialsRow, dict(content_hash=content_hash, summary=summary.model_dump_json(),
                                                    manifest_id=summary.active_manifest, manifest_store=manifest_store,
                                                    created_at=utcnow()))  # fmt: skip


def credentials_of(session: Session, content_hash: str) -> ContentCredentials | None:
    row = session.get(ContentCredentialsRow, content_hash)
    return ContentCredentials.model_validate_json(row.summary) if row is not None else None


def manifest_store(session: Session, manifest_id: str) -> bytes | None:
    """The manifest store kept for a registered file whose active manifest is ``manifest_id``."""
    row = session.scalars(select(ContentCredentialsRow).where(ContentCredentialsRow.manifest_id == manifest_id)
                          .where(ContentCredentialsRow.manifest_store.is_not(None)).limit(1)).first()  # fmt: skip
    return row.manifest_store if row is not None else None


def keep_published_file(session: Session, content_hash: str, publisher: str, media_type: str, data: bytes) -> None:
    session.add(PublishedFileRow(content_hash=content_hash, publisher=publisher, media_type=media_type, data=data,
                                 created_at=utcnow()))  # fmt: skip


def published_file(session: Session, content_hash: str, publisher: str) -> PublishedFileRow | None:
    row = session.get(PublishedFileRow, content_hash)
    return row if row is not None and row.publisher == publisher else None
