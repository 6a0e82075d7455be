"""Story store on a real PostgreSQL: migrations, concurrency of references, queries, erasure.

A uniquely named database is created for the test session and dropped afterwards. The server is
taken from ``FEEDBACK_TEST_POSTGRES_URL`` (any database the user may connect to, used only to
create and drop the test database), else ``postgres`` then ``root`` on 127.0.0.1:5432/test.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import current_revision, downgrade, head_revision, upgrade
from feedback_store.models import (
    AuditLog,
    Base,
    ImprovementAction,
    ImprovementActionStory,
    Story,
    StoryCounter,
    StoryLabel,
    StoryNote,
)
from feedback_store.outbox import Outbox
from feedback_store.stories import (
    Classification,
    StoryFilters,
    StoryInput,
    add_note,
    aggregate_irritants,
    delete_story,
    get_story_by_reference,
    list_stories,
    set_usager_label,
    submit_story,
)
from feedback_store.taxonomy import TAXONOMY_VERSION
from tests.integration.postgres import admin_engine as _admin_engine
from tests.integration.postgres import temporary_database
from tests.story_aggregate_scenario import check_label_copies_and_aggregates

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"^EXP-(\d{4})-(\d{6})$")
TEXT = "Trois appels, trois réponses différentes sur les pièces à fournir pour mon dossier."


@pytest.fixture(scope="session")
def admin():
    engine = _admin_engine()
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_url(admin):
    with temporary_database(admin) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(pg_url):
    engine = make_engine(pg_url, pool_size=10, max_overflow=10)
    yield engine
    engine.dispose()


@pytest.fixture()
def factory(engine):
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return make_session_factory(engine)


def story_input(**overrides) -> StoryInput:
    values = {
        "submission_id": str(uuid.uuid4()),
        "structure_code": "cpam-13",
        "structure_label": "CPAM des Bouches-du-Rhône",
        "canal": "telephone",
        "ressenti": "negatif",
        "text": TEXT,
        "postal_code": "13001",
        "consent": True,
    }
    values.update(overrides)
    return StoryInput(**values)


def submit(factory, story=None, classification=None, **kwargs):
    with factory.begin() as session:
        return submit_story(session, story or story_input(), classification, **kwargs)


def counter_value(factory) -> int:
    with factory() as session:
        return session.execute(select(func.sum(StoryCounter.value))).scalar_one()


def test_migrations_match_the_models_and_round_trip(pg_url, engine):
    assert current_revision(pg_url) == head_revision()
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        comment = inspect(connection).get_table_comment("stories")["text"]
        assert comment == "Anonymised usager experience stories (consent given)."
    downgrade(pg_url, "base")
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == ["alembic_version"]
    upgrade(pg_url)
    assert current_revision(pg_url) == head_revision()


def migrate_in_processes(url, count):
    """Run ``python -m feedback_store.migrate upgrade`` in ``count`` processes at once."""
    command = [sys.executable, "-m", "feedback_store.migrate", "--url", url, "upgrade"]
    processes = [
        subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(count)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        outputs.append(out.decode().strip())
    return outputs


def test_servers_starting_together_migrate_a_fresh_database_once(admin):
    with temporary_database(admin) as url:
        outputs = migrate_in_processes(url, 3)
        assert outputs == [f"upgraded to {head_revision()}"] * 3
        assert current_revision(url) == head_revision()
        probe = make_engine(url)
        with probe.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        probe.dispose()
    assert versions == [(head_revision(),)]


def test_submitted_story_round_trips_with_server_timestamps(factory):
    before = datetime.now(timezone.utc)
    classification = Classification(
        irritants={"info_contradictoire": 0.83},
        engagements={"E5": 0.8},
        tags=frozenset({"information"}),
        model_version="test-model-1",
    )
    record = submit(factory, story_input(suggestion="Une seule réponse écrite"), classification)
    after = datetime.now(timezone.utc)
    assert REFERENCE.match(record.reference).group(2) == "000001"
    with factory() as session:
        row = session.execute(select(Story)).scalar_one()
        labels = session.execute(select(StoryLabel.code, StoryLabel.confidence)).all()
    assert before - timedelta(seconds=2) <= row.created_at <= after + timedelta(seconds=2)
    assert row.created_at.tzinfo is timezone.utc
    assert (row.departement, row.structure.code, row.taxonomy_version) == (
        "13",
        "cpam-13",
        TAXONOMY_VERSION,
    )
    assert sorted(labels) == [("E5", 0.8), ("info_contradictoire", 0.83), ("information", None)]
    with pytest.raises(IntegrityError, match="ck_stories_consent"), factory.begin() as session:
        session.add(
            Story(
                reference="EXP-2024-999999",
                submission_id=str(uuid.uuid4()),
                canal="guichet",
                ressenti="neutre",
                text_anonymised=TEXT,
                search_text=TEXT,
                consent=False,
                taxonomy_version=TAXONOMY_VERSION,
            )
        )


def run_threads(count, target):
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.extend(target())
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            errors.append(error)

    pool = [threading.Thread(target=worker) for _ in range(count)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    return results


def test_concurrent_submissions_get_unique_gapless_references(factory):
    threads, per_thread = 8, 25
    references = run_threads(
        threads, lambda: [submit(factory).reference for _ in range(per_thread)]
    )
    assert len(references) == len(set(references)) == threads * per_thread
    years = {REFERENCE.match(ref).group(1) for ref in references}
    assert len(years) == 1
    sequences = sorted(int(REFERENCE.match(ref).group(2)) for ref in references)
    assert sequences == list(range(1, threads * per_thread + 1))
    assert counter_value(factory) == threads * per_thread


def test_the_same_submission_sent_concurrently_is_stored_once(factory):
    submit(factory)  # the year's counter row already exists
    shared = story_input()
    references = run_threads(8, lambda: [submit(factory, shared).reference])
    assert len(set(references)) == 1
    assert REFERENCE.match(references[0]).group(2) == "000002"
    assert counter_value(factory) == 2  # the losers gave their number back
    with factory() as session:
        assert session.execute(select(func.count()).select_from(Story)).scalar_one() == 2


def test_queries_filters_search_pagination_and_trends(factory):
    days = [date(2024, 1, 8), date(2024, 1, 10), date(2024, 1, 31), date(2024, 2, 1)]
    seeds = [
        ("caf-05", "05000", {"attente": 0.9}, "Le téléphone SONNE dans le vide depuis des jours."),
        ("caf-05", "05100", {"attente": 0.8, "injoignable": 0.7}, "Aucun créneau, file d'attente."),
        ("pref-2b", "20200", {"delai_traitement": 0.9}, "Titre de séjour en attente : délai 100%."),
        ("pref-2b", "20200", {}, "Agent très aimable, dossier réglé en une visite, merci."),
    ]
    refs = []
    for day, (structure, postal_code, irritants, story_text) in zip(days, seeds, strict=True):
        classification = Classification(irritants=irritants, model_version="test-model-1")
        story = story_input(structure_code=structure, postal_code=postal_code, text=story_text)
        created = datetime(day.year, day.month, day.day, 23, 30, tzinfo=timezone.utc)
        refs.append(submit(factory, story, classification, created_at=created).reference)
    with factory.begin() as session:
        set_usager_label(session, refs[3], irritants=["avis_ignore"])

    def listed(**filters):
        with factory() as session:
            return [r.reference for r in list_stories(session, StoryFilters(**filters)).items]

    assert listed(structure_codes=("caf-05",)) == [refs[1], refs[0]]
    assert listed(departement="2B") == [refs[3], refs[2]]
    assert listed(irritant="attente") == [refs[1], refs[0]]
    assert listed(irritant="avis_ignore") == [refs[3]]
    assert listed(tag="reactivite") == []  # no tags given by this classification
    assert listed(text="telephone vide") == [refs[0]]
    assert listed(text="ATTENTE") == [refs[2], refs[1]]
    assert listed(text="100%") == [refs[2]]
    assert listed(date_from=date(2024, 1, 10), date_to=date(2024, 2, 1)) == [refs[2], refs[1]]

    with factory() as session:
        last = list_stories(session, page=2, per_page=3)
        beyond = list_stories(session, page=5, per_page=3)
        by_irritant = aggregate_irritants(session)
        weekly = aggregate_irritants(session, by="structure", period="week")
        monthly = aggregate_irritants(session, by=None, period="month")
    assert ([r.reference for r in last.items], last.total, last.pages) == ([refs[0]], 4, 2)
    assert (beyond.items, beyond.total) == ((), 4)
    assert [(r.key, r.count) for r in by_irritant] == [
        ("attente", 2),
        ("avis_ignore", 1),
        ("delai_traitement", 1),
        ("injoignable", 1),
    ]
    weeks = Counter(
        (day - timedelta(days=day.weekday()), seed[0])
        for day, seed in zip(days, seeds, strict=True)
    )
    assert {((r.period, r.key), r.count) for r in weekly} == set(weeks.items())
    assert [(r.period, r.count) for r in monthly] == [(date(2024, 1, 1), 3), (date(2024, 2, 1), 1)]


def test_delete_story_cascades_on_postgres(factory):
    record = submit(factory, classification=Classification(irritants={"attente": 0.9}))
    with factory.begin() as session:
        add_note(session, record.reference, author="agent@cpam.fr", body="Usager rappelé.")
        action = ImprovementAction(title="Rappel sous 48 h")
        session.add(action)
        session.flush()
        story_id = session.execute(select(Story.id)).scalar_one()
        session.add(ImprovementActionStory(action_id=action.id, story_id=story_id))
    with factory.begin() as session:
        assert delete_story(session, record.reference, actor="usager")
    with factory() as session:
        assert get_story_by_reference(session, record.reference) is None
        remaining = [
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Story, StoryLabel, StoryNote, ImprovementActionStory, ImprovementAction)
        ]
        audit = session.execute(select(AuditLog.action, AuditLog.target)).one()
    assert remaining == [0, 0, 0, 0, 1]
    assert tuple(audit) == ("story.delete", record.reference)


def test_outbox_flushes_into_postgres(factory, tmp_path):
    outbox = Outbox(tmp_path / "outbox.jsonl")
    queued_at = datetime(2024, 7, 14, 8, tzinfo=timezone.utc)
    stories = [story_input() for _ in range(3)]
    for story in stories:
        outbox.append(story, queued_at=queued_at)
    submit(factory, stories[1], created_at=queued_at)  # already delivered before a crash
    result = outbox.flush(factory)
    assert (result.submitted, result.rejected, result.remaining) == (3, 0, 0)
    with factory() as session:
        rows = session.execute(select(Story.submission_id, Story.created_at)).all()
    assert sorted(rows) == sorted((story.submission_id, queued_at) for story in stories)


def test_label_copies_stay_exact_and_aggregates_equal_the_listed_stories(factory):
    check_label_copies_and_aggregates(factory)
