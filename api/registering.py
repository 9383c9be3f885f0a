"""Registrations around the decoding gate, for every route that registers (``POST /v1/media``, a batch's items,
``POST /v1/registrations``): the checks that read the database or the chain first, then only the decoding and
hashing in a decoding slot, then the write once the slot is released.

A slot bounds decoded pixels (hundreds of MB a 50 MP image), not a wait: a registration whose write waits on a
locked database (up to the SQLite busy timeout, 30 s by default) would otherwise keep its slot all that time, and
other uploads, readers' verify uploads among them, would be refused ``busy`` although decoding has nothing to do
with the lock. Waiting for the write, a registration holds its upload and its matching data (no decoded pixels) and
a worker thread, as a verify upload's heatmap write already does.
"""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool

from api.state import AppState
from ledger.core.types import ZERO_HASH
from ledger.usecases.register import Accepted, RegistrationRequest, check_known, decode_registration, queue_registration
from ledger.usecases.signed import check_signed, decode_signed, queue_signed


async def registration(state: AppState, publisher: str, data: bytes, request: RegistrationRequest) -> Accepted:
    """A registration signed with the publisher's key held here (``ledger.usecases.register.register``)."""
    ctx = state.context
    # Most registrations name no parent: nothing to read, so no trip to a worker thread.
    parent = ZERO_HASH if request.parent is None else await run_in_threadpool(check_known, ctx.db, request.parent, "parent")
    async with state.decodes.slot():
        decoded = await run_in_threadpool(decode_registration, ctx, publisher, data, request, parent)
    return await run_in_threadpool(queue_registration, ctx, publisher, decoded)


async def signed_registration(state: AppState, publisher: str, document: Any, data: bytes | None,
                              keep_reference: bool) -> Accepted:  # fmt: skip
    """A registration the newsroom signed (``ledger.usecases.signed.register_signed``); without a file nothing is
    decoded and no slot is taken."""
    ctx = state.context
    signed = await run_in_threadpool(check_signed, ctx, publisher, document)
    decoded = None
    if data is not None:
        async with state.decodes.slot():
            decoded = await run_in_threadpool(decode_signed, ctx, signed, data, keep_reference)
    return await run_in_threadpool(queue_signed, ctx, signed, decoded)
