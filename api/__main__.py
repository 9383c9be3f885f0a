"""``python -m api``: the API that ``provenance up`` starts (settings from the environment): ``api_workers``
processes of ``api_server`` (granian or uvicorn) on one port, each building the app with ``create_app``."""

from __future__ import annotations

import os

# One OpenMP thread in EVERY thread of the API (before faiss loads OpenMP, which reads this once): requests run in
# a thread pool, and faiss.omp_set_num_threads in app_from_environment sets only the calling thread's count, so each
# request's descriptor search started a thread per core. On 2 cores beside the other worker those threads spin at
# their barriers: an unknown 1 MP upload took 2.9-4.0 s of wall time instead of ~0.35 s (sequential uploads to
# `provenance up` with 2 workers and 60 pictures registered; tests/api/test_request_threads.py keeps it so).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

from api.spread import LOADS_VARIABLE, create_loads_file
from ledger.cli.main import configure_logging
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.runtime import logs
from ledger.runtime.workers import watch_parent

APP_FACTORY = "api.app:app_from_environment"


def main() -> None:
    configure_logging()
    watch_parent(None)
    settings = Settings()
    metrics_dir = prepare_metrics_dir()  # before prometheus-client is imported (it reads the variable then)
    try:
        from api.app import app_from_environment

        app_from_environment().state.ledger.db.dispose()  # settings and deployment checked once here: a bad one stops the start with its code
    except LedgerError as exc:
        raise SystemExit(f"error ({exc.code}): {exc.message}") from None
    loads_dir = prepare_worker_loads(settings)  # after the check above: this process must hold no cell in it
    try:
        if settings.api_server == "granian":
            serve_granian(settings)
        else:
            serve_uvicorn(settings)
    finally:
        for path in (metrics_dir, loads_dir):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)


def prepare_metrics_dir() -> str | None:
    """prometheus-client's multiprocess mode: every worker writes its samples into one directory, /metrics merges
    them. A fresh directory per start (old workers' files would be counted again), removed at the end; one given in
    the environment is used as it is."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    path = tempfile.mkdtemp(prefix="provenance-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def prepare_worker_loads(settings: Settings) -> str | None:
    """The file in which the workers publish their registrations in progress (``api.spread``), fresh per start;
    none for one worker (nothing to spread)."""
    if settings.api_workers < 2:
        return None
    path = tempfile.mkdtemp(prefix="provenance-loads-")
    create_loads_file(Path(path) / "loads")
    os.environ[LOADS_VARIABLE] = str(Path(path) / "loads")
    return path


def serve_granian(settings: Settings) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    # uvloop rather than asyncio's loop: granian hands every send back to the loop from its own threads
    # (call_soon_threadsafe), which asyncio's loop made ~10% of a hash verify's CPU (py-spy); alternated runs of
    # bench_api --hash-workers 2 gave 145 against 164 us of API CPU a request.
    Granian(APP_FACTORY, factory=True, interface=Interfaces.ASGI, address=settings.host, port=settings.port,
            workers=settings.api_workers, loop=Loops.uvloop, log_access=False, log_dictconfig=logs.dict_config(),
            respawn_failed_workers=True, workers_kill_timeout=10).serve()  # fmt: skip


def serve_uvicorn(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(APP_FACTORY, factory=True, host=settings.host, port=settings.port, workers=settings.api_workers,
                log_level="info", access_log=False, log_config=logs.dict_config())  # fmt: skip


if __name__ == "__main__":
    main()
