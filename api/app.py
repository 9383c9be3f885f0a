"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from api import errors, metrics
from api.deps import DecodeGate
from api.fast_hash import answer_if_hot
from api.headers import SecurityHeaders
from api.limits import BodyLimits
from api.ratelimit import ClientLimits, RateLimits, Rates
from api.routers import batch_registrations, batches, chain, media, registrations, retractions, soft_binding, verify
from api.schemas import ERROR_RESPONSES
from api.spread import SpreadDecodes, WorkerLoads, loads_from_environment
from api.state import AppState
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.index_feed import IndexFeed
from ledger.adapters.store.db import Database
from ledger.config import Settings
from ledger.runtime.logs import configure_logging
from ledger.runtime.wiring import open_ledger
from ledger.usecases.hash_answers import HashAnswers
from ledger.usecases.upload_answers import RegisteredUploads

STATIC = Path(__file__).parent / "static"
# Swagger UI's files from the swagger-ui-bundle-v2 wheel: /docs works offline and loads nothing from another host.
SWAGGER_UI = Path(str(swagger_ui_bundle.swagger_ui_path))


class LedgerApp(FastAPI):
    """FastAPI, with a verify by hash the hot index can answer taken before the middleware (``api.fast_hash``)."""

    client_limits: ClientLimits

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and await answer_if_hot(self.state.ledger, self.client_limits, scope, send):
            return
        await super().__call__(scope, receive, send)


def app_from_environment() -> FastAPI:
    """What each worker of ``python -m api`` builds: settings from the environment, shares of this host's bounds."""
    configure_logging()  # a no-op where the server configured logging already (the same format)
    one_thread_per_request()
    settings = Settings()
    return create_app(settings, processes=settings.api_workers, loads=loads_from_environment())


def one_thread_per_request() -> None:
    """OpenCV (resizing, keypoints) and faiss (descriptor search) each start a thread per core inside one request.
    The service already runs requests side by side (API processes, decoding slots), so on a small host those pools
    only contend with each other and with the other process; one thread each also makes a verify cost what the
    one-core benchmark measures (scripts/bench_match.py pins the same). faiss's count set here holds for this
    thread only: ``python -m api`` sets OMP_NUM_THREADS before faiss loads, which covers the request threads."""
    import cv2
    import faiss

    cv2.setNumThreads(1)
    faiss.omp_set_num_threads(1)


def create_app(settings: Settings, db: Database | None = None, deployment: Deployment | None = None,
               processes: int = 1, loads: WorkerLoads | None = None) -> FastAPI:  # fmt: skip
    """Build the app. ``db`` and ``deployment`` default to the ones in the settings' data directory. ``processes``:
    how many API processes of this host share the decoding slots, queue and in-memory rate counters; ``loads``:
    this worker's cell in the host's worker loads, to spread pictures to decode over the workers (``api.spread``)."""
    opened = open_ledger(settings, db, deployment)
    state = AppState(opened.settings, opened.db, opened.deployment, opened.abi)
    state.matcher = IndexFeed(state.db, contract=state.deployment.address)
    state.hash_answers = HashAnswers(state.context, state.matcher)
    state.upload_answers = RegisteredUploads(state.matcher)
    state.decodes = DecodeGate(max(1, settings.max_concurrent_decodes // processes),
                               max(0, settings.decode_queue_length // processes), settings.decode_queue_seconds)  # fmt: skip

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        assert state.matcher is not None
        state.matcher.start()  # loads the match index in the background; requests do not wait for it
        yield
        state.matcher.stop()
        metrics.worker_exited()
        if db is None:
            state.db.dispose()

    app = LedgerApp(
        title="Media provenance ledger",
        version="0.1.0",
        summary="Is this image a registered original? Answers from a mirror of an on-chain registry.",
        lifespan=lifespan,
        docs_url=None,  # served below from local files, not a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # Metrics are prometheus-client's (/metrics); FastAPI's OpenTelemetry hooks would cost a check per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        responses=ERROR_RESPONSES,
    )
    app.state.ledger = state
    errors.install(app)
    app.include_router(media.router)
    app.include_router(batch_registrations.router)
    app.include_router(registrations.router)
    app.include_router(verify.router)
    app.include_router(chain.router)
    app.include_router(batches.router)
    app.include_router(retractions.router)
    app.include_router(retractions.signed_router)
    app.include_router(soft_binding.router)
    app.mount("/static/swagger", StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def reader_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        body, content_type = metrics.scrape(state.context)
        return Response(body, media_type=content_type)

    @app.get("/docs", include_in_schema=False)
    def api_reference() -> FileResponse:
        return FileResponse(STATIC / "docs.html")

    # Outermost last: security headers on every answer, then rate limits, then body limits (before any route). A
    # verify by hash the hot index can answer is taken before all of them (LedgerApp), with their effects.
    app.client_limits = ClientLimits(Rates.from_settings(settings, processes))
    app.add_middleware(BodyLimits, max_upload_bytes=settings.max_upload_bytes, max_json_bytes=settings.max_json_bytes,
                       timeout_seconds=settings.body_timeout_seconds,
                       max_batch_bytes=settings.registration_batch_max_bytes)  # fmt: skip
    app.add_middleware(SpreadDecodes, loads=loads)
    app.add_middleware(RateLimits, limits=app.client_limits)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(metrics.RequestMetrics)  # outermost: every answer counted and timed, refusals included
    return app
