"""Reach the machine's real PostgreSQL and create throw-away databases for tests."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

CANDIDATE_URLS = (
    "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg2://root@127.0.0.1:5432/test",
)


def admin_engine():
    candidates = (
        [os.environ["FEEDBACK_TEST_POSTGRES_URL"]]
        if os.environ.get("FEEDBACK_TEST_POSTGRES_URL")
        else CANDIDATE_URLS
    )
    problems = []
    for url in candidates:
        engine = create_engine(
            url, future=True, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return engine
        except OperationalError as error:
            problems.append(f"{make_url(url).render_as_string(hide_password=True)}: {error.orig}")
            engine.dispose()
    pytest.skip(
        "PostgreSQL is missing: cannot reach "
        + "; ".join(problems)
        + " (set FEEDBACK_TEST_POSTGRES_URL to a reachable server)"
    )


@contextmanager
def temporary_database(admin):
    """Create a uniquely named database, yield its URL, drop it (even if connections remain)."""
    name = f"feedback_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
