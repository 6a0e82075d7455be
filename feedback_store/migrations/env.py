"""Alembic environment of the story store.

Database URL, first found wins:
1. ``-x url=...`` on the alembic command line;
2. ``config.attributes["url"]`` or ``config.attributes["connection"]`` (set by
   :mod:`feedback_store.migrate` when migrating programmatically);
3. the ``FEEDBACK_DB_URL`` environment variable;
4. the embedded default ``sqlite:///var/feedback.db``.
"""

from __future__ import annotations

import logging.config
import os
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import context
from sqlalchemy import text

from feedback_store.db import DEFAULT_URL, URL_ENV_VAR, make_engine, sqlite_migration_lock
from feedback_store.models import Base

config = context.config
target_metadata = Base.metadata
# Several processes may migrate at start-up: they queue on this lock and the later ones find the
# schema already at head. PostgreSQL: a transaction-level advisory lock; SQLite: a file lock.
PG_ADVISORY_LOCK_KEY = 0x46454544  # "FEED"

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("url")
        or os.environ.get(URL_ENV_VAR)
        or DEFAULT_URL
    )


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


@contextmanager
def _serialised(connection) -> Iterator[None]:
    """Run the block alone among processes migrating the same database."""
    database = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with sqlite_migration_lock(database):
        yield


def _run(connection) -> None:
    _configure(connection)
    with _serialised(connection), context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_ADVISORY_LOCK_KEY}
            )
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit the SQL of the migrations without connecting (``alembic upgrade head --sql``)."""
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection (given by the caller or opened here)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
