"""The portal API tests (tests/unit/portal) again, on a real PostgreSQL store.

Each test gets its own database cloned from a seeded template (``CREATE DATABASE … TEMPLATE``);
the server comes from ``FEEDBACK_TEST_POSTGRES_URL`` or the defaults of tests/integration/postgres.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from feedback_store.migrate import upgrade
from tests.integration.postgres import admin_engine, temporary_database
from tests.unit.portal.conftest import open_portal, seed_store
from tests.unit.portal.test_api import *  # noqa: F403 - the same tests, collected here again
from tests.unit.portal.test_api_sweep import *  # noqa: F403

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:You have set a listener:UserWarning"),
]


@pytest.fixture(scope="module")
def admin():
    engine = admin_engine()
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def seed(admin):
    with temporary_database(admin) as url:
        upgrade(url)
        yield seed_store(url, path=url)


@pytest.fixture()
async def portal(seed, admin):
    template = seed.path.rsplit("/", 1)[1]
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        async with open_portal(url, seed) as running:
            yield running
            running.app.ctx.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
