"""The publisher's statement about an image, in one canonical byte form whose keccak256 goes on chain.

Canonical form: UTF-8 JSON, keys sorted, no insignificant whitespace, no NaN; absent optional fields are
``null`` so every manifest has the same keys. Anyone holding the manifest recomputes the hash with any
JSON library that sorts keys and uses compact separators.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from eth_utils import keccak

from ledger.core.fingerprint import Fingerprint
from ledger.core.types import ZERO_HASH
from ledger.errors import InvalidText, LedgerValueError

MANIFEST_VERSION = 1
MAX_TEXT = 2000  # caption and credit; long enough for a wire caption, short enough to show


@dataclass(frozen=True, slots=True)
class Manifest:
    version: int
    publisher: str
    content_hash: str
    pixel_hash: str
    pdq: str
    pdq_quality: int
    width: int
    height: int
    caption: str
    credit: str
    published_url: str | None
    taken_at: str | None
    parent: str = ZERO_HASH

    def canonical_bytes(self) -> bytes:
        return canonical_json(asdict(self))

    def hash(self) -> str:
        return "0x" + keccak(self.canonical_bytes()).hex()


def canonical_json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


# C0 controls but tab and line breaks, and DEL: NUL cannot be stored in a PostgreSQL text column, and escape
# sequences in a caption would reach every terminal that prints it (`provenance audit`, logs).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone UTF-16 surrogates: JSON ("\ud800") can carry them, UTF-8 cannot, so the canonical form could not be written.
SURROGATES = re.compile("[\ud800-\udfff]")


def bad_character(name: str, text: str) -> str | None:
    """Why ``text`` cannot go into a manifest (a sentence), or None."""
    bad = CONTROL_CHARACTERS.search(text)
    if bad is not None:
        return (f"{name} contains the control character U+{ord(bad.group()):04X} at position {bad.start()}; "
                "only tabs and line breaks are accepted")  # fmt: skip
    bad = SURROGATES.search(text)
    if bad is not None:
        return f"{name} contains a lone surrogate U+{ord(bad.group()):04X} at position {bad.start()}, which is not text"
    return None


def _text(name: str, value: str | None, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise LedgerValueError(f"{name} is required")
        return None
    if len(text) > MAX_TEXT:
        raise LedgerValueError(f"{name} is {len(text)} characters; at most {MAX_TEXT} are accepted")
    problem = bad_character(name, text)
    if problem is not None:
        raise InvalidText(problem)
    return text


def parse_url(value: str | None) -> str | None:
    text = _text("published_url", value, required=False)
    if text is not None and not text.startswith(("https://", "http://")):
        raise LedgerValueError("published_url must be an http(s) URL")
    return text


def parse_timestamp(value: str | None) -> str | None:
    """ISO 8601 with a time zone, normalised to UTC ``YYYY-MM-DDTHH:MM:SSZ``; a bare date means midnight UTC."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise LedgerValueError(f"taken_at must be an ISO 8601 date or time, got {value!r}") from exc
    if moment.tzinfo is None:
        if len(text) > 10:
            raise LedgerValueError("taken_at needs a time zone (for example 2026-11-28T09:30:00Z)")
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC, which datetime cannot hold
        raise LedgerValueError(f"taken_at {value!r} is outside the years 1 to 9999 in UTC") from None
    # Four-digit years always (strftime's %Y writes year 1 as "1"): the canonical form is YYYY-MM-DDTHH:MM:SSZ.
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"


def build_manifest(
    publisher: str,
    fingerprint: Fingerprint,
    caption: str | None,
    credit: str | None,
    published_url: str | None = None,
    taken_at: str | None = None,
    parent: str = ZERO_HASH,
) -> Manifest:
    return Manifest(
        version=MANIFEST_VERSION,
        publisher=publisher,
        content_hash=fingerprint.sha256,
        pixel_hash=fingerprint.pixel_sha256,
        pdq=fingerprint.pdq,
        pdq_quality=fingerprint.pdq_quality,
        width=fingerprint.width,
        height=fingerprint.height,
        caption=_text("caption", caption, required=True) or "",
        credit=_text("credit", credit, required=True) or "",
        published_url=parse_url(published_url),
        taken_at=parse_timestamp(taken_at),
        parent=parent,
    )
