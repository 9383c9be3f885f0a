"""Alembic, driven from code: ``provenance db upgrade`` and ``provenance up`` call ``upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from ledger.errors import StorageUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to ``revision``. A database that cannot be opened or written (a read-only or full data
    directory, a server refusing) is ``StorageUnavailable`` with the driver's reason: ``provenance up`` says so in
    one line instead of a traceback."""
    # "heads": features add their tables in migrations branching from the initial one until merged.
    try:
        command.upgrade(alembic_config(engine), revision)
    except OperationalError as exc:
        reason = " ".join(str(exc.orig).split())[:200] if exc.orig is not None else "unavailable"
        raise StorageUnavailable(f"the database {engine.url.render_as_string(hide_password=True)} cannot be opened "
                                 f"for writing ({reason}); is its directory read-only or full?") from exc  # fmt: skip
