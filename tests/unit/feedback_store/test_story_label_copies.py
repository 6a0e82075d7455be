"""Labels carry exact copies of their story's date and structure; aggregates use them (SQLite)."""

from __future__ import annotations

import pytest

from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import upgrade
from tests.story_aggregate_scenario import check_label_copies_and_aggregates


@pytest.fixture()
def factory(tmp_path):
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def test_label_copies_stay_exact_and_aggregates_equal_the_listed_stories(factory):
    check_label_copies_and_aggregates(factory)
