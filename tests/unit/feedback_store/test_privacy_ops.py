"""Retention purge and erasure on SQLite: real tracker store, real story store, real outbox.

The scenario and the checks are shared with the PostgreSQL tests
(``tests/integration/test_privacy_ops_postgres.py``): see ``tests/privacy_scenario.py``.
"""

from __future__ import annotations

import json

import pytest

from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import upgrade
from feedback_store.models import Base
from feedback_store.outbox import Outbox
from feedback_store.privacy_ops import (
    STORY_CHILD_TABLES,
    SUBMISSION_NAMESPACE,
    erase,
    purge,
    submission_id,
)
from tests import privacy_scenario
from tests.privacy_scenario import Backend


@pytest.fixture()
def backend(tmp_path):
    feedback_url = f"sqlite:///{tmp_path / 'feedback.db'}"
    upgrade(feedback_url)
    engine = make_engine(feedback_url)
    yield Backend(
        tracker_url=f"sqlite:///{tmp_path / 'tracker.db'}",
        feedback_url=feedback_url,
        feedback=engine,
        factory=make_session_factory(engine),
        outbox=Outbox(tmp_path / "outbox.jsonl"),
    )
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


def test_tracker_that_never_existed_is_left_alone(backend, tmp_path):
    from feedback_store.privacy_cli import tracker_engine

    assert tracker_engine(f"sqlite:///{tmp_path / 'none.db'}") is None
    assert not (tmp_path / "none.db").exists()
    report = purge(backend.feedback, None, backend.outbox, older_than_days=30)
    assert "events" not in report.deleted and report.total == 0
    with pytest.raises(LookupError, match="EXP-2026-000001"):
        erase(backend.feedback, None, backend.outbox, story_reference="EXP-2026-000001")


@pytest.mark.parametrize("days", [0, -3, True, 1.5])
def test_purge_refuses_a_retention_below_one_day(backend, days):
    with pytest.raises(ValueError, match="jour"):
        purge(backend.feedback, None, None, older_than_days=days)


def test_purge_refuses_a_retention_beyond_the_calendar(backend):
    with pytest.raises(ValueError, match="trop longue"):
        purge(backend.feedback, None, None, older_than_days=99_999_999)


def test_erase_needs_exactly_one_target(backend):
    with pytest.raises(ValueError, match="soit"):
        erase(backend.feedback, None, None)
    with pytest.raises(ValueError, match="soit"):
        erase(backend.feedback, None, None, conversation_id="a", story_reference="EXP-2026-000001")
    with pytest.raises(ValueError, match="vide"):
        erase(backend.feedback, None, None, conversation_id="  ")


def test_submission_ids_are_the_bots():
    from bot.actions import story

    assert SUBMISSION_NAMESPACE == story.SUBMISSION_NAMESPACE
    for started in (1761755138.3329053, None):
        assert submission_id("abc", started) == story.submission_id("abc", started)


def test_every_table_referencing_stories_is_erased_with_them():
    referencing = {
        table.name
        for table in Base.metadata.tables.values()
        for key in table.foreign_keys
        if key.column.table.name == "stories"
    }
    assert referencing == {table.name for table in STORY_CHILD_TABLES}


def _line(submission: str, reference: str) -> str:
    story = {"submission_id": submission, "reference": reference}
    return json.dumps({"v": 1, "queued_at": "2026-01-01T00:00:00+00:00", "story": story})


def test_outbox_discard_covers_queue_processing_and_rejected(tmp_path):
    outbox = Outbox(tmp_path / "outbox.jsonl")
    processing = tmp_path / "outbox.jsonl.processing"
    rejected = tmp_path / "outbox.jsonl.rejected"
    outbox.path.write_text(_line("1", "EXP-2026-1") + "\nnot json\n" + _line("2", "EXP-2026-2"))
    processing.write_text(_line("1", "EXP-2026-1") + "\n")
    rejected.write_text(
        json.dumps({"line": _line("1", "EXP-2026-1"), "reason": "invalid story"}) + "\n"
    )

    def first(entry):
        return entry["story"]["submission_id"] == "1"

    assert outbox.discard(first, dry_run=True) == 3
    assert processing.exists() and "EXP-2026-1" in outbox.path.read_text()
    assert outbox.discard(first) == 3
    assert outbox.path.read_text().splitlines() == ["not json", _line("2", "EXP-2026-2")]
    assert not processing.exists() and not rejected.exists()
    assert outbox.discard(first) == 0
    assert Outbox(tmp_path / "missing.jsonl").discard(first) == 0
    assert not (tmp_path / "missing.jsonl.lock").exists()
