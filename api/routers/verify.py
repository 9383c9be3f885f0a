"""Readers verify an image (upload) or a SHA-256 (path). Reads only the mirror, never the chain.

Every answer carries a ``verification_id``. For an ``edited`` answer the change heatmap is kept in the database
(``ledger.adapters.store.heatmaps``: 15 minutes, at most 10,000) and served at ``/v1/verify/{id}/diff.png`` by any
API process or host. It is derived from the reader's upload (where it differs from the registered picture), not the
upload itself, which is never stored.
"""

from __future__ import annotations

import time
from typing import Annotated

import anyio
from fastapi import APIRouter, File, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import StateDep, read_upload
from api.fast_hash import answer_headers, etag_matches
from api.metrics import VERIFY_STEPS
from api.state import AppState
from ledger.core.answer import Verification
from ledger.core.fingerprint import sha256_hex
from ledger.core.types import parse_hash32
from ledger.usecases.hash_answers import HashAnswer, HashAnswers
from ledger.usecases.verify import find_heatmap, keep_heatmap, verify_decoded

router = APIRouter(prefix="/v1/verify", tags=["verify"])


# Hashing a file up to this size on the event loop costs less than handing it to a worker thread and back (~0.2 ms
# for the 276 KB of a 1 MP JPEG); a larger one (uploads may be 25 MB: ~15 ms) is hashed in a thread so the loop
# keeps answering verify by hash meanwhile.
HASH_ON_LOOP_BYTES = 1024 * 1024


@router.post("", response_model=Verification)
async def verify_upload_route(state: StateDep, file: Annotated[UploadFile, File()]) -> Verification:
    data = await read_upload(file, state.settings.max_upload_bytes)
    ctx = state.verify_context
    uploads = state.upload_answers
    assert uploads is not None
    started = time.perf_counter()
    content_hash = sha256_hex(data) if len(data) <= HASH_ON_LOOP_BYTES else await run_in_threadpool(sha256_hex, data)
    hashed = time.perf_counter() - started
    # A file registered here and mirrored, uploaded again since the mirror last changed: its kept answer, with no
    # I/O and no thread (ledger.usecases.upload_answers; 6-7 ms of CPU each before, in the soak).
    kept = uploads.kept(ctx, content_hash, len(data))
    if kept is not None:
        # The steps that ran: "decode and hashes" is the SHA-256 alone, the lookup the kept answer's; no C2PA read.
        VERIFY_STEPS.labels("decode").observe(hashed)
        VERIFY_STEPS.labels("lookup").observe(time.perf_counter() - started - hashed)
        VERIFY_STEPS.labels("total").observe(time.perf_counter() - started)
        return kept
    # Otherwise a registered and mirrored file is answered from what registration kept, with no pixels in memory: it
    # takes no decoding slot, so readers checking circulating originals neither wait behind decodes nor get 503
    # `busy` when the slots are taken (they did in the soak: 50 such uploads a second, p50 300 ms).
    verified = await run_in_threadpool(uploads.verify, ctx, data, content_hash)
    if verified is None:
        async with state.decodes.slot():
            verified = await run_in_threadpool(verify_decoded, ctx, data)
    else:
        verified.timings["decode"] += hashed
        verified.timings["total"] += hashed
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
    ``api.fast_hash.answer_if_hot`` before this route is reached, the rest read the database here.
    ``ETag`` and ``Cache-Control`` let browsers and CDNs keep a registered answer for ``verify_cache_seconds`` and an
    ``unknown`` one for ``verify_unknown_cache_seconds``; ``If-None-Match`` with the current ETag gets 304."""
    state: AppState = request.app.state.ledger
    answers = state.hash_answers
    assert answers is not None
    answer = answers.cached(sha256) or await computed_once(state, answers, sha256)
    headers = dict((k.decode(), v.decode()) for k, v in answer_headers(
        answer, state.settings.verify_cache_seconds, state.settings.verify_unknown_cache_seconds))  # fmt: skip
    if etag_matches(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)


async def computed_once(state: AppState, answers: HashAnswers, sha256: str) -> HashAnswer:
    """The database's answer, read by one request per hash at a time in this process. Each registration moves the
    mirror, and with it every popular hash's kept answer is gone at once: in the soak (1,500 lookups a second of
    each registered hash) the requests that arrived while the first one read the database each read it too, 20-40
    worker threads at once opening SQLite connections (py-spy of a worker, 2026-12-01). The others wait for that
    read, without a thread, and take its answer; if it was not kept (the mirror moved meanwhile, the index is still
    loading, the read failed) each reads its own, as before."""
    key = parse_hash32(sha256, "sha256")
    running = state.hash_reads.get(key)
    if running is not None:
        await running.wait()
        return answers.cached(sha256) or await run_in_threadpool(answers.answer, sha256)
    state.hash_reads[key] = done = anyio.Event()
    try:
        return await run_in_threadpool(answers.answer, sha256)
    finally:
        del state.hash_reads[key]
        done.set()
