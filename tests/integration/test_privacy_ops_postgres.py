"""Retention purge and erasure on the real PostgreSQL: tracker and story store in two databases.

Same scenario and checks as the SQLite tests (``tests/privacy_scenario.py``); each test gets
two fresh databases, one for Rasa's ``events`` table and one for the story store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import upgrade
from feedback_store.outbox import Outbox
from tests import privacy_scenario
from tests.integration.postgres import admin_engine, temporary_database
from tests.privacy_scenario import Backend

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin():
    engine = admin_engine()
    yield engine
    engine.dispose()


@pytest.fixture()
def backend(admin, tmp_path) -> Iterator[Backend]:
    with temporary_database(admin) as tracker_url, temporary_database(admin) as feedback_url:
        upgrade(feedback_url)
        engine = make_engine(feedback_url)
        try:
            yield Backend(
                tracker_url=tracker_url,
                feedback_url=feedback_url,
                feedback=engine,
                factory=make_session_factory(engine),
                outbox=Outbox(tmp_path / "outbox.jsonl"),
            )
        finally:
            engine.dispose()


def test_purge_removes_exactly_what_outlived_the_retention(backend):
    privacy_scenario.check_purge(backend)


def test_erase_a_conversation(backend):
    privacy_scenario.check_erase_conversation(backend)


def test_erase_by_story_reference_stored_or_queued(backend):
    privacy_scenario.check_erase_by_reference(backend)


def test_erase_finds_a_flushed_story_by_submission_id(backend):
    privacy_scenario.check_erase_flushed_story(backend)


def test_registered_sender_table_is_purged_and_erased(backend, monkeypatch):
    privacy_scenario.check_registered_table(backend, monkeypatch)


def test_cli_purge_and_erase(backend, capsys, monkeypatch):
    privacy_scenario.check_cli(backend, capsys, monkeypatch)


def test_analytics_rows_are_erased_by_conversation_and_purged_by_age(backend, capsys):
    privacy_scenario.check_analytics_tables(backend, capsys)
