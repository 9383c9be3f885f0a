"""Readers verify an image (upload) or a SHA-256 (path). Reads only the mirror, never the chain.

Every answer carries a ``verification_id``. For an ``edited`` answer the change heatmap is kept in the database
(``ledger.adapters.store.heatmaps``: 15 minutes, at most 10,000) and served at ``/v1/verify/{id}/diff.png`` by any
API process or host. It is derived from the reader's upload (where it differs from the registered picture), not the
upload itself, which is never stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import StateDep, read_upload
from api.fast_hash import answer_headers, etag_matches
from api.metrics import VERIFY_STEPS
from api.state import AppState
from ledger.core.answer import Verification
from ledger.usecases.verify import find_heatmap, keep_heatmap, verify_decoded, verify_registered

router = APIRouter(prefix="/v1/verify", tags=["verify"])


@router.post("", response_model=Verification)
async def verify_upload_route(state: StateDep, file: Annotated[UploadFile, File()]) -> Verification:
    data = await read_upload(file, state.settings.max_upload_bytes)
    ctx = state.verify_context
    # A file registered here and mirrored is answered from what registration kept, with no pixels in memory: it
    # takes no decoding slot, so readers checking circulating originals neither wait behind decodes nor get 503
    # `busy` when the slots are taken (they did in the soak: 50 such uploads a second, p50 300 ms).
    verified = await run_in_threadpool(verify_registered, ctx, data)
    if verified is None:
        async with state.decodes.slot():
            verified = await run_in_threadpool(verify_decoded, ctx, data)
    for step, seconds in verified.timings.items():
        VERIFY_STEPS.labels(step).observe(seconds)
    answer = verified.answer
    if verified.heatmap_png is not None and answer.changes is not None and answer.verification_id is not None:
        await run_in_threadpool(keep_heatmap, state.context, answer.verification_id, verified.heatmap_png)
        answer.changes.heatmap_url = f"/v1/verify/{answer.verification_id}/diff.png"
    return answer


@router.get("/{verification_id}/diff.png", response_class=Response)
def verification_diff(verification_id: str, state: StateDep) -> Response:
    png = find_heatmap(state.context, verification_id)
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
