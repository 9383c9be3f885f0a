"""``python -m tests.api.serve_app DATA_DIR PORT``: the API alone (no chain, no workers) on a temporary SQLite, in
its own process, for tests that measure the process (memory) or need real HTTP framing. Settings come from the
environment (``PROVENANCE_*``) like ``python -m api``."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from api.app import create_app
from ledger.adapters.chain.deployment import Deployment
from ledger.adapters.store.db import Database
from ledger.adapters.store.migrate import upgrade
from ledger.config import Settings
from tests.api.test_api import CONTRACT, PASSWORD


def main() -> None:
    data_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    settings = Settings(data_dir=data_dir, keystore_password=PASSWORD, database_url=f"sqlite:///{data_dir / 'l.sqlite3'}")
    db = Database(settings.resolved_database_url())
    upgrade(db.engine)
    deployment = Deployment(31337, CONTRACT, 1, None, "0x00", "http://127.0.0.1:1", "2026-11-28T00:00:00Z")
    app = create_app(settings, db=db, deployment=deployment)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
