"""Inserts that leave a row already there alone (``INSERT ... ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL),
run as Core statements on the session's connection.

Why not the ORM's get-then-add: a registration writes five rows, and looking each up, tracking it and flushing it
through the unit of work cost more CPU than the writing itself (2026-12-02, 2 cores: the write transaction of a
registration took 7.2 ms of CPU in process and ~10 ms in ``provenance up``, most of it in the ORM, and 2.1 and
4.5-5 ms so; docs/api.md, "Registrations sustained for a minute"). The statements are built once per table and dialect, so SQLAlchemy's compiled
cache is hit without building a cache key each time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def dialect_of(session: Session) -> str:
    name = session.get_bind().dialect.name
    if name not in _INSERTS:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(name)
    return name


@cache
def _insert_new(table: Table, dialect: str, keys: tuple[str, ...] | None) -> Insert:
    return _INSERTS[dialect](table).on_conflict_do_nothing(index_elements=list(keys) if keys else None)


def insert_new(session: Session, model: type, row: Mapping[str, Any]) -> bool:
    """Add ``row`` unless a row with its primary key (or another unique value) is there; True when it was added."""
    statement = _insert_new(model.__table__, dialect_of(session), None)  # type: ignore[attr-defined]
    return session.connection().execute(statement, row).rowcount == 1


def insert_ignore(session: Session, model: type, rows: Sequence[Mapping[str, Any]], keys: list[str]) -> None:
    """Add each of ``rows`` whose ``keys`` are not there yet (one statement, many parameter sets)."""
    if rows:
        statement = _insert_new(model.__table__, dialect_of(session), tuple(keys))  # type: ignore[attr-defined]
        session.execute(statement, list(rows))
