"""``python -m api``: the API that ``provenance up`` starts (settings from the environment): ``api_workers``
processes of ``api_server`` (granian or uvicorn) on one port, each building the app with ``create_app``."""

from __future__ import annotations

import os
import tempfile

from ledger.cli.main import configure_logging
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.runtime.workers import watch_parent

APP_FACTORY = "api.app:app_from_environment"


def main() -> None:
    configure_logging()
    watch_parent(None)
    settings = Settings()
    try:
        from api.app import app_from_environment

        app_from_environment().state.ledger.db.dispose()  # settings and deployment checked once here: a bad one stops the start with its code
    except LedgerError as exc:
        raise SystemExit(f"error ({exc.code}): {exc.message}") from None
    prepare_metrics_dir()
    if settings.api_server == "granian":
        serve_granian(settings)
    else:
        serve_uvicorn(settings)


def prepare_metrics_dir() -> None:
    """prometheus-client's multiprocess mode: every worker writes its samples into one directory, /metrics merges
    them. A fresh directory per start (old workers' files would be counted again)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="provenance-metrics-")


def serve_granian(settings: Settings) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(APP_FACTORY, factory=True, interface=Interfaces.ASGI, address=settings.host, port=settings.port,
            workers=settings.api_workers, log_access=False, respawn_failed_workers=True,
            workers_kill_timeout=10).serve()  # fmt: skip


def serve_uvicorn(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(APP_FACTORY, factory=True, host=settings.host, port=settings.port, workers=settings.api_workers,
                log_level="info", access_log=False)  # fmt: skip


if __name__ == "__main__":
    main()
