"""Story store on SQLite, schema built by the Alembic migrations (not create_all)."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

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
    Structure,
)
from feedback_store.stories import (
    Classification,
    ConsentRequiredError,
    StoryFilters,
    StoryInput,
    StoryNotFoundError,
    StoryValidationError,
    add_note,
    aggregate_irritants,
    delete_story,
    departement_from_postal_code,
    get_story_by_reference,
    list_stories,
    set_agent_labels,
    set_usager_label,
    submit_story,
    update_status,
    upsert_structure,
)
from feedback_store.taxonomy import CANAUX, IRRITANTS, RESSENTIS, TAXONOMY_VERSION

REPO_ROOT = Path(__file__).resolve().parents[3]
PARIS = ZoneInfo("Europe/Paris")
REFERENCE = re.compile(r"^EXP-(\d{4})-(\d{6})$")
TEXT = "J'ai attendu quarante minutes au téléphone sans obtenir de réponse de la caisse."


def story_input(**overrides) -> StoryInput:
    values = {
        "submission_id": str(uuid.uuid4()),
        "structure_code": "caf-05",
        "structure_label": "CAF des Hautes-Alpes",
        "canal": "telephone",
        "ressenti": "negatif",
        "text": TEXT,
        "suggestion": None,
        "postal_code": "05000",
        "partner": None,
        "consent": True,
    }
    values.update(overrides)
    return StoryInput(**values)


def classification(irritants=None, engagements=None, tags=None) -> Classification:
    return Classification(
        irritants=irritants if irritants is not None else {"attente": 0.91, "injoignable": 0.64},
        engagements=engagements if engagements is not None else {"E2": 0.8},
        tags=frozenset(tags if tags is not None else {"reactivite", "accessibilite"}),
        model_version="test-model-1",
    )


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory):
    """One database migrated by Alembic, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "feedback.db"
    upgrade(f"sqlite:///{path}")
    assert not path.with_name("feedback.db-wal").exists()  # checkpointed when Alembic closed it
    return path


@pytest.fixture()
def db_url(tmp_path, migrated_template):
    path = tmp_path / "var" / "feedback.db"
    path.parent.mkdir()
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture()
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def factory(engine):
    return make_session_factory(engine)


def submit(factory, story=None, classif=None, **kwargs):
    with factory.begin() as session:
        return submit_story(session, story or story_input(), classif, **kwargs)


def count(factory, model) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- schema -------------------------------------------------------------------------------------


def test_migrations_build_the_schema_of_the_models(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'var' / 'feedback.db'}"
    upgrade(db_url)  # creates var/ on the way
    upgrade(db_url)  # idempotent, as at every server start
    engine = make_engine(db_url)
    assert current_revision(db_url) == head_revision() == "0006"
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        tables = set(inspect(connection).get_table_names())
        assert set(Base.metadata.tables) | {"alembic_version"} == tables
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


@pytest.mark.slow
def test_processes_starting_together_migrate_a_fresh_file_once(tmp_path):
    path = tmp_path / "var" / "feedback.db"
    path.parent.mkdir()
    command = [sys.executable, "-m", "feedback_store.migrate", "--url", f"sqlite:///{path}"]
    lock = os.open(path.with_name("feedback.db.migrate.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)  # as if another process were migrating
    try:
        processes = [
            subprocess.Popen(
                [*command, "upgrade"], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        time.sleep(2.5)  # ample time to migrate if they did not wait for the lock
        assert [process.poll() for process in processes] == [None, None]
        assert not path.exists() or current_revision(f"sqlite:///{path}") is None
    finally:
        os.close(lock)
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
        assert out.decode().strip() == f"upgraded to {head_revision()}"
    assert current_revision(f"sqlite:///{path}") == head_revision()


def test_downgrade_to_base_drops_every_table_and_upgrade_restores_them(db_url, engine):
    downgrade(db_url, "base")
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == ["alembic_version"]
    assert current_revision(db_url) is None
    upgrade(db_url)
    with engine.connect() as connection:
        assert "stories" in inspect(connection).get_table_names()


def test_migrate_cli_reports_revisions(db_url, capsys):
    from feedback_store.migrate import main

    assert main(["--url", db_url, "current"]) == 0
    assert capsys.readouterr().out.strip() == "current: 0006  head: 0006"
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "upgrade" in capsys.readouterr().out


def test_database_refuses_a_story_without_consent_even_bypassing_the_service(factory):
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
    with pytest.raises(IntegrityError, match="ck_stories_canal"), factory.begin() as session:
        session.add(
            Story(
                reference="EXP-2024-999998",
                submission_id=str(uuid.uuid4()),
                canal="pigeon",
                ressenti="neutre",
                text_anonymised=TEXT,
                search_text=TEXT,
                consent=True,
                taxonomy_version=TAXONOMY_VERSION,
            )
        )
    assert count(factory, Story) == 0


# --- submit -------------------------------------------------------------------------------------


def test_submit_stores_the_story_and_its_model_labels(factory):
    before = datetime.now(timezone.utc)
    record = submit(
        factory,
        story_input(suggestion="Rappeler les usagers", title="Attente", partner="mairie-gap"),
        classification(),
    )
    after = datetime.now(timezone.utc)

    match = REFERENCE.match(record.reference)
    assert match and match.group(2) == "000001"
    assert int(match.group(1)) in {moment.astimezone(PARIS).year for moment in (before, after)}
    assert record.irritants == ("attente", "injoignable")
    assert record.engagements == ("E2",)
    assert record.tags == ("accessibilite", "reactivite")
    assert before - timedelta(seconds=1) <= record.created_at <= after + timedelta(seconds=1)
    assert record.created_at.tzinfo is timezone.utc

    with factory() as session:
        row = session.execute(select(Story)).scalar_one()
        assert row.reference == record.reference
        assert row.text_anonymised == TEXT
        assert row.suggestion_anonymised == "Rappeler les usagers"
        assert row.search_text.startswith("j'ai attendu quarante minutes au telephone")
        assert row.search_text.endswith("rappeler les usagers")
        assert (row.departement, row.postal_code, row.partner) == ("05", "05000", "mairie-gap")
        assert row.consent is True
        assert row.status == "nouveau"
        assert row.taxonomy_version == TAXONOMY_VERSION
        assert row.model_version == "test-model-1"
        assert row.structure.code == "caf-05"
        assert row.structure.name == "CAF des Hautes-Alpes"
        labels = {
            (label.space, label.code): (label.source, label.confidence, label.active)
            for label in session.execute(select(StoryLabel)).scalars()
        }
    assert labels == {
        ("irritant", "attente"): ("model", 0.91, True),
        ("irritant", "injoignable"): ("model", 0.64, True),
        ("engagement", "E2"): ("model", 0.8, True),
        ("tag", "reactivite"): ("model", None, True),
        ("tag", "accessibilite"): ("model", None, True),
    }


def test_submit_is_idempotent_on_submission_id_and_numbers_have_no_gap(factory):
    story = story_input()
    first = submit(factory, story, classification())
    again = submit(factory, story, classification(irritants={"dossier_perdu": 0.99}))
    assert again == first
    assert count(factory, Story) == 1
    second = submit(factory, story_input())
    assert REFERENCE.match(second.reference).group(2) == "000002"
    with factory() as session:
        assert session.execute(select(StoryCounter.value)).scalar_one() == 2


def test_reference_year_is_the_paris_calendar_year_and_each_year_restarts_at_one(factory):
    new_year_eve_utc = datetime(2024, 12, 31, 23, 30, tzinfo=timezone.utc)  # 00:30 in Paris
    references = [
        submit(factory, created_at=datetime(2024, 3, 1, 12, tzinfo=timezone.utc)).reference,
        submit(factory, created_at=new_year_eve_utc).reference,
        submit(factory, created_at=datetime(2024, 6, 1, 12, tzinfo=timezone.utc)).reference,
    ]
    assert references == ["EXP-2024-000001", "EXP-2025-000001", "EXP-2024-000002"]
    stored = get_story_by_reference_in(factory, "exp-2025-000001")
    assert stored.created_at == new_year_eve_utc


def get_story_by_reference_in(factory, reference):
    with factory() as session:
        return get_story_by_reference(session, reference)


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"consent": False}, ConsentRequiredError, "consent"),
        ({"consent": "yes"}, ConsentRequiredError, "consent"),
        ({"text": "x" * 19}, StoryValidationError, "got 19"),
        ({"text": "x" * 5001}, StoryValidationError, "got 5001"),
        ({"text": "   court   "}, StoryValidationError, "got 5"),
        ({"canal": "pigeon"}, StoryValidationError, "canal"),
        ({"ressenti": "furieux"}, StoryValidationError, "ressenti"),
        ({"postal_code": "5000"}, StoryValidationError, "postal code"),
        ({"postal_code": "00100"}, StoryValidationError, "postal code"),
        ({"submission_id": "not-a-uuid"}, StoryValidationError, "UUID"),
        ({"partner": "<script>"}, StoryValidationError, "partner"),
    ],
)
def test_invalid_story_raises_and_stores_nothing(factory, overrides, error, message):
    with pytest.raises(error, match=message):
        submit(factory, story_input(**overrides))
    assert count(factory, Story) == 0
    assert count(factory, StoryCounter) == 0


@pytest.mark.parametrize(
    ("classif", "message"),
    [
        (classification(irritants={"pas_un_code": 0.9}), "irritant"),
        (classification(engagements={"E9": 0.9}), "engagement"),
        (classification(tags={"divers"}), "tag"),
        (classification(irritants={"attente": 1.5}), r"\[0, 1\]"),
        (classification(irritants={"attente": float("nan")}), r"\[0, 1\]"),
    ],
)
def test_invalid_classification_raises_and_stores_nothing(factory, classif, message):
    with pytest.raises(StoryValidationError, match=message):
        submit(factory, story_input(), classif)
    assert count(factory, Story) == 0


def test_text_length_bounds_are_inclusive_and_every_code_is_accepted(factory):
    references = set()
    for canal in CANAUX:
        for ressenti in RESSENTIS:
            references.add(submit(factory, story_input(canal=canal, ressenti=ressenti)).reference)
    references.add(submit(factory, story_input(text="x" * 20)).reference)
    references.add(submit(factory, story_input(text="y" * 5000)).reference)
    assert len(references) == len(CANAUX) * len(RESSENTIS) + 2
    assert count(factory, Story) == len(references)


@pytest.mark.parametrize(
    ("postal_code", "departement"),
    [
        ("05000", "05"),
        ("75015", "75"),
        ("20000", "2A"),
        ("20167", "2A"),
        ("20200", "2B"),
        ("20600", "2B"),
        ("97400", "974"),
        ("97133", "971"),
        ("98800", "988"),
    ],
)
def test_departement_is_derived_from_the_postal_code(factory, postal_code, departement):
    assert departement_from_postal_code(postal_code) == departement
    record = submit(factory, story_input(postal_code=f" {postal_code} "))
    assert (record.postal_code, record.departement) == (postal_code, departement)


def test_unknown_structure_code_is_registered_once_and_then_reused(factory):
    submit(factory, story_input(structure_code="cpam-13", structure_label="CPAM Marseille"))
    submit(factory, story_input(structure_code="cpam-13", structure_label="la cpam"))
    with factory.begin() as session:
        upsert_structure(session, "cpam-13", "CPAM des Bouches-du-Rhône", kind="cpam")
    with factory() as session:
        structures = session.execute(select(Structure)).scalars().all()
        assert [(s.code, s.name, s.kind) for s in structures] == [
            ("cpam-13", "CPAM des Bouches-du-Rhône", "cpam")
        ]
        labels = session.execute(select(Story.structure_label).order_by(Story.id)).scalars().all()
        assert labels == ["CPAM Marseille", "la cpam"]
    story = submit(factory, story_input(structure_code=None, structure_label="Mairie"))
    assert (story.structure_code, story.structure_label) == (None, "Mairie")


# --- labels -------------------------------------------------------------------------------------


def test_usager_correction_outranks_model_labels_which_are_kept(factory):
    record = submit(factory, story_input(), classification())
    with factory.begin() as session:
        corrected = set_usager_label(session, record.reference, irritants=["dossier_perdu"])
    assert corrected.irritants == ("dossier_perdu",)
    assert corrected.tags == (IRRITANTS["dossier_perdu"].tag,)
    assert corrected.engagements == ("E2",)  # untouched space
    assert set(corrected.codes("irritant", source="model")) == {"attente", "injoignable"}

    with factory() as session:
        by_irritant = aggregate_irritants(session, by="irritant")
        filtered = list_stories(session, StoryFilters(irritant="attente"))
    assert [(row.key, row.count) for row in by_irritant] == [("dossier_perdu", 1)]
    assert filtered.total == 0

    with factory.begin() as session:
        none_of_these = set_usager_label(session, record.reference, irritants=[])
    assert none_of_these.irritants == ()
    assert none_of_these.tags == ()


def test_agent_labels_outrank_usager_labels_and_are_audited(factory):
    record = submit(factory, story_input(), classification())
    with factory.begin() as session:
        set_agent_labels(
            session, record.reference, author="agent@caf.fr", irritants=["renvoi_de_service"]
        )
        after_usager = set_usager_label(session, record.reference, irritants=["attente"])
    assert after_usager.irritants == ("renvoi_de_service",)
    assert after_usager.codes("irritant", source="usager") == ("attente",)
    with factory() as session:
        audit = session.execute(select(AuditLog)).scalar_one()
        agent_label = session.execute(
            select(StoryLabel).where(StoryLabel.source == "agent")
        ).scalar_one()
    assert (audit.actor, audit.action, audit.target) == (
        "agent@caf.fr",
        "story.labels",
        record.reference,
    )
    assert audit.details == {"irritant": ["renvoi_de_service"]}
    assert (agent_label.author, agent_label.confidence, agent_label.active) == (
        "agent@caf.fr",
        None,
        True,
    )


def test_label_functions_reject_unknown_references_and_codes(factory):
    record = submit(factory)
    with factory.begin() as session:
        with pytest.raises(StoryNotFoundError):
            set_usager_label(session, "EXP-1999-000001", irritants=["attente"])
        with pytest.raises(StoryValidationError, match="irritant"):
            set_usager_label(session, record.reference, irritants=["attente", "bof"])
        assert get_story_by_reference(session, "EXP-1999-000001") is None


# --- listing, search, pagination ----------------------------------------------------------------

FS = "fs-ajaccio"
SEEDS = [
    # (day, structure, canal, ressenti, postal code, partner, irritants, word in the text)
    (date(2024, 1, 8), "caf-05", "telephone", "negatif", "05000", None, {"attente"}, "attente"),
    (
        date(2024, 1, 9),
        "caf-05",
        "guichet",
        "negatif",
        "05100",
        "gap",
        {"locaux_signaletique"},
        "lieu",
    ),
    (
        date(2024, 1, 20),
        "cpam-13",
        "en_ligne",
        "negatif",
        "13001",
        None,
        {"numerique_defaillant", "attente"},
        "site",
    ),
    (date(2024, 2, 2), "cpam-13", "telephone", "positif", "13001", None, set(), "merci"),
    (
        date(2024, 2, 14),
        "pref-2a",
        "courrier",
        "neutre",
        "20000",
        FS,
        {"delai_traitement"},
        "délai",
    ),
    (date(2024, 2, 15), None, "email", "negatif", None, None, {"info_contradictoire"}, "mail"),
    (date(2024, 3, 1), "caf-05", "france_services", "positif", "97400", FS, set(), "aide"),
]


def seed(factory):
    references = []
    for day, structure, canal, ressenti, postal_code, partner, irritants, word in SEEDS:
        story = story_input(
            structure_code=structure,
            structure_label=structure or "Je ne sais plus",
            canal=canal,
            ressenti=ressenti,
            postal_code=postal_code,
            partner=partner,
            text=f"Mon histoire ({word}) avec le service public, racontée en détail.",
        )
        classif = classification(
            irritants={code: 0.8 for code in irritants},
            engagements={e: 0.7 for code in irritants for e in IRRITANTS[code].engagements},
            tags={IRRITANTS[code].tag for code in irritants},
        )
        created = datetime(day.year, day.month, day.day, 10, tzinfo=timezone.utc)
        references.append(submit(factory, story, classif, created_at=created).reference)
    return references


def expected(references, predicate):
    return {ref for ref, row in zip(references, SEEDS, strict=True) if predicate(*row)}


def listed(factory, filters, per_page=50):
    with factory() as session:
        page = list_stories(session, filters, page=1, per_page=per_page)
    assert page.total == len(page.items)
    return {record.reference for record in page.items}


def test_each_filter_selects_exactly_the_matching_stories(factory):
    refs = seed(factory)
    with factory.begin() as session:
        update_status(session, refs[2], "traite", actor="agent@cpam.fr")
    departement = {"05000": "05", "05100": "05", "13001": "13", "20000": "2A", "97400": "974"}
    cases = [
        (StoryFilters(structure_codes=("caf-05",)), lambda d, s, *_: s == "caf-05"),
        (
            StoryFilters(structure_codes=("caf-05", "pref-2a")),
            lambda d, s, *_: s in ("caf-05", "pref-2a"),
        ),
        (StoryFilters(structure_codes=()), lambda *_: False),
        (StoryFilters(date_from=date(2024, 1, 20)), lambda d, *_: d >= date(2024, 1, 20)),
        (StoryFilters(date_to=date(2024, 2, 14)), lambda d, *_: d < date(2024, 2, 14)),
        (
            StoryFilters(date_from=date(2024, 2, 1), date_to=date(2024, 3, 1)),
            lambda d, *_: date(2024, 2, 1) <= d < date(2024, 3, 1),
        ),
        (StoryFilters(irritant="attente"), lambda *r: "attente" in r[6]),
        (
            StoryFilters(engagement="E2"),
            lambda *r: any("E2" in IRRITANTS[code].engagements for code in r[6]),
        ),
        (
            StoryFilters(tag="information"),
            lambda *r: any(IRRITANTS[code].tag == "information" for code in r[6]),
        ),
        (StoryFilters(canal="telephone"), lambda *r: r[2] == "telephone"),
        (StoryFilters(ressenti="positif"), lambda *r: r[3] == "positif"),
        (StoryFilters(departement="2a"), lambda *r: departement.get(r[4]) == "2A"),
        (StoryFilters(departement="974"), lambda *r: departement.get(r[4]) == "974"),
        (StoryFilters(partner=FS), lambda *r: r[5] == FS),
        (StoryFilters(status="traite"), lambda *r: r[7] == "site"),
        (StoryFilters(status="nouveau"), lambda *r: r[7] != "site"),
        (
            StoryFilters(structure_codes=("caf-05",), ressenti="negatif", irritant="attente"),
            lambda d, s, c, r, *rest: s == "caf-05" and r == "negatif" and "attente" in rest[2],
        ),
    ]
    for filters, predicate in cases:
        assert listed(factory, filters) == expected(refs, predicate), filters
    assert listed(factory, StoryFilters(status="clos")) == set()


def test_unknown_filter_codes_raise(factory):
    with factory() as session:
        for filters in (
            StoryFilters(irritant="nope"),
            StoryFilters(canal="fax"),
            StoryFilters(status="archive"),
        ):
            with pytest.raises(StoryValidationError):
                list_stories(session, filters)


def test_text_search_ignores_case_and_accents_and_treats_wildcards_literally(factory):
    stories = {
        "a": "Le TÉLÉPHONE sonnait dans le vide, personne au bout du fil.",
        "b": "Un chef-d'œuvre de complexité administrative, 100% incompréhensible.",
        "c": "Rendez-vous obtenu rapidement, accueil très agréable au guichet.",
    }
    refs = {
        key: submit(factory, story_input(text=text, suggestion="Plus de délais annoncés")).reference
        for key, text in stories.items()
    }
    assert listed(factory, StoryFilters(text="telephone")) == {refs["a"]}
    assert listed(factory, StoryFilters(text="Téléphone VIDE")) == {refs["a"]}
    assert listed(factory, StoryFilters(text="téléphone guichet")) == set()
    assert listed(factory, StoryFilters(text="oeuvre")) == {refs["b"]}
    assert listed(factory, StoryFilters(text="100%")) == {refs["b"]}
    assert listed(factory, StoryFilters(text="1_0")) == set()
    assert listed(factory, StoryFilters(text="%")) == {refs["b"]}
    assert listed(factory, StoryFilters(text="delais")) == set(refs.values())  # suggestion


def test_pagination_is_newest_first_and_beyond_the_end_is_empty_with_the_total(factory):
    start = datetime(2024, 5, 1, 8, tzinfo=timezone.utc)
    refs = [submit(factory, created_at=start + timedelta(hours=i)).reference for i in range(7)]
    newest_first = list(reversed(refs))
    with factory() as session:
        pages = [list_stories(session, page=n, per_page=3) for n in (1, 2, 3, 4)]
        with pytest.raises(ValueError, match="page"):
            list_stories(session, page=0)
        with pytest.raises(ValueError, match="per_page"):
            list_stories(session, per_page=201)
    assert [[r.reference for r in p.items] for p in pages] == [
        newest_first[0:3],
        newest_first[3:6],
        newest_first[6:7],
        [],
    ]
    assert {(p.total, p.pages, p.per_page) for p in pages} == {(7, 3, 3)}
    assert pages[3].page == 4


# --- aggregates ---------------------------------------------------------------------------------


def test_aggregates_count_by_key_and_by_period(factory):
    refs = seed(factory)
    irritant_counts = Counter(code for row in SEEDS for code in row[6])
    with factory() as session:
        by_irritant = aggregate_irritants(session)
        by_canal = aggregate_irritants(session, by="canal")
        by_structure = aggregate_irritants(session, by="structure")
        by_departement = aggregate_irritants(session, by="departement")
        monthly = aggregate_irritants(session, by=None, period="month")
        weekly_attente = aggregate_irritants(
            session, StoryFilters(irritant="attente"), by=None, period="week"
        )
        monthly_tags = aggregate_irritants(session, by="tag", period="month")
        caf_only = aggregate_irritants(session, StoryFilters(structure_codes=("caf-05",)))
        total = aggregate_irritants(session, by=None)
        with pytest.raises(ValueError, match="aggregate"):
            aggregate_irritants(session, by="title")
        with pytest.raises(ValueError, match="period"):
            aggregate_irritants(session, period="day")
    assert {(r.key, r.count) for r in by_irritant} == set(irritant_counts.items())
    assert [r.count for r in by_irritant] == sorted(irritant_counts.values(), reverse=True)
    assert by_irritant[0].key == "attente"
    assert {(r.key, r.count) for r in by_canal} == set(Counter(row[2] for row in SEEDS).items())
    assert {(r.key, r.count) for r in by_structure} == set(Counter(row[1] for row in SEEDS).items())
    assert {(r.key, r.count) for r in by_departement} == {
        ("05", 2),
        ("13", 2),
        ("2A", 1),
        ("974", 1),
        (None, 1),
    }
    months = Counter(date(row[0].year, row[0].month, 1) for row in SEEDS)
    assert [(r.period, r.count) for r in monthly] == sorted(months.items())
    # 2024-01-08 is a Monday; 2024-01-20 is in the week of Monday 2024-01-15.
    assert [(r.period, r.count) for r in weekly_attente] == [
        (date(2024, 1, 8), 1),
        (date(2024, 1, 15), 1),
    ]
    tag_months = Counter(
        (date(row[0].year, row[0].month, 1), tag)
        for row in SEEDS
        for tag in {IRRITANTS[code].tag for code in row[6]}
    )
    assert {((r.period, r.key), r.count) for r in monthly_tags} == set(tag_months.items())
    assert [r.period for r in monthly_tags] == sorted(r.period for r in monthly_tags)
    caf_counts = Counter(code for row in SEEDS if row[1] == "caf-05" for code in row[6])
    assert {(r.key, r.count) for r in caf_only} == set(caf_counts.items())
    assert [(r.key, r.count, r.period) for r in total] == [(None, len(refs), None)]


# --- status, notes, erasure ---------------------------------------------------------------------


def test_update_status_records_an_audit_entry(factory):
    record = submit(factory)
    with factory.begin() as session:
        updated = update_status(session, record.reference, "en_cours", actor="agent@caf.fr")
        with pytest.raises(StoryValidationError, match="status"):
            update_status(session, record.reference, "perdu", actor="agent@caf.fr")
        with pytest.raises(StoryNotFoundError):
            update_status(session, "EXP-2000-000001", "clos", actor="agent@caf.fr")
    assert updated.status == "en_cours"
    assert updated.updated_at >= record.updated_at
    with factory() as session:
        audit = session.execute(select(AuditLog)).scalar_one()
    assert (audit.actor, audit.action, audit.target, audit.details) == (
        "agent@caf.fr",
        "story.status",
        record.reference,
        {"from": "nouveau", "to": "en_cours"},
    )
    assert audit.at.tzinfo is timezone.utc


def test_delete_story_erases_the_story_and_everything_attached(factory, engine):
    record = submit(factory, story_input(), classification())
    keep = submit(factory, story_input(), classification())
    with factory.begin() as session:
        add_note(session, record.reference, author="agent@caf.fr", body="Rappelé le 3 mars.")
        action = ImprovementAction(title="Rappel automatique", owner="Accueil")
        session.add(action)
        session.flush()
        story_ids = session.execute(select(Story.id).order_by(Story.id)).scalars().all()
        session.add_all(ImprovementActionStory(action_id=action.id, story_id=i) for i in story_ids)
    assert (count(factory, StoryNote), count(factory, ImprovementActionStory)) == (1, 2)

    with factory.begin() as session:
        assert delete_story(session, record.reference, actor="usager") is True
    with factory.begin() as session:
        assert delete_story(session, record.reference) is False

    with factory() as session:
        assert get_story_by_reference(session, record.reference) is None
        assert get_story_by_reference(session, keep.reference) is not None
        assert session.execute(select(func.count()).select_from(StoryLabel)).scalar_one() == 5
        audit = session.execute(select(AuditLog)).scalar_one()
    assert (count(factory, StoryNote), count(factory, ImprovementActionStory)) == (0, 1)
    assert count(factory, ImprovementAction) == 1
    assert (audit.action, audit.target, audit.actor, audit.details) == (
        "story.delete",
        record.reference,
        "usager",
        None,
    )
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        leftover = connection.execute(
            text("SELECT count(*) FROM stories WHERE reference = :r"), {"r": record.reference}
        ).scalar_one()
    assert leftover == 0


# --- concurrency --------------------------------------------------------------------------------


def test_concurrent_submissions_get_distinct_gapless_references(factory):
    threads, per_thread = 4, 10
    barrier = threading.Barrier(threads)
    results: list[str] = []
    errors: list[BaseException] = []
    shared = story_input()

    def worker():
        try:
            barrier.wait()
            for _ in range(per_thread):
                results.append(submit(factory, story_input()).reference)
            results.append(submit(factory, shared).reference)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    assert errors == []
    shared_refs = {
        ref
        for ref in results
        if get_story_by_reference_in(factory, ref).submission_id == shared.submission_id
    }
    assert len(shared_refs) == 1
    distinct = set(results)
    assert len(distinct) == threads * per_thread + 1
    sequences = sorted(int(REFERENCE.match(r).group(2)) for r in distinct)
    assert sequences == list(range(1, threads * per_thread + 2))
    assert count(factory, Story) == threads * per_thread + 1
