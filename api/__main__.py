"""``python -m api``: the API worker that ``provenance up`` starts (settings from the environment)."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from ledger.cli.main import configure_logging
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.runtime.workers import watch_parent


def main() -> None:
    configure_logging()
    watch_parent(None)
    try:
        app = create_app(Settings())
    except LedgerError as exc:
        raise SystemExit(f"error ({exc.code}): {exc.message}") from None
    settings = app.state.ledger.settings
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)


if __name__ == "__main__":
    main()
