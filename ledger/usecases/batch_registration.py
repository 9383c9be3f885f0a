"""Several registrations in one request (``POST /v1/media/batch``): each item is accepted or refused on its own.

A request carries a JSON list of items and the files they name (multipart parts). An item is either

- unsigned, for a service-held key: ``{"file": PART, "caption", "credit", "published_url", "taken_at", "parent",
  "keep_reference"}``, registered as ``POST /v1/media`` would (``register.register``); or
- newsroom-signed: ``{"signed": {...what `provenance sign` wrote...}, "file": PART (optional), "keep_reference"}``,
  checked and queued as ``POST /v1/registrations`` would (``signed.register_signed``).

What refuses the whole request (a list that is not a list, too many items, a part no item names, the same part named
twice) is checked by ``parse_items`` before any image is decoded; everything else is one item's refusal with its own
stable code and sentence, and never stops the others. Each accepted item's outbox row is committed before the reply,
as for a single registration. The API registers each item through the same steps as the single endpoints
(``api.registering``).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ledger.errors import LedgerValueError
from ledger.usecases.register import Accepted, RegistrationRequest

TEXT_FIELDS = ("caption", "credit", "published_url", "taken_at", "parent")
MAX_TEXT = 2000


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One item of a batch request, its shape checked."""

    index: int
    file: str | None  # the multipart part holding the image
    request: RegistrationRequest | None  # unsigned: what the publisher says the picture shows
    signed: dict[str, Any] | None  # newsroom-signed: the bundle `provenance sign` wrote (checked when registered)
    keep_reference: bool = True


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What became of one item: ``accepted`` (queued; ``status`` is its outbox status) or ``refused`` (``error_code``
    and ``message`` say why; ``http_status`` is what the single endpoint would have answered)."""

    index: int
    file: str | None
    result: str
    content_hash: str | None = None
    uid: str | None = None
    status: str | None = None
    note: str | None = None
    error_code: str | None = None
    message: str | None = None
    http_status: int | None = None
    retry_after: int | None = None


class ItemRefused(LedgerValueError):
    """One item's shape is wrong (the others are still registered)."""

    code = "invalid_item"


def parse_items(raw: str, parts: Collection[str], max_items: int) -> list[BatchItem | ItemResult]:
    """The items of a request, in order: a ``BatchItem`` for each well-formed one, an ``ItemResult`` (refused) for
    each malformed one. Raises ``LedgerValueError`` for what makes the whole request unusable."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        raise LedgerValueError("items is not JSON: send a JSON list of items (see docs/api.md)") from None
    if not isinstance(data, list) or not data:
        raise LedgerValueError("items must be a non-empty JSON list")
    if len(data) > max_items:
        raise LedgerValueError(f"{len(data)} items in one request; at most {max_items} (send the rest in another)")
    named = [item.get("file") for item in data if isinstance(item, dict) and isinstance(item.get("file"), str)]
    twice = sorted({name for name in named if named.count(name) > 1})
    if twice:
        raise LedgerValueError(f"each file part is named by one item only; named twice: {', '.join(twice)}")
    unused = sorted(set(parts) - set(named))
    if unused:
        raise LedgerValueError(f"file parts no item names: {', '.join(unused[:5])} (every file needs its item)")
    items: list[BatchItem | ItemResult] = []
    for index, value in enumerate(data):
        try:
            items.append(_item(index, value, parts))
        except LedgerValueError as exc:
            name = value.get("file") if isinstance(value, dict) and isinstance(value.get("file"), str) else None
            items.append(ItemResult(index, name, "refused", error_code=exc.code, message=exc.message, http_status=422))
    return items


def _item(index: int, value: Any, parts: Collection[str]) -> BatchItem:
    if not isinstance(value, dict):
        raise ItemRefused("an item is a JSON object")
    name = value.get("file")
    if name is not None and (not isinstance(name, str) or name not in parts):
        raise ItemRefused(f"file {name!r} names no part of the request")
    keep = value.get("keep_reference", True)
    if not isinstance(keep, bool):
        raise ItemRefused("keep_reference is true or false")
    if "signed" in value:
        if not isinstance(value["signed"], dict):
            raise ItemRefused("signed is the JSON object `provenance sign` wrote")
        extra = sorted(set(value) & set(TEXT_FIELDS))
        if extra:
            raise ItemRefused(f"a signed item carries its caption and credit in its manifest, not {', '.join(extra)}")
        return BatchItem(index, name, None, value["signed"], keep)
    if name is None:
        raise ItemRefused("an unsigned item needs its image: name its part in `file`")
    fields: dict[str, str | None] = {}
    for field in TEXT_FIELDS:
        text = value.get(field)
        if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
            raise ItemRefused(f"{field} is a text of at most {MAX_TEXT} characters")
        fields[field] = text
    for required in ("caption", "credit"):
        if not (fields[required] or "").strip():
            raise ItemRefused(f"{required} is required")
    request = RegistrationRequest(fields["caption"] or "", fields["credit"] or "", fields["published_url"],
                                  fields["taken_at"], keep, fields["parent"])  # fmt: skip
    return BatchItem(index, name, request, None, keep)


def accepted_result(item: BatchItem, accepted: Accepted) -> ItemResult:
    return ItemResult(item.index, item.file, "accepted", accepted.content_hash, accepted.uid, accepted.status,
                      accepted.note)  # fmt: skip
