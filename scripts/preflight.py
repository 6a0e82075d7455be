"""Check, before anything starts, that every service the configuration names is reachable.

The embedded profile needs nothing (SQLite files, in-memory lock store, no broker). The production
profile names PostgreSQL (trackers and stories), Redis (lock store) and RabbitMQ (event broker):
each one is contacted here, and a missing one is reported by name with the variable to fix, instead
of surfacing later as a traceback in some process log. A PostgreSQL database that does not exist
yet is created when the server is reachable (Rasa's tracker store and Alembic expect it).

Usage: ``python -m scripts.preflight`` (exit code 1 and one line per missing dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import settings as settings_module  # noqa: E402

TIMEOUT_S = 3


@dataclass(frozen=True)
class Check:
    """Outcome of one dependency check."""

    name: str
    ok: bool
    detail: str


def _hidden(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only used in messages
        return url.split("@")[-1]


def _missing(name: str, url: str, reason: object, variable: str, service: str) -> Check:
    reason = str(reason).strip().rstrip(".") or "no answer"
    return Check(
        name, False, f"cannot reach {_hidden(url)}: {reason}. Start {service} or fix {variable}."
    )


def check_postgres(variable: str, url: str, create: bool = True) -> Check:
    """Reach the server of ``url``; create its database when it is missing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    target = make_url(url)
    if target.drivername == "postgresql":
        target = target.set(drivername="postgresql+psycopg2")
    name = target.database or "postgres"
    admin = create_engine(
        target.set(database="postgres"),
        future=True,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": TIMEOUT_S},
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists:
                return Check(f"PostgreSQL ({variable})", True, f"database {name!r} reachable")
            if not create:
                return Check(f"PostgreSQL ({variable})", False, f"database {name!r} is missing")
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            return Check(f"PostgreSQL ({variable})", True, f"database {name!r} created")
    except SQLAlchemyError as err:
        reason = (str(getattr(err, "orig", err)).strip().splitlines() or [""])[0]
        return _missing(f"PostgreSQL ({variable})", url, reason, variable, "PostgreSQL")
    finally:
        admin.dispose()


def check_redis(url: str) -> Check:
    """PING the Redis server of the lock store."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
    try:
        client.ping()
        return Check("Redis (LOCK_STORE_URL)", True, "PING answered")
    except redis.RedisError as err:
        return _missing("Redis (LOCK_STORE_URL)", url, err, "LOCK_STORE_URL", "Redis")
    finally:
        client.close()


def check_rabbitmq(url: str) -> Check:
    """Open and close an AMQP connection to the event broker."""
    import aio_pika

    async def _connect() -> None:
        connection = await aio_pika.connect(url, timeout=TIMEOUT_S)
        await connection.close()

    try:
        asyncio.run(_connect())
        return Check("RabbitMQ (EVENT_BROKER_URL)", True, "AMQP connection opened")
    except Exception as err:  # noqa: BLE001 - aio-pika raises many kinds
        reason = str(err) or type(err).__name__
        return _missing("RabbitMQ (EVENT_BROKER_URL)", url, reason, "EVENT_BROKER_URL", "RabbitMQ")


def run_checks(settings: settings_module.Settings, create: bool = True) -> list[Check]:
    """Check every external dependency named by ``settings`` (none in the embedded profile)."""
    checks: list[Check] = []
    for variable, url in (
        ("TRACKER_DB_URL", settings.tracker_db_url),
        ("FEEDBACK_DB_URL", settings.feedback_db_url),
    ):
        if url.startswith("postgresql"):
            checks.append(check_postgres(variable, url, create=create))
    if settings.lock_store_url:
        checks.append(check_redis(settings.lock_store_url))
    if settings.event_broker_url:
        checks.append(check_rabbitmq(settings.event_broker_url))
    return checks


def main(argv: list[str] | None = None) -> int:
    """Print one line per dependency; exit 1 when one is missing."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.preflight",
        description="Check that PostgreSQL, Redis and RabbitMQ named by the environment answer.",
    )
    parser.add_argument(
        "--no-create", action="store_true", help="do not create missing PostgreSQL databases"
    )
    args = parser.parse_args(argv)
    try:
        settings = settings_module.load()
    except settings_module.SettingsError as err:
        print(f"Invalid configuration: {err}", file=sys.stderr)
        return 2
    checks = run_checks(settings, create=not args.no_create)
    if not checks:
        print("Embedded profile: no external service to check.")
    for check in checks:
        print(f"  {'ok     ' if check.ok else 'MISSING'} {check.name}: {check.detail}")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
