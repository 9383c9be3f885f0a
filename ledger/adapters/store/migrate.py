"""Alembic, driven from code: ``provenance db upgrade`` and ``provenance up`` call ``upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    # "heads": features add their tables in migrations branching from the initial one until merged.
    command.upgrade(alembic_config(engine), revision)
