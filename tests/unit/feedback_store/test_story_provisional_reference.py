"""References given without the database (story queued in the outbox), stored as given."""

from __future__ import annotations

import re
import uuid

import pytest

from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import upgrade
from feedback_store.outbox import Outbox
from feedback_store.stories import (
    StoryInput,
    StoryValidationError,
    get_story_by_reference,
    provisional_reference,
    submit_story,
)


@pytest.fixture()
def factory(tmp_path):
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def story(**overrides) -> StoryInput:
    values = {
        "submission_id": str(uuid.uuid4()),
        "canal": "telephone",
        "ressenti": "negatif",
        "text": "Personne ne décroche au standard depuis trois semaines.",
        "consent": True,
    }
    return StoryInput(**(values | overrides))


def test_provisional_reference_is_derived_from_the_submission_id():
    submission = str(uuid.uuid4())
    reference = provisional_reference(submission, 2026)
    assert re.fullmatch(r"EXP-2026-9\d{9}", reference)
    assert provisional_reference(submission, 2026) == reference
    assert provisional_reference(str(uuid.uuid4()), 2026) != reference
    with pytest.raises(StoryValidationError):
        provisional_reference("not-a-uuid", 2026)


def test_a_story_queued_with_its_reference_is_stored_under_it(factory, tmp_path):
    queued = story()
    reference = provisional_reference(queued.submission_id, 2026)
    outbox = Outbox(tmp_path / "outbox.jsonl")
    outbox.append(StoryInput(**(queued.to_dict() | {"reference": reference.lower()})))

    assert outbox.flush(factory).submitted == 1
    with factory() as session:
        stored = get_story_by_reference(session, reference)
    assert stored is not None and stored.submission_id == queued.submission_id

    with factory.begin() as session:  # the counter is untouched: the next story is number 1
        assert submit_story(session, story()).reference.endswith("-000001")


def test_a_reference_already_taken_falls_back_to_the_counter(factory):
    with factory.begin() as session:
        first = submit_story(session, story())
        second = submit_story(session, story(reference=first.reference))
    assert second.reference != first.reference
    assert re.fullmatch(r"EXP-\d{4}-\d{6}", second.reference)


def test_a_malformed_reference_is_refused(factory):
    with pytest.raises(StoryValidationError, match="reference"), factory.begin() as session:
        submit_story(session, story(reference="REF-1"))
