"""CSV and XLSX exports of stories with the Services Publics+ column names (SQLite, migrations)."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from feedback_store.db import make_engine, make_session_factory
from feedback_store.exports import (
    EXPORT_HEADER,
    ExportScope,
    iter_csv,
    iter_story_rows,
    iter_xlsx,
    write_csv,
    write_xlsx,
)
from feedback_store.migrate import upgrade
from feedback_store.stories import (
    Classification,
    StoryInput,
    StoryValidationError,
    set_agent_labels,
    submit_story,
    upsert_structure,
)
from feedback_store.taxonomy import EXPORT_COLUMNS, IRRITANTS, TAGS_GENERAUX, TAXONOMY_VERSION

PARIS = ZoneInfo("Europe/Paris")
Q1 = ExportScope(date(2025, 1, 1), date(2025, 3, 31), ("caf-05", "cpam-05"))

# name: (structure, Paris time, canal, ressenti, postal code, irritants, engagements, tags, text)
STORIES = {
    "first": (
        "caf-05", datetime(2025, 1, 1, 0, 5), "telephone", "negatif", "05000",
        {"delai_traitement": 0.9, "attente": 0.7}, {"E4": 0.9, "E2": 0.7}, {"reactivite"},
        "J'attends ma prime depuis trois mois et la ligne est saturée.",
    ),
    "positive": (
        "cpam-05", datetime(2025, 2, 10, 14, 30), "guichet", "positif", None,
        {}, {"E3": 0.8}, set(),
        "L'agente a pris le temps de m'expliquer toute la démarche, merci.",
    ),
    "formula": (
        "caf-05", datetime(2025, 3, 2, 9), "en_ligne", "neutre", "05100",
        {"numerique_defaillant": 0.95, "info_incomprehensible": 0.6}, {"E2": 0.9, "E5": 0.6},
        {"accessibilite", "information"},
        "=HYPERLINK(\"http://exemple.invalid\") le site plante à chaque validation",
    ),
    "last_day": (
        "caf-05", datetime(2025, 3, 31, 23, 30), "courrier", "negatif", "05000",
        {"dossier_perdu": 0.8}, {"E4": 0.8}, {"reactivite"},
        "Mon dossier a été perdu une deuxième fois par la caisse.",
    ),
    "after": (
        "caf-05", datetime(2025, 4, 1, 0, 10), "courrier", "negatif", "05000",
        {"dossier_perdu": 0.8}, {"E4": 0.8}, {"reactivite"},
        "Le lendemain de la période : ce récit ne doit pas être exporté.",
    ),
    "other_structure": (
        "caf-04", datetime(2025, 2, 1, 10), "telephone", "negatif", "04000",
        {"attente": 0.9}, {"E2": 0.9}, {"reactivite"},
        "Hors périmètre : la caisse de Digne n'est pas dans l'export demandé.",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('exports') / 'feedback.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    references = {}
    with factory.begin() as session:
        upsert_structure(session, "caf-05", "CAF des Hautes-Alpes", departement="05")
        upsert_structure(session, "cpam-05", "CPAM des Hautes-Alpes", departement="05")
        upsert_structure(session, "caf-04", "CAF des Alpes-de-Haute-Provence")
        for name, row in STORIES.items():
            structure, moment, canal, ressenti, postal, irritants, engagements, tags, text = row
            record = submit_story(
                session,
                StoryInput(
                    submission_id=str(uuid.uuid4()),
                    structure_code=structure,
                    canal=canal,
                    ressenti=ressenti,
                    text=text,
                    title=f"Titre {name}",
                    suggestion="Répondre plus vite" if name == "first" else None,
                    postal_code=postal,
                    partner="mairie-gap" if name == "positive" else None,
                    consent=True,
                ),
                Classification(irritants, engagements, frozenset(tags), "test-model"),
                created_at=moment.replace(tzinfo=PARIS),
            )
            references[name] = record
        # An agent corrects the irritants of "last_day": the export shows the active labels.
        set_agent_labels(
            session,
            references["last_day"].reference,
            author="qualite@caf.fr",
            irritants=["suivi_dossier", "delai_traitement"],
            tags=["information", "reactivite"],
        )
        # A tag général set by an agent without any irritant: the cell holds the tag's label.
        set_agent_labels(
            session, references["positive"].reference, author="qualite@caf.fr", tags=["relation"]
        )
    yield factory, references
    engine.dispose()


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))


def by_reference(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header = rows[0]
    records = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    return {record["reference"]: record for record in records}


def test_header_is_the_sp_plus_export_then_our_labels():
    assert EXPORT_HEADER[: len(EXPORT_COLUMNS)] == EXPORT_COLUMNS
    assert EXPORT_HEADER[len(EXPORT_COLUMNS) :] == (
        "reference",
        "code_structure",
        "canal",
        "statut",
        "partenaire",
        "irritants",
        "engagements",
        "taxonomy_version",
    )


def test_csv_export_of_a_period_and_perimeter(store):
    factory, stories = store
    out = io.BytesIO()
    with factory() as session:
        count = write_csv(session, Q1.filters(), out)
    rows = csv_rows(out.getvalue())
    assert rows[0] == list(EXPORT_HEADER)
    records = by_reference(rows)
    expected = {stories[name].reference for name in ("first", "positive", "formula", "last_day")}
    assert set(records) == expected  # "after" is past the last day, "other_structure" outside
    assert count == len(expected) == len(rows) - 1
    # oldest first
    assert [row[EXPORT_HEADER.index("reference")] for row in rows[1:]] == [
        stories[name].reference for name in ("first", "positive", "formula", "last_day")
    ]

    first = records[stories["first"].reference]
    assert first["id_experience"] == stories["first"].submission_id
    assert first["titre"] == "Titre first"
    assert first["description"] == STORIES["first"][8]
    assert first["ressenti_usager"] == "Négatif"
    assert first["intitule_structure_1"] == "CAF des Hautes-Alpes"
    assert first["ecrit_le"] == "2025-01-01T00:05:00+01:00"
    assert first["code_postal_usager"] == "05000"
    assert first["tags_generaux_reactivite"] == (
        f"{IRRITANTS['attente'].label} | {IRRITANTS['delai_traitement'].label}"
    )
    assert first["tags_generaux_accessibilite"] == ""
    assert first["amelioration_de_service_a_considerer"] == "Répondre plus vite"
    assert first["code_structure"] == "caf-05"
    assert first["canal"] == "telephone"
    assert first["statut"] == "nouveau"
    assert first["irritants"] == "attente|delai_traitement"  # taxonomy order
    assert first["engagements"] == "E2|E4"
    assert first["taxonomy_version"] == TAXONOMY_VERSION

    positive = records[stories["positive"].reference]
    assert positive["ressenti_usager"] == "Positif"
    assert positive["partenaire"] == "mairie-gap"
    assert positive["irritants"] == "" and positive["engagements"] == "E3"
    assert positive["tags_generaux_relation"] == TAGS_GENERAUX["relation"].label == "Relation"
    assert positive["tags_generaux_reactivite"] == ""

    corrected = records[stories["last_day"].reference]
    assert corrected["ecrit_le"] == "2025-03-31T23:30:00+02:00"
    assert corrected["irritants"] == "delai_traitement|suivi_dossier"  # agent labels win
    assert corrected["tags_generaux_information_explication"] == "Absence de suivi du dossier"


def test_csv_neutralises_formulas(store):
    factory, stories = store
    with factory() as session:
        data = b"".join(iter_csv(iter_story_rows(session, Q1.filters())))
    record = by_reference(csv_rows(data))[stories["formula"].reference]
    assert record["description"] == "'" + STORIES["formula"][8]
    assert record["tags_generaux_accessibilite"] == "Démarche en ligne défaillante"
    assert record["tags_generaux_information_explication"] == "Information incompréhensible"


def test_xlsx_export_opens_with_openpyxl(store):
    factory, stories = store
    out = io.BytesIO()
    with factory() as session:
        count = write_xlsx(session, Q1.filters(), out)
    workbook = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    sheet = workbook.active
    assert sheet.title == "Expériences"
    assert [cell.value for cell in sheet[1]] == list(EXPORT_HEADER)
    assert sheet.max_row == count + 1 == 5
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:U{count + 1}"
    column = {name: index + 1 for index, name in enumerate(EXPORT_HEADER)}
    rows = {sheet.cell(r, column["reference"]).value: r for r in range(2, sheet.max_row + 1)}

    first = rows[stories["first"].reference]
    assert sheet.cell(first, column["ressenti_usager"]).value == "Négatif"
    assert sheet.cell(first, column["code_postal_usager"]).value == "05000"  # text, not 5000
    assert sheet.cell(first, column["ecrit_le"]).value == datetime(2025, 1, 1, 0, 5)
    assert sheet.cell(first, column["ecrit_le"]).is_date
    assert sheet.cell(first, column["irritants"]).value == "attente|delai_traitement"
    assert sheet.cell(first, column["partenaire"]).value is None

    formula = sheet.cell(rows[stories["formula"].reference], column["description"])
    assert formula.data_type == "s"
    assert formula.value == STORIES["formula"][8]  # kept as text, never run as a formula


def test_exports_are_empty_but_well_formed_without_stories(store):
    factory, _ = store
    empty = ExportScope(date(2020, 1, 1), date(2020, 1, 31), None)
    with factory() as session:
        csv_data = b"".join(iter_csv(iter_story_rows(session, empty.filters())))
        xlsx_data = b"".join(iter_xlsx(iter_story_rows(session, empty.filters())))
    assert csv_rows(csv_data) == [list(EXPORT_HEADER)]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_data)).active
    assert sheet.max_row == 1


def test_rows_stream_in_batches_in_date_order(store):
    factory, stories = store
    everything = ExportScope(date(2024, 12, 1), date(2025, 4, 30), None)
    with factory() as session:
        rows = list(iter_story_rows(session, everything.filters(), batch_size=2))
    times = [row[EXPORT_HEADER.index("ecrit_le")] for row in rows]
    assert len(rows) == len(STORIES)
    assert times == sorted(times)
    assert {row[EXPORT_HEADER.index("reference")] for row in rows} == {
        record.reference for record in stories.values()
    }


def test_chunks_are_yielded_while_rows_come():
    rows = (
        ("id", "t", f"texte {i}", "Neutre", "S", datetime(2025, 1, 1, tzinfo=timezone.utc))
        + ("",) * 15
        for i in range(2500)
    )
    chunks = list(iter_xlsx(rows, chunk_rows=1000))
    assert len(chunks) >= 3
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(chunks))).active
    assert sheet.max_row == 2501
    assert sheet.cell(2501, 3).value == "texte 2499"


def test_scope_period_rules():
    scope = ExportScope(date(2025, 1, 1), date(2025, 3, 31), ("caf-05",))
    assert scope.days == 90
    previous = scope.previous()
    assert (previous.date_from, previous.date_to) == (date(2024, 10, 3), date(2024, 12, 31))
    assert previous.structure_codes == ("caf-05",)
    filters = scope.filters()
    assert filters.date_from == datetime(2025, 1, 1, tzinfo=PARIS)
    assert filters.date_to == datetime(2025, 4, 1, tzinfo=PARIS)
    with pytest.raises(StoryValidationError, match="Inverted period"):
        ExportScope(date(2025, 3, 1), date(2025, 2, 1))
    with pytest.raises(StoryValidationError, match="longer than"):
        ExportScope(date(2020, 1, 1), date(2025, 1, 1))
    with pytest.raises(StoryValidationError, match="between"):
        ExportScope(date(1, 1, 1), date(1, 1, 5))  # its previous period would underflow
