"""Read the C2PA manifest an image carries with c2pa-python, offline, and summarise it
(``ledger.core.content_credentials``).

Reading is bounded: callers pass bytes already bounded by the upload limit and already decoded as an image by the
fingerprint probe; the reader never fetches anything (no remote manifests, no OCSP: an uploaded file could
otherwise make this server request any URL); and anything the native reader raises on a broken manifest is reported
as an invalid manifest with the reader's reason, never as an error of the request.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from pathlib import Path

import c2pa

from ledger.core.content_credentials import ContentCredentials, summarize

log = logging.getLogger(__name__)

# Pillow's format names -> the media types the C2PA reader takes (others: detected from the bytes).
MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff",
               "HEIF": "image/heif", "AVIF": "image/avif", "GIF": "image/gif"}  # fmt: skip


class CredentialReader:
    """Reads manifests with one c2pa ``Context``: never fetching, trusting the anchors given (PEM text)."""

    def __init__(self, trust_anchors_pem: str | None = None) -> None:
        self.trust_anchors_pem = trust_anchors_pem or None
        self._context: c2pa.Context | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_files(cls, paths: list[Path]) -> CredentialReader:
        return cls("".join(p.read_text() for p in paths) or None)

    @property
    def settings(self) -> dict[str, object]:
        settings: dict[str, object] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
        if self.trust_anchors_pem:
            settings["trust"] = {"trust_anchors": self.trust_anchors_pem}
        return settings

    def context(self) -> c2pa.Context:
        with self._lock:
            if self._context is None:
                self._context = c2pa.Context.from_dict(self.settings)
            return self._context

    def read(self, data: bytes, image_format: str | None = None) -> ContentCredentials | None:
        """The summary of the manifest in ``data``; None when it carries none."""
        store = self.read_store(data, image_format)
        if isinstance(store, ContentCredentials):
            return store
        return summarize(store) if store is not None else None

    def read_store(self, data: bytes, image_format: str | None = None) -> dict[str, object] | ContentCredentials | None:
        """The manifest store as the C2PA reader reports it (parsed JSON), None without one, or an unreadable
        summary for a store it could not parse."""
        media_type = MEDIA_TYPES.get((image_format or "").upper())
        try:
            with c2pa.Reader(media_type, io.BytesIO(data), context=self.context()) as reader:
                return json.loads(reader.json())  # type: ignore[no-any-return]
        except c2pa.C2paError.ManifestNotFound:
            return None
        except c2pa.C2paError.NotSupported:
            return None  # a format the C2PA reader does not read carries nothing it could show
        except Exception as exc:  # noqa: BLE001 - a hostile file must not fail the request: report what broke
            log.info("C2PA manifest could not be read: %s", type(exc).__name__)
            return ContentCredentials.unreadable(f"{type(exc).__name__.lstrip('_')}: {exc}")


NO_TRUST = CredentialReader()
