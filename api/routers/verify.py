"""Readers verify an image (upload) or a SHA-256 (path). Reads only the mirror, never the chain.

Every answer carries a ``verification_id``. For an ``edited`` answer the change heatmap is kept in a bounded
in-memory cache (``HeatmapCache``: 256 entries, 15 minutes) and served at ``/v1/verify/{id}/diff.png``. Memory,
not a table: the heatmap is derived from the reader's upload, which the page promises is not stored; it is only
needed for the seconds the page takes to fetch it; and the API runs as one process. (Several API processes
behind a load balancer would need sticky sessions or a shared table.)
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import StateDep, read_upload
from ledger.core.second_stage import heatmap_png
from ledger.errors import NotFound
from ledger.core.fingerprint import probe_bytes
from ledger.core.types import parse_hash32
from ledger.usecases.verify import verify, verify_image

router = APIRouter(prefix="/v1/verify", tags=["verify"])

HEATMAP_CACHE_ENTRIES = 256  # ~5-20 KB each
HEATMAP_TTL_SECONDS = 15 * 60
HEATMAP_LONG_SIDE = 512  # the PNG's long side; the page stretches it over the reader's image


class HeatmapCache:
    """verification_id -> PNG bytes; least recently stored dropped first, entries expire."""

    def __init__(self, capacity: int = HEATMAP_CACHE_ENTRIES, ttl: float = HEATMAP_TTL_SECONDS) -> None:
        self.capacity, self.ttl = capacity, ttl
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, png: bytes) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), png)
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if time.monotonic() - item[0] > self.ttl:
                del self._items[key]
                return None
            return item[1]


def new_verification_id() -> str:
    return "v_" + secrets.token_urlsafe(12)


def _verify_upload(state, data: bytes) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    probe = probe_bytes(data, state.limits)
    deployment = state.deployment
    outcome = verify_image(state.db, deployment.chain_id, deployment.address, probe, state.matcher)
    verification_id = new_verification_id()
    body = {"verification_id": verification_id, **outcome.body}
    if outcome.heat is not None and body.get("changes") is not None:
        width, height = probe.fingerprint.width, probe.fingerprint.height
        scale = HEATMAP_LONG_SIDE / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        state.heatmaps.put(verification_id, heatmap_png(outcome.heat, size))
        body["changes"]["heatmap_url"] = f"/v1/verify/{verification_id}/diff.png"
    return body


@router.post("")
async def verify_upload(state: StateDep, file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    data = await read_upload(file, state.settings.max_upload_bytes)
    return await run_in_threadpool(_verify_upload, state, data)


@router.get("/{verification_id}/diff.png", response_class=Response)
def verification_diff(verification_id: str, state: StateDep) -> Response:
    png = state.heatmaps.get(verification_id)
    if png is None:
        raise NotFound("no change heatmap for this verification: the verdict was not `edited`, or it expired")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=900"})


@router.get("/{sha256}")
def verify_hash(sha256: str, state: StateDep) -> dict[str, Any]:
    content_hash = parse_hash32(sha256, "sha256")
    body = verify(state.db, state.deployment.chain_id, state.deployment.address, content_hash, None)
    return {"verification_id": new_verification_id(), **body}
