"""Sign the file a publisher publishes with a C2PA manifest (c2pa-python's Builder), in memory.

The manifest's hard binding (``c2pa.hash.data``) covers the file as it leaves here, and that file, not the upload,
is what the ledger registers. Whatever manifest the upload already carried (a camera's, an editor's) becomes the
parent ingredient of ours (intent "edit"), so its history stays readable. No time-stamping authority is asked
(this service reaches none by design); the ledger's own record is the time evidence.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import c2pa

from ledger.adapters.c2pa.reader import MEDIA_TYPES
from ledger.adapters.c2pa.signers import SignerMaterial
from ledger.core.content_credentials import REGISTRATION_ASSERTION
from ledger.errors import C2paSigningFailed, C2paUnsupportedFormat

CLAIM_GENERATOR = {"name": "provenance-ledger", "version": "1"}
# Actions: the edit intent adds `c2pa.opened` (the upload as parent ingredient); we say it was published.
PUBLISHED = {"action": "c2pa.published"}
SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
            "builder": {"thumbnail": {"enabled": False}}}  # fmt: skip


def media_type_of(image_format: str) -> str:
    media_type = MEDIA_TYPES.get(image_format.upper())
    if media_type is None or media_type not in c2pa.Builder.get_supported_mime_types():
        raise C2paUnsupportedFormat(f"Content Credentials cannot be embedded in {image_format or 'this'} files here; "
                                    "send JPEG, PNG, WebP, TIFF, HEIF or AVIF")  # fmt: skip
    return media_type


def manifest_definition(title: str, registration: dict[str, Any], media_type: str | None = None) -> dict[str, Any]:
    return {"claim_generator_info": [CLAIM_GENERATOR], "title": title[:200], "format": media_type,
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [PUBLISHED]}},
                           {"label": REGISTRATION_ASSERTION, "data": registration}]}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SignedFile:
    data: bytes  # the file to publish, manifest embedded
    manifest_store: bytes  # the manifest store alone (``application/c2pa``)


def sign_published(data: bytes, image_format: str, title: str, signer: SignerMaterial,
                   registration: dict[str, Any]) -> SignedFile:  # fmt: skip
    """``data`` with a manifest signed by ``signer`` that carries ``registration`` (the ledger's assertion)."""
    media_type = media_type_of(image_format)
    out = io.BytesIO()
    try:
        with (c2pa.Context.from_dict(SETTINGS) as context,
              c2pa.Signer.from_callback(signer.sign, signer.algorithm, signer.chain_pem.decode(), None) as native,
              c2pa.Builder(manifest_definition(title, registration, media_type), context) as builder):  # fmt: skip
            builder.set_intent(c2pa.C2paBuilderIntent.EDIT)
            store = builder.sign(native, media_type, io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        raise C2paSigningFailed(f"the file could not be signed with Content Credentials: {exc}") from None
    return SignedFile(out.getvalue(), store)
