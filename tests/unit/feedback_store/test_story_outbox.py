"""Durable local outbox of stories whose database write failed (SQLite, migrated by Alembic)."""

from __future__ import annotations

import json
import stat
import threading
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import upgrade
from feedback_store.models import Story, StoryLabel
from feedback_store.outbox import Outbox
from feedback_store.stories import (
    Classification,
    ConsentRequiredError,
    StoryInput,
    get_story_by_reference,
    list_stories,
    submit_story,
)

TEXT = "Le guichet était fermé alors que le site annonçait une ouverture ce matin-là."


def story_input(**overrides) -> StoryInput:
    values = {
        "submission_id": str(uuid.uuid4()),
        "structure_label": "Préfecture",
        "canal": "guichet",
        "ressenti": "negatif",
        "text": TEXT,
        "postal_code": "20200",
        "consent": True,
    }
    values.update(overrides)
    return StoryInput(**values)


CLASSIFICATION = Classification(
    irritants={"injoignable": 0.7},
    engagements={"E2": 0.7},
    tags=frozenset({"accessibilite"}),
    model_version="test-model-1",
)


@pytest.fixture()
def factory(tmp_path):
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def broken_factory(tmp_path):
    """Sessions on a database that was never migrated: every write fails like a DB outage."""
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def outbox(tmp_path):
    return Outbox(tmp_path / "var" / "story_outbox.jsonl")


def stored(factory) -> list[Story]:
    with factory() as session:
        return list(session.execute(select(Story).order_by(Story.id)).scalars())


def test_append_writes_one_private_json_line_per_story(outbox):
    first = story_input(submission_id=str(uuid.uuid4()).upper(), text=f"  {TEXT}  ")
    outbox.append(first, CLASSIFICATION, queued_at=datetime(2024, 5, 2, 9, tzinfo=timezone.utc))
    outbox.append(story_input())
    lines = outbox.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 == outbox.pending()
    entry = json.loads(lines[0])
    assert entry["queued_at"] == "2024-05-02T09:00:00+00:00"
    assert entry["story"]["submission_id"] == first.submission_id.lower()  # normalised
    assert entry["story"]["text"] == TEXT
    assert entry["classification"] == {
        "irritants": {"injoignable": 0.7},
        "engagements": {"E2": 0.7},
        "tags": ["accessibilite"],
        "model_version": "test-model-1",
    }
    assert json.loads(lines[1])["classification"] is None
    assert stat.S_IMODE(outbox.path.stat().st_mode) == 0o600


def test_append_refuses_an_invalid_story_instead_of_queueing_it(outbox):
    with pytest.raises(ConsentRequiredError):
        outbox.append(story_input(consent=False))
    assert outbox.pending() == 0
    assert not outbox.path.exists()


def test_flush_stores_queued_stories_with_their_submission_time_and_labels(outbox, factory):
    queued_at = datetime(2024, 5, 2, 9, 30, tzinfo=timezone.utc)
    outbox.append(story_input(), CLASSIFICATION, queued_at=queued_at)
    outbox.append(story_input(canal="telephone"), queued_at=queued_at.replace(minute=45))

    result = outbox.flush(factory)

    assert (result.submitted, result.rejected, result.remaining, result.skipped) == (2, 0, 0, False)
    assert outbox.pending() == 0
    assert not outbox.path.exists()
    rows = stored(factory)
    assert [(row.reference, row.canal) for row in rows] == [
        ("EXP-2024-000001", "guichet"),
        ("EXP-2024-000002", "telephone"),
    ]
    assert rows[0].created_at == queued_at
    assert rows[0].departement == "2B"
    with factory() as session:
        record = get_story_by_reference(session, "EXP-2024-000001")
    assert (record.irritants, record.engagements, record.tags, record.model_version) == (
        ("injoignable",),
        ("E2",),
        ("accessibilite",),
        "test-model-1",
    )
    assert outbox.flush(factory) == type(result)(0, 0, 0)


def test_flush_keeps_stories_while_the_database_fails_then_delivers_them_once(
    outbox, factory, broken_factory
):
    stories = [story_input() for _ in range(3)]
    for story in stories:
        outbox.append(story)

    failed = outbox.flush(broken_factory)
    assert (failed.submitted, failed.rejected, failed.remaining) == (0, 0, 3)
    assert outbox.pending() == 3

    with factory.begin() as session:  # the first one did reach the database before the outage
        submit_story(session, stories[0])
    delivered = outbox.flush(factory)

    assert (delivered.submitted, delivered.rejected, delivered.remaining) == (3, 0, 0)
    rows = stored(factory)
    assert [row.submission_id for row in rows] == [story.submission_id for story in stories]
    with factory() as session:
        assert list_stories(session).total == 3


def test_unreadable_or_invalid_lines_are_set_aside_and_do_not_block_the_queue(outbox, factory):
    outbox.append(story_input())
    bad_story = story_input().to_dict() | {"ressenti": "furieux"}
    with outbox.path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"v": 1, "queued_at": "2024-01-01T00:00:00+00:00"}) + "\n")
        handle.write(
            json.dumps({"v": 1, "queued_at": "2024-01-01T00:00:00+00:00", "story": bad_story})
            + "\n"
        )
    outbox.append(story_input())

    result = outbox.flush(factory)

    assert (result.submitted, result.rejected, result.remaining) == (2, 3, 0)
    rejected = [
        json.loads(line)
        for line in outbox.path.with_name("story_outbox.jsonl.rejected").read_text().splitlines()
    ]
    assert [item["reason"].split(":")[0] for item in rejected] == [
        "unreadable entry",
        "unreadable entry",
        "invalid story",
    ]
    assert rejected[0]["line"] == "{not json"
    assert len(stored(factory)) == 2


def test_a_crashed_flush_is_resumed_and_stories_appended_meanwhile_are_kept(outbox, factory):
    outbox.append(story_input())
    processing = outbox.path.with_name("story_outbox.jsonl.processing")
    outbox.path.rename(processing)  # as if a flush died after moving the queue aside
    outbox.append(story_input())
    assert outbox.pending() == 2

    result = outbox.flush(factory)

    assert (result.submitted, result.remaining) == (2, 0)
    assert not processing.exists()
    assert len(stored(factory)) == 2


def test_concurrent_appends_lose_nothing(outbox, factory):
    threads, per_thread = 4, 8
    barrier = threading.Barrier(threads)

    def worker():
        barrier.wait()
        for _ in range(per_thread):
            outbox.append(story_input())

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert outbox.pending() == threads * per_thread
    assert outbox.flush(factory).submitted == threads * per_thread
    with factory() as session:
        labels = session.execute(select(func.count()).select_from(StoryLabel)).scalar_one()
        assert list_stories(session).total == threads * per_thread
    assert labels == 0
