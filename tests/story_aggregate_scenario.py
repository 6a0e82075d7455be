"""Label copies of the story date and structure, and the aggregates read from them.

Shared by the SQLite unit tests and the PostgreSQL integration tests: the aggregates of labels
read ``story_labels.story_created_at`` / ``story_structure_id`` instead of joining stories, so the
copies must equal their story's columns after every kind of write (submission, import with a
date, usager and agent corrections, a label added by hand, a structure deleted), and the counts
must equal those recomputed from the listed stories themselves.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, timezone

from sqlalchemy import delete, select

from feedback_store.models import Story, StoryLabel, Structure
from feedback_store.stories import (
    Classification,
    StoryFilters,
    StoryInput,
    aggregate_irritants,
    list_stories,
    set_agent_labels,
    set_usager_label,
    submit_story,
)
from feedback_store.taxonomy import IRRITANTS

TEXT = "J'ai attendu une heure au guichet puis on m'a dit de revenir avec d'autres papiers."

# (month day of 2025, structure, canal, ressenti, irritants)
STORIES = [
    ((1, 30), "caf-a", "telephone", "negatif", ("attente", "injoignable")),
    ((2, 3), "caf-a", "guichet", "negatif", ("attente",)),
    ((2, 28), "caf-b", "telephone", "neutre", ("delai_traitement", "attente")),
    ((3, 1), "caf-a", "telephone", "negatif", ("info_contradictoire",)),
    ((3, 15), None, "email", "negatif", ("attente",)),
    ((3, 31), "caf-b", "guichet", "positif", ()),
    ((4, 1), "caf-a", "guichet", "negatif", ("numerique_defaillant",)),
]


def _submit(factory, day, structure, canal, ressenti, irritants) -> str:
    story = StoryInput(
        submission_id=str(uuid.uuid4()),
        structure_code=structure,
        structure_label=structure,
        canal=canal,
        ressenti=ressenti,
        text=TEXT,
        consent=True,
    )
    classification = Classification(
        irritants={code: 0.8 for code in irritants},
        engagements={e: 0.7 for code in irritants for e in IRRITANTS[code].engagements},
        tags=frozenset(IRRITANTS[code].tag for code in irritants),
        model_version="test",
    )
    moment = datetime(2025, *day, 23, 30, tzinfo=timezone.utc) if day else None
    with factory.begin() as session:
        return submit_story(session, story, classification, created_at=moment).reference


def seed_and_correct(factory) -> list[str]:
    """Stories with dates (import/outbox) and one dated by the database; then corrections."""
    references = [_submit(factory, *row) for row in STORIES]
    references.append(_submit(factory, None, "caf-b", "email", "negatif", ("attente",)))
    with factory.begin() as session:
        set_usager_label(session, references[0], irritants=["demarche_complexe"])
        set_agent_labels(
            session, references[2], author="agent@caf.fr", irritants=["attente"], tags=[]
        )
    with factory.begin() as session:  # a label given with its story id only
        story_id = session.execute(
            select(Story.id).where(Story.reference == references[3])
        ).scalar_one()
        session.add(StoryLabel(story_id=story_id, space="engagement", code="E8", source="usager"))
    return references


def copies_differing(factory) -> list[tuple]:
    """Labels whose copies differ from their story's created_at and structure_id."""
    with factory() as session:
        rows = session.execute(
            select(
                StoryLabel.id,
                StoryLabel.story_created_at,
                Story.created_at,
                StoryLabel.story_structure_id,
                Story.structure_id,
            ).join(Story, Story.id == StoryLabel.story_id)
        ).all()
    assert rows
    return [row for row in rows if (row[1], row[3]) != (row[2], row[4])]


def recount(factory, filters: StoryFilters, space: str) -> Counter:
    """(month, code) counts of active labels of the listed stories, computed in Python."""
    with factory() as session:
        page = list_stories(session, filters, page=1, per_page=200)
    assert page.total == len(page.items)
    counts: Counter = Counter()
    for story in page.items:
        month = date(story.created_at.year, story.created_at.month, 1)
        codes = {label.code for label in story.labels if label.space == space and label.active}
        counts.update((month, code) for code in codes)
    return counts


def aggregated(factory, filters: StoryFilters, space: str) -> Counter:
    with factory() as session:
        rows = aggregate_irritants(session, filters, by=space, period="month")
    return Counter({(row.period, row.key): row.count for row in rows})


FILTERS = [
    StoryFilters(),
    StoryFilters(structure_codes=("caf-a",)),
    StoryFilters(structure_codes=("caf-a", "caf-b"), date_from=date(2025, 2, 1)),
    StoryFilters(structure_codes=("caf-a",), date_from=date(2025, 2, 1), date_to=date(2025, 4, 1)),
    StoryFilters(structure_codes=()),
    StoryFilters(structure_codes=("caf-a", "caf-b"), canal="telephone"),  # joins stories
    StoryFilters(structure_codes=("caf-a", "caf-b"), irritant="attente"),
    StoryFilters(date_to=date(2025, 3, 31), ressenti="negatif", text="guichet"),
]


def check_label_copies_and_aggregates(factory) -> None:
    """Run the whole scenario; assert copies and counts at each step."""
    seed_and_correct(factory)
    assert copies_differing(factory) == []
    for filters in FILTERS:
        for space in ("irritant", "engagement", "tag"):
            assert aggregated(factory, filters, space) == recount(factory, filters, space), (
                filters,
                space,
            )
    caf_a = recount(factory, StoryFilters(structure_codes=("caf-a",)), "irritant")
    assert caf_a[(date(2025, 1, 1), "demarche_complexe")] == 1  # the usager's correction counts
    assert caf_a[(date(2025, 1, 1), "attente")] == 0  # the model's labels it replaced do not
    with factory.begin() as session:
        session.execute(delete(Structure).where(Structure.code == "caf-b"))
    assert copies_differing(factory) == []
    with factory() as session:
        orphans = session.execute(
            select(StoryLabel.story_structure_id).join(Story).where(Story.structure_id.is_(None))
        ).scalars()
        assert set(orphans) == {None}
    for space in ("irritant", "tag"):
        everything = StoryFilters()
        assert aggregated(factory, everything, space) == recount(factory, everything, space)
