"""``python -m tests.api.serve_app DATA_DIR PORT``: the API alone (no chain, no workers) on a temporary SQLite, in
its own process, for tests that measure the process (memory) or need real HTTP framing. Settings come from the
environment (``PROVENANCE_*``) like ``python -m api``, and so does the server: granian (one worker process, the
default of ``python -m api``) or uvicorn (``PROVENANCE_API_SERVER=uvicorn``, in this process)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fastapi import FastAPI

from api.app import create_app
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.config import Settings
from tests.api.test_api import CONTRACT, PASSWORD

DATA_DIR_VARIABLE = "SERVE_APP_DATA_DIR"


def build() -> FastAPI:
    data_dir = Path(os.environ[DATA_DIR_VARIABLE])
    settings = Settings(data_dir=data_dir, keystore_password=PASSWORD, database_url=f"sqlite:///{data_dir / 'l.sqlite3'}")
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    app = create_app(settings, db=db, deployment=deployment)
    app.state.ledger.chain_nonce = lambda _publisher: 0  # no chain here: a new publisher's nonce on the contract
    return app


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    os.environ[DATA_DIR_VARIABLE] = str(data_dir)
    if os.environ.get("PROVENANCE_API_SERVER", "granian") == "uvicorn":
        import uvicorn

        uvicorn.run(build(), host="127.0.0.1", port=port, log_level="warning", access_log=False)
        return
    from granian import Granian
    from granian.constants import Interfaces

    Granian("tests.api.serve_app:build", factory=True, interface=Interfaces.ASGI, address="127.0.0.1", port=port,
            workers=1, log_access=False).serve()  # fmt: skip


if __name__ == "__main__":
    main()
