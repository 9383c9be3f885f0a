"""Readers verify an image (upload) or a SHA-256 (path). Reads only the mirror, never the chain.

Every answer carries a ``verification_id``. For an ``edited`` answer the change heatmap is kept in a bounded
in-memory cache (``HeatmapCache``: 256 entries, 15 minutes) and served at ``/v1/verify/{id}/diff.png``. Memory,
not a table: the heatmap is derived from the reader's upload, which the page promises is not stored; it is only
needed for the seconds the page takes to fetch it; and the API runs as one process. (Several API processes
behind a load balancer would need sticky sessions or a shared table.)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import StateDep, read_upload
from api.fast_hash import answer_headers, etag_matches
from api.state import AppState
from ledger.core.answer import Verification
from ledger.errors import NotFound
from ledger.usecases.verify import verify_upload

router = APIRouter(prefix="/v1/verify", tags=["verify"])

HEATMAP_CACHE_ENTRIES = 256  # ~5-20 KB each
HEATMAP_TTL_SECONDS = 15 * 60


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


@router.post("", response_model=Verification)
async def verify_upload_route(state: StateDep, file: Annotated[UploadFile, File()]) -> Verification:
    data = await read_upload(file, state.settings.max_upload_bytes)
    async with state.decodes.slot():
        verified = await run_in_threadpool(verify_upload, state.verify_context, data)
    answer = verified.answer
    if verified.heatmap_png is not None and answer.changes is not None and answer.verification_id is not None:
        state.heatmaps.put(answer.verification_id, verified.heatmap_png)
        answer.changes.heatmap_url = f"/v1/verify/{answer.verification_id}/diff.png"
    return answer


@router.get("/{verification_id}/diff.png", response_class=Response)
def verification_diff(verification_id: str, state: StateDep) -> Response:
    png = state.heatmaps.get(verification_id)
    if png is None:
        raise NotFound("no change heatmap for this verification: the verdict was not `edited`, or it expired")
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=900"})


@router.get("/{sha256}", response_model=Verification,
            responses={304: {"description": "Not modified: the answer still has the ETag sent in If-None-Match"}})
async def verify_hash_route(sha256: str, request: Request) -> Response:
    """From the hot index (``ledger.usecases.hash_answers``); answers it already holds are sent by
    ``api.fast_hash.VerifyHashFastPath`` before this route is reached, the rest read the database here.
    ``ETag`` and ``Cache-Control`` let browsers and CDNs keep a registered answer for ``verify_cache_seconds`` and an
    ``unknown`` one for ``verify_unknown_cache_seconds``; ``If-None-Match`` with the current ETag gets 304."""
    state: AppState = request.app.state.ledger
    answers = state.hash_answers
    assert answers is not None
    answer = answers.cached(sha256) or await run_in_threadpool(answers.answer, sha256)
    headers = dict((k.decode(), v.decode()) for k, v in answer_headers(
        answer, state.settings.verify_cache_seconds, state.settings.verify_unknown_cache_seconds))  # fmt: skip
    if etag_matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)
