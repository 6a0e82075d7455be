"""Portable SQL types shared by models and migrations: UTC timestamps on SQLite and PostgreSQL.

Migrations import from here, so keep these definitions stable (add new types, never change one).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text. Values read back are always
    aware datetimes in UTC; naive datetimes passed in are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: D102
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: D102
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class utcnow(FunctionElement):  # noqa: N801 - reads like the SQL function it renders
    """Server-side current UTC timestamp, usable as ``server_default`` and ``onupdate``.

    On SQLite it renders the same text format SQLAlchemy writes for ``DateTime`` values
    (microseconds), so stored timestamps compare correctly with bound parameters.
    """

    type = DateTime(timezone=True)
    inherit_cache = True


@compiles(utcnow)
def _utcnow_default(element, compiler, **kw) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(utcnow, "postgresql")
def _utcnow_postgresql(element, compiler, **kw) -> str:
    return "now()"


@compiles(utcnow, "sqlite")
def _utcnow_sqlite(element, compiler, **kw) -> str:
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"
