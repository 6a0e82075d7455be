"""Committee report: data per engagement, printable HTML and PDF (SQLite via migrations)."""

from __future__ import annotations

import io
import re
import uuid
import zlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from feedback_store.db import make_engine, make_session_factory
from feedback_store.exports import ExportScope
from feedback_store.improvement_actions import create_action
from feedback_store.migrate import upgrade
from feedback_store.models import ImprovementAction
from feedback_store.report import build_committee_report, render_html, render_pdf
from feedback_store.stories import (
    Classification,
    StoryInput,
    set_agent_labels,
    submit_story,
    upsert_structure,
)
from feedback_store.taxonomy import ENGAGEMENTS, IRRITANTS

PARIS = ZoneInfo("Europe/Paris")
Q1 = ExportScope(date(2025, 1, 1), date(2025, 3, 31), ("caf-05",))
XSS = "<script>alert('x')</script>"


def story(session, structure, day, ressenti, irritants, engagements, text):
    return submit_story(
        session,
        StoryInput(
            submission_id=str(uuid.uuid4()),
            structure_code=structure,
            canal="telephone",
            ressenti=ressenti,
            text=text,
            consent=True,
        ),
        Classification(
            irritants, engagements, frozenset(IRRITANTS[i].tag for i in irritants), "test-model"
        ),
        created_at=datetime(*day, 10, tzinfo=PARIS),
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'feedback.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    refs = {}
    with factory.begin() as session:
        upsert_structure(session, "caf-05", "CAF des Hautes-Alpes")
        upsert_structure(session, "caf-04", "CAF des Alpes-de-Haute-Provence")
        # Q1 2025: 5 waits on the phone (E2, E4), 1 rude welcome (E1), 1 positive (E3)
        for i, confidence in enumerate((0.55, 0.91, 0.62, 0.70, 0.66)):
            refs[f"wait{i}"] = story(
                session, "caf-05", (2025, 1, 10 + i), "negatif", {"attente": 0.9},
                {"E2": confidence, "E4": 0.6},
                f"Attente numéro {i} : quarante minutes au téléphone sans réponse.",
            ).reference  # fmt: skip
        refs["rude"] = story(
            session, "caf-05", (2025, 2, 3), "negatif", {"accueil_irrespectueux": 0.8},
            {"E1": 0.8}, f"L'agent a été désagréable au guichet {XSS} et m'a coupé la parole.",
        ).reference  # fmt: skip
        refs["positive"] = story(
            session, "caf-05", (2025, 3, 1), "positif", {}, {"E3": 0.9},
            "L'agente a pris le temps de m'expliquer toute la démarche, merci.",
        ).reference  # fmt: skip
        # A model E2 label with a low confidence, confirmed by an agent: shown first for E2.
        refs["confirmed"] = story(
            session, "caf-05", (2025, 3, 5), "negatif", {"injoignable": 0.5}, {"E2": 0.51},
            "La ligne est toujours occupée, impossible de joindre quelqu'un.",
        ).reference  # fmt: skip
        set_agent_labels(session, refs["confirmed"], author="qualite@caf.fr", engagements=["E2"])
        # Previous period (Q4 2024, 90 days before): 2 waits
        for i in range(2):
            story(
                session, "caf-05", (2024, 11, 5 + i), "negatif", {"attente": 0.9},
                {"E2": 0.8}, f"Ancienne attente {i} au téléphone, bien trop longue.",
            )  # fmt: skip
        # Outside the perimeter: never counted
        for i in range(3):
            story(
                session, "caf-04", (2025, 2, 10 + i), "negatif", {"accueil_irrespectueux": 0.9},
                {"E1": 0.9}, f"Accueil désagréable à Digne, récit {i} hors périmètre.",
            )  # fmt: skip
        create_action(
            session, title="Rappel automatique des usagers en attente", actor="qualite@caf.fr",
            structure_code="caf-05", owner="Pôle accueil", due_date=date(2025, 6, 30),
            status="engagee", irritants=["attente"], story_references=[refs["wait0"]],
        )  # fmt: skip
        create_action(
            session, title="Formation à l'accueil bienveillant", actor="qualite@caf.fr",
            structure_code="caf-05", status="realisee", irritants=["accueil_irrespectueux"],
            done_text="Tous les agents d'accueil ont suivi la formation en février.",
        )  # fmt: skip
        create_action(
            session, title="Nouvelle salle d'attente à Digne", actor="qualite@caf.fr",
            structure_code="caf-04", status="proposee", irritants=["locaux_signaletique"],
        )  # fmt: skip
        create_action(
            session, title="Charte de l'écoute usagers", actor="qualite@caf.fr",
            structure_code="caf-05", status="proposee",
        )  # fmt: skip
    yield factory, refs
    engine.dispose()


@pytest.fixture(scope="module")
def report(store):
    factory, _ = store
    with factory() as session:
        return build_committee_report(session, Q1)


def section(report, code):
    return next(s for s in report.sections if s.code == code)


def test_counts_and_trends_per_engagement(report):
    assert [s.code for s in report.sections] == list(ENGAGEMENTS)
    assert report.stories.current == 8 and report.stories.previous == 2
    assert report.share_positive == round(100 / 8)
    e2 = section(report, "E2")
    assert (e2.stories.current, e2.stories.previous) == (6, 2)
    assert e2.stories.direction == "hausse" and e2.stories.label == "en hausse de 200\u00a0%"
    assert e2.share_of_total == 75
    e1 = section(report, "E1")
    assert (e1.stories.current, e1.stories.previous) == (1, 0)  # Digne's 3 are outside
    assert e1.stories.direction == "nouveau"
    e8 = section(report, "E8")
    assert e8.stories.current == 0 and e8.stories.label == "stable"
    assert e8.irritants == () and e8.verbatims == ()


def test_top_irritants_are_those_of_the_engagement(report):
    e2 = section(report, "E2")
    assert [(i.code, i.trend.current, i.trend.previous) for i in e2.irritants] == [
        ("attente", 5, 2),
        ("injoignable", 1, 0),
    ]
    assert e2.irritants[0].label == "Attente trop longue"
    assert all("E2" in IRRITANTS[i.code].engagements for i in e2.irritants)


def test_verbatims_prefer_confirmed_labels_then_confidence(report, store):
    _, refs = store
    e2 = section(report, "E2")
    assert [v.reference for v in e2.verbatims] == [refs["confirmed"], refs["wait1"], refs["wait3"]]
    assert e2.verbatims[0].source == "agent"
    assert e2.verbatims[0].provenance == "thème confirmé par un agent"
    assert e2.verbatims[1].provenance == "thème détecté automatiquement (confiance 91\u00a0%)"
    assert e2.verbatims[1].ressenti == "Négatif" and e2.verbatims[1].canal == "Téléphone"
    assert e2.verbatims[1].structure == "CAF des Hautes-Alpes"


def test_actions_by_engagement_within_the_perimeter(report):
    titles = {code: [a.title for a in section(report, code).actions] for code in ENGAGEMENTS}
    assert titles["E2"] == titles["E4"] == ["Rappel automatique des usagers en attente"]
    assert titles["E1"] == ["Formation à l'accueil bienveillant"]  # Digne's action is outside
    assert section(report, "E1").actions[0].status_label == "Réalisée"
    assert section(report, "E2").action_summary == "1 engagée"
    assert [a.title for a in report.other_actions] == ["Charte de l'écoute usagers"]
    assert report.action_summary == "1 proposée, 1 engagée, 1 réalisée"


def test_actions_closed_before_the_period_are_left_out(store):
    factory, _ = store
    with factory() as session:
        later = build_committee_report(
            session, ExportScope(date(2030, 1, 1), date(2030, 1, 31), ("caf-05",))
        )
        count = session.execute(select(ImprovementAction.id)).all()
    titles = [a.title for s in later.sections for a in s.actions]
    assert len(count) == 4
    assert "Formation à l'accueil bienveillant" not in titles  # réalisée before 2030
    assert "Rappel automatique des usagers en attente" in titles  # still engagée


def test_html_report(report):
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page
    for code, engagement in ENGAGEMENTS.items():
        assert f'id="{code}"' in page
        assert engagement.label.replace("'", "&#39;") in page
    assert "du 01/01/2025 au 31/03/2025 (90 jours)" in page
    assert "CAF des Hautes-Alpes (caf-05)" in page
    assert "Attente trop longue" in page and "en hausse de 200&nbsp;%" not in page
    assert "en hausse de 200\u00a0%" in page
    assert page.count("<svg") == sum(1 for s in report.sections if s.irritants)
    assert "Tous les agents d&#39;accueil ont suivi la formation en février." in page
    assert "Digne" not in page
    assert XSS not in page and "&lt;script&gt;" in page  # story text is escaped


def pdf_text(data: bytes) -> str:
    """Text shown by a matplotlib PDF: strings of the TJ/Tj operators of each content stream."""
    parts = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for block in re.findall(rb"\[(.*?)\]\s*TJ|\((.*?)\)\s*Tj", content, re.S):
            strings = re.findall(rb"\(((?:\\.|[^\\)])*)\)", block[0]) if block[0] else [block[1]]
            text = b"".join(re.sub(rb"\\(.)", rb"\1", s) for s in strings)
            parts.append(text.decode("latin-1"))
    return " ".join(" ".join(parts).split())


def test_pdf_report(report):
    out = io.BytesIO()
    pages = render_pdf(report, out)
    data = out.getvalue()
    assert data.startswith(b"%PDF-")
    assert pages >= 1 + len(ENGAGEMENTS) + 1  # cover, one per engagement, other actions
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == pages
    text = pdf_text(data)
    assert "Rapport du comité qualité" in text
    for code, engagement in ENGAGEMENTS.items():
        assert f"Engagement {code}" in text
        assert engagement.label in text, engagement.label
    assert "Verbatims représentatifs (anonymisés)" in text
    assert "Attente numéro 1 : quarante minutes au téléphone sans réponse." in text
    assert "[Engagée] Rappel automatique des usagers en attente" in text
    assert "Autres actions d'amélioration" in text


def test_empty_perimeter_report_renders(store):
    factory, _ = store
    with factory() as session:
        empty = build_committee_report(session, ExportScope(date(2020, 1, 1), date(2020, 1, 7), ()))
    assert empty.stories.current == 0 and empty.share_positive is None
    assert all(s.stories.current == 0 and not s.verbatims for s in empty.sections)
    assert "Aucune expérience sur la période." in render_html(empty)
    assert render_pdf(empty, io.BytesIO()) == 1 + len(ENGAGEMENTS)
