"""Import of Services Publics+ open-data exports (CSV and JSON fixtures) into a SQLite store."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from feedback_store import import_export, taxonomy
from feedback_store.audit import list_entries
from feedback_store.db import make_engine, make_session_factory
from feedback_store.importer import (
    ImportFormatError,
    import_file,
    parse_written_at,
    read_rows,
    submission_id_for,
)
from feedback_store.migrate import upgrade
from feedback_store.models import Story, Structure
from feedback_store.scrubbing import get_scrubber
from feedback_store.stories import Classification, get_story_by_reference, list_stories

DATA = Path(__file__).resolve().parents[2] / "data" / "spplus"
CSV_FILE = DATA / "experiences.csv"
JSON_FILE = DATA / "experiences.json"
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


class KeywordClassifier:
    """A tiny deterministic classifier: irritants from keywords, taxonomy-derived labels."""

    KEYWORDS = {
        "attends": "delai_traitement",
        "aucune nouvelle": "suivi_dossier",
        "courrier": "info_incomprehensible",
        "perdus": "dossier_perdu",
        "formulaire": "demarche_complexe",
    }

    def __init__(self) -> None:
        self.seen: list[str] = []

    def classify(self, text: str) -> Classification:
        self.seen.append(text)
        irritants = {code: 0.9 for word, code in self.KEYWORDS.items() if word in text.lower()}
        engagements = dict.fromkeys(taxonomy.engagements_for(irritants), 0.8) or {"E3": 0.7}
        return Classification(
            irritants, engagements, frozenset(taxonomy.derive_tags(irritants)), "keywords-1"
        )


@pytest.fixture(scope="session")
def scrubber():
    return get_scrubber()  # the real scrubber (spaCy loaded once per session)


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield url, make_session_factory(engine)
    engine.dispose()


def run_import(factory, path, scrubber, classifier=None, **options):
    return import_file(
        factory,
        path,
        scrubber=scrubber,
        classifier=classifier or KeywordClassifier(),
        now=NOW,
        actor="tests",
        **options,
    )


def story_of(session, id_experience):
    submission = submission_id_for(id_experience)
    reference = session.execute(
        select(Story.reference).where(Story.submission_id == submission)
    ).scalar_one()
    return get_story_by_reference(session, reference)


def test_csv_import_summary_lists_rejected_rows(store, scrubber):
    _, factory = store
    summary = run_import(factory, CSV_FILE, scrubber, batch_size=3)
    assert (summary.read, summary.imported, summary.already_present) == (11, 4, 1)
    rejected = {(r.line, r.id_experience): r.reason for r in summary.rejected}
    assert set(rejected) == {
        (6, "10004"),
        (7, "10005"),
        (8, "10006"),
        (9, None),
        (11, "10009"),
        (13, "10011"),
    }  # line numbers count the two lines of the multi-line description of 10003
    assert "ressenti_usager: unknown value (got 'Très mécontent'" in rejected[(6, "10004")]
    assert rejected[(7, "10005")].startswith("description: too short after scrubbing")
    assert rejected[(8, "10006")] == "ecrit_le: not a date (got 'pas de date')"
    assert rejected[(9, None)] == "id_experience: missing"
    assert rejected[(11, "10009")] == "malformed row (14 fields, the header has 13)"
    assert rejected[(13, "10011")] == "ecrit_le: in the future (2099-01-01)"
    assert [(w.line, w.reason) for w in summary.warnings] == [
        (10, "code_postal_usager: invalid value dropped (got 'ABCDE')")
    ]
    text = summary.report()
    assert text.startswith("11 rows read: 4 imported, 1 already present, 6 rejected, 1 warnings.")
    assert "line 8 (id_experience 10006): ecrit_le: not a date (got 'pas de date')" in text
    assert "     1  ecrit_le: not a date" in text


def test_csv_rows_are_scrubbed_classified_and_mapped(store, scrubber):
    _, factory = store
    classifier = KeywordClassifier()
    run_import(factory, CSV_FILE, scrubber, classifier)
    with factory() as session:
        prime = story_of(session, "10001")
        assert "[TELEPHONE]" in prime.text and "06 12 34 56 78" not in prime.text
        assert "Sophie Martin" not in prime.text and "[NOM]" in prime.text
        assert prime.ressenti == "negatif" and prime.canal == "autre"
        assert prime.created_at == datetime(2025, 2, 3, 11, tzinfo=timezone.utc)  # noon Paris
        assert prime.reference == "EXP-2025-000001"
        assert (prime.structure_code, prime.structure_name) == (
            "caf-des-hautes-alpes",
            "CAF des Hautes-Alpes",
        )
        assert prime.title == "Prime d'activité toujours pas versée"
        assert prime.suggestion == "Informer les allocataires de l'avancement de leur dossier"
        assert prime.codes("irritant", "model") == ("delai_traitement",)
        assert prime.model_version == "keywords-1"
        assert prime.codes("tag", "agent") == ("reactivite",)  # tags_generaux_reactivite set
        assert prime.tags == ("reactivite",)

        courrier = story_of(session, "10003")
        assert "[EMAIL]" in courrier.text and "example.org" not in courrier.text
        assert "\n" in courrier.text  # multi-line description kept whole
        assert courrier.postal_code == "05000" and courrier.departement == "05"
        assert courrier.created_at == datetime(2025, 2, 20, 13, 5, tzinfo=timezone.utc)
        assert courrier.codes("tag", "agent") == ("information",)

        accueil = story_of(session, "10002")
        assert accueil.ressenti == "positif"
        assert accueil.created_at == datetime(2025, 2, 12, 9, 30, tzinfo=timezone.utc)
        assert accueil.codes("tag", "agent") == ("relation",)

        lost = story_of(session, "10008")
        assert lost.postal_code is None
        assert set(lost.codes("tag", "agent")) == {"reactivite", "simplicite"}

        stored = session.execute(select(Story.text_anonymised)).scalars().all()
        structures = dict(session.execute(select(Structure.code, Structure.name)).all())
    assert all("06 12 34 56 78" not in text for text in stored)
    assert classifier.seen and all("06 12 34 56 78" not in text for text in classifier.seen)
    assert structures["prefecture-des-hautes-alpes"] == "Préfecture des Hautes-Alpes"


def test_reimport_is_idempotent(store, scrubber):
    _, factory = store
    first = run_import(factory, CSV_FILE, scrubber)
    with factory() as session:
        before = list_stories(session, per_page=50)
    classifier = KeywordClassifier()
    second = run_import(factory, CSV_FILE, scrubber, classifier)
    with factory() as session:
        after = list_stories(session, per_page=50)
        audits = list_entries(session, action="import.spplus")
    assert first.imported == 4
    assert (second.imported, second.already_present) == (0, first.imported + 1)
    assert len(second.rejected) == len(first.rejected)
    assert classifier.seen == []  # nothing classified twice
    assert [s.reference for s in after.items] == [s.reference for s in before.items]
    assert after.total == before.total == 4
    assert [a.details["imported"] for a in audits] == [0, 4]
    assert audits[0].target == "experiences.csv" and audits[0].actor == "tests"


def test_json_import_with_the_json_field_names(store, scrubber):
    _, factory = store
    summary = run_import(factory, JSON_FILE, scrubber)
    assert (summary.read, summary.imported) == (5, 2)
    assert {(r.line, r.reason) for r in summary.rejected} == {
        (3, "description: empty"),
        (4, "not a JSON object (got str)"),
        (
            5,
            "ressenti_usager: unknown value (got ''; expected Positif, Neutre or Négatif)",
        ),
    }
    with factory() as session:
        retraite = story_of(session, "20001")  # numeric id in the JSON, same id as text
        msa = story_of(session, "20002")
    assert "[NIR]" in retraite.text and "1 84 12 75 108 102 40" not in retraite.text
    assert retraite.structure_code == "cnav"  # intitule_typologie_1 when no structure name
    assert retraite.created_at == datetime(2025, 3, 4, 9, 12, tzinfo=timezone.utc)
    assert set(retraite.codes("tag", "agent")) == {"reactivite", "information"}
    assert retraite.suggestion is None  # "Oui" is a flag, not a suggestion
    assert msa.ressenti == "positif" and msa.codes("tag", "agent") == ()
    assert msa.engagements == ("E3",)


def test_opendatasoft_records_and_structure_option(store, scrubber, tmp_path):
    _, factory = store
    with factory.begin() as session:
        session.add(Structure(code="caf-05", name="CAF des Hautes-Alpes"))
    records = {
        "records": [
            {
                "fields": {
                    "id": "30001",
                    "description": "Mes justificatifs ont été\u0000 perdus et on me les redemande.",
                    "ressenti_usager": "Négatif",
                    "ecrit_le": "05/01/2025 08h15",
                    "tags_généraux_réactivité": "Dossier perdu",
                }
            }
        ]
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    summary = run_import(factory, path, scrubber, structure_code="caf-05")
    assert summary.imported == 1
    with factory() as session:
        story = story_of(session, "30001")
        count = session.execute(select(func.count(Structure.id))).scalar_one()
    assert story.structure_code == "caf-05" and count == 1
    assert story.text == "Mes justificatifs ont été perdus et on me les redemande."  # NUL removed
    assert story.created_at == datetime(2025, 1, 5, 7, 15, tzinfo=timezone.utc)
    assert story.codes("tag", "agent") == ("reactivite",)


def test_accented_csv_header_and_comma_delimiter(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(
        "id,description,ressenti_usager,tags_généraux_accessibilité,écrit_le\n"
        "42,Un texte assez long pour être importé sans souci.,Neutre,1,2025-01-02\n".encode(
            "cp1252"
        )
    )
    (row,) = list(read_rows(path))
    assert row.values == {
        "id_experience": "42",
        "description": "Un texte assez long pour être importé sans souci.",
        "ressenti_usager": "Neutre",
        "tags_generaux_accessibilite": "1",
        "ecrit_le": "2025-01-02",
    }


def test_unreadable_files_are_refused_as_a_whole(tmp_path):
    bad_json = tmp_path / "broken.json"
    bad_json.write_text('[{"id_experience": 1,', encoding="utf-8")
    with pytest.raises(ImportFormatError, match="invalid JSON"):
        list(read_rows(bad_json))
    no_description = tmp_path / "columns.csv"
    no_description.write_text("id_experience;titre\n1;Titre\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="required column.*description"):
        list(read_rows(no_description))
    with pytest.raises(ImportFormatError, match="Unknown format"):
        list(read_rows(tmp_path / "export.xml"))


def test_written_at_formats():
    assert parse_written_at("2025-03-04T09:12:00Z") == datetime(
        2025, 3, 4, 9, 12, tzinfo=timezone.utc
    )
    assert parse_written_at("2025-07-01 10:00").astimezone(timezone.utc).hour == 8  # summer
    assert parse_written_at("31/12/2024").date().isoformat() == "2024-12-31"
    with pytest.raises(ValueError, match="not a date"):
        parse_written_at("31/02/2025")


def test_cli_refuses_unknown_structure_and_bad_file(store, tmp_path, capsys):
    url, _ = store
    code = import_export.main(["--url", url, "import", str(CSV_FILE), "--structure", "inconnue"])
    assert code == import_export.EXIT_REFUSED
    assert "unknown structure(s): inconnue" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert import_export.main(["--url", url, "import", str(broken), "--no-progress"]) == 1
    assert "invalid JSON" in capsys.readouterr().err


def test_cli_export_and_report(store, scrubber, tmp_path, capsys):
    url, factory = store
    run_import(factory, CSV_FILE, scrubber)
    out = tmp_path / "out" / "export.csv"
    code = import_export.main(
        ["--url", url, "export", "--from", "2025-02-01", "--to", "2025-02-15",
         "--structure", "caf-des-hautes-alpes,prefecture-des-hautes-alpes",
         "--format", "csv", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    assert "2 stories exported" in capsys.readouterr().out
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("id_experience;titre;description;ressenti_usager")
    assert len(lines) == 3
    pdf = tmp_path / "comite.pdf"
    assert (
        import_export.main(
            [
                "--url",
                url,
                "report",
                "--from",
                "2025-01-01",
                "--to",
                "2025-03-31",
                "--format",
                "pdf",
                "--out",
                str(pdf),
            ]
        )  # fmt: skip
        == 0
    )
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert "Committee report written" in capsys.readouterr().out
    assert (
        import_export.main(
            [
                "--url",
                url,
                "export",
                "--from",
                "2025-03-01",
                "--to",
                "2025-02-01",
                "--format",
                "xlsx",
                "--out",
                str(tmp_path / "x.xlsx"),
            ]
        )  # fmt: skip
        == 1
    )
    assert "Inverted period" in capsys.readouterr().err
    with factory() as session:
        kinds = [e.action for e in list_entries(session, target_type="export")]
    assert kinds == ["export.committee_report.pdf", "export.stories.csv"]
