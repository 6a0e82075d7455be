"""Programmatic Alembic migrations of the story store (used at server start) and a small CLI.

Examples:
    .venv/bin/python -m feedback_store.migrate upgrade
    .venv/bin/python -m feedback_store.migrate --url postgresql+psycopg2://postgres@/test current

"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine, make_url

from feedback_store.db import DEFAULT_URL, URL_ENV_VAR, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

Target = str | Engine | Connection


def alembic_config(target: Target) -> Config:
    """Build an Alembic config for a URL, an engine or an open connection (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["configure_logging"] = False
    if isinstance(target, str):
        config.attributes["url"] = target
    elif isinstance(target, Engine):
        config.attributes["engine"] = target
    else:
        config.attributes["connection"] = target
    return config


def _run(target: Target, action, *args) -> None:
    from feedback_store.db import sqlite_migration_lock

    database = None
    if isinstance(target, str):
        url = make_url(target)
        database = url.database if url.get_backend_name() == "sqlite" else None
    with sqlite_migration_lock(database):
        config = alembic_config(target)
        engine = config.attributes.pop("engine", None)
        if engine is None:
            action(config, *args)
            return
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            action(config, *args)


def upgrade(target: Target, revision: str = "head") -> None:
    """Upgrade the database schema to ``revision`` (idempotent; safe at every server start).

    Processes starting together are serialised (PostgreSQL advisory lock, SQLite file lock).
    Alembic's context is process-global: do not call this from several threads at once.

    Args:
        target: Database URL, engine or connection (a connection is used as is, not committed).
        revision: Alembic revision, ``head`` by default.

    """
    _run(target, command.upgrade, revision)


def downgrade(target: Target, revision: str) -> None:
    """Downgrade the database schema to ``revision`` (``base`` drops every table)."""
    _run(target, command.downgrade, revision)


def head_revision() -> str:
    """Return the newest revision id shipped in ``feedback_store/migrations``."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError(f"No migration found in {MIGRATIONS_DIR}")
    return head


def current_revision(target: str | Engine) -> str | None:
    """Return the revision the database is at, or None if it was never migrated."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if isinstance(target, str):
            engine.dispose()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m feedback_store.migrate",
        description="Migrate the story store database (Alembic revisions of feedback_store).",
    )
    parser.add_argument(
        "--url",
        default=None,
        help=f"SQLAlchemy URL (default: ${URL_ENV_VAR}, else {DEFAULT_URL})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="upgrade to a revision (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    down = sub.add_parser("downgrade", help="downgrade to a revision ('base' drops all tables)")
    down.add_argument("revision")
    sub.add_parser("current", help="print the current and the head revision")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = _parser().parse_args(argv)
    url = args.url or os.environ.get(URL_ENV_VAR) or DEFAULT_URL
    if args.command == "upgrade":
        upgrade(url, args.revision)
        print(f"upgraded to {current_revision(url)}")
    elif args.command == "downgrade":
        downgrade(url, args.revision)
        print(f"downgraded to {current_revision(url) or 'base'}")
    else:
        print(f"current: {current_revision(url) or 'none'}  head: {head_revision()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
