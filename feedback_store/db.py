"""Engine and session factories for the story store (SQLite by default, PostgreSQL in production).

Nothing is created at import time: the edge (server start, CLI, test fixture) calls
:func:`make_engine` once per process and :func:`make_session_factory` on that engine, then opens
one short session per action run or HTTP request.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.future import create_engine
from sqlalchemy.orm import sessionmaker

DEFAULT_URL = "sqlite:///var/feedback.db"
"""Embedded default: a SQLite file under ``var/`` (relative to the working directory)."""

URL_ENV_VAR = "FEEDBACK_DB_URL"
"""Environment variable read by the Alembic env and the migrate CLI when no URL is given."""

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_file(url: str) -> Path | None:
    """Return the database file of a SQLite URL, or None for in-memory / URI databases."""
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _set_sqlite_pragmas(engine: Engine, *, wal: bool, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA secure_delete=ON")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()


def make_engine(
    url: str,
    *,
    echo: bool = False,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    **engine_kwargs: Any,
) -> Engine:
    """Create a 2.0-style engine for the story store.

    SQLite: creates the parent directory of the file, enables foreign keys, WAL journal (file
    databases), ``secure_delete`` (erased stories are overwritten in the file) and a busy timeout
    so that concurrent writers wait instead of failing. The driver's
    default transaction handling is kept (a write transaction starts at the first write), which is
    what makes the per-year reference counter safe across threads and processes.
    PostgreSQL (or any other backend): pings pooled connections before use.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///var/feedback.db`` or
            ``postgresql+psycopg2://user@127.0.0.1:5432/db``.
        echo: Log every SQL statement.
        sqlite_busy_timeout_ms: How long a SQLite writer waits for the write lock.
        **engine_kwargs: Passed to :func:`sqlalchemy.create_engine`.

    Returns:
        The engine (lazy: no connection is opened here).

    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, **engine_kwargs)
        _set_sqlite_pragmas(engine, wal=path is not None, busy_timeout_ms=sqlite_busy_timeout_ms)
        return engine
    engine_kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, echo=echo, **engine_kwargs)


def make_session_factory(engine: Engine) -> sessionmaker:
    """Return a session factory bound to ``engine``.

    Sessions are 2.0-style and keep loaded attributes after commit (service functions return plain
    records anyway). Typical use: ``with factory.begin() as session: submit_story(session, ...)``.
    """
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


_HELD_LOCKS: set[str] = set()


@contextmanager
def sqlite_migration_lock(database: str | None) -> Iterator[None]:
    """Serialise processes migrating the same SQLite file (re-entrant within one process).

    Taken *before* the first connection: two processes switching a brand-new file to WAL at the
    same moment can fail with "database is locked" before any busy timeout applies.
    """
    if not database or database == ":memory:":
        yield
        return
    path = Path(database).resolve()
    key = str(path)
    if key in _HELD_LOCKS:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".migrate.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD_LOCKS.add(key)
        yield
    finally:
        _HELD_LOCKS.discard(key)
        os.close(fd)
