"""Startup checks against the machine's real services, and against closed ports."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

import settings as settings_module
from scripts import preflight
from tests.conftest import free_port
from tests.integration.postgres import admin_engine


def test_each_missing_service_is_named_with_the_variable_to_fix():
    closed = free_port()
    loaded = settings_module.load(
        {
            "TRACKER_DB_URL": f"postgresql://postgres@127.0.0.1:{closed}/x",
            "LOCK_STORE_URL": f"redis://127.0.0.1:{closed}/0",
            "EVENT_BROKER_URL": f"amqp://guest:topsecret@127.0.0.1:{closed}/",
        }
    )
    checks = {c.name: c for c in preflight.run_checks(loaded)}
    assert set(checks) == {
        "PostgreSQL (TRACKER_DB_URL)",
        "Redis (LOCK_STORE_URL)",
        "RabbitMQ (EVENT_BROKER_URL)",
    }
    assert not any(c.ok for c in checks.values())
    assert "Start PostgreSQL or fix TRACKER_DB_URL" in checks["PostgreSQL (TRACKER_DB_URL)"].detail
    assert "Start Redis or fix LOCK_STORE_URL" in checks["Redis (LOCK_STORE_URL)"].detail
    rabbit = checks["RabbitMQ (EVENT_BROKER_URL)"].detail
    assert "Start RabbitMQ or fix EVENT_BROKER_URL" in rabbit and "topsecret" not in rabbit


def test_the_embedded_profile_needs_no_service():
    assert preflight.run_checks(settings_module.load({})) == []


def test_real_services_pass_and_a_missing_database_is_created():
    admin = admin_engine()  # skips when PostgreSQL is missing
    name = f"preflight_{uuid.uuid4().hex[:10]}"
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    loaded = settings_module.load(
        {
            "FEEDBACK_DB_URL": url,
            "LOCK_STORE_URL": "redis://127.0.0.1:6379/0",
            "EVENT_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/",
        }
    )
    try:
        checks = preflight.run_checks(loaded)
        missing = [c for c in checks if not c.ok and "PostgreSQL" not in c.name]
        if missing:
            pytest.skip(f"service missing on this machine: {missing[0].detail}")
        assert [c.detail for c in checks if "PostgreSQL" in c.name] == [
            f"database {name!r} created"
        ]
        with admin.connect() as connection:
            assert connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
        again = preflight.run_checks(loaded)
        assert f"database {name!r} reachable" in [c.detail for c in again]
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
