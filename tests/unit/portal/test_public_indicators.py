"""Public indicators page (engagement 6): figures, suppression, no personal data, bad input."""

from __future__ import annotations

import html
import uuid
from datetime import date, datetime, timezone

import pytest

from feedback_store.improvement_actions import create_action
from feedback_store.public_indicators import default_period, public_indicators
from feedback_store.stories import Classification, StoryInput, submit_story
from feedback_store.taxonomy import ENGAGEMENTS, IRRITANTS

pytestmark = pytest.mark.filterwarnings("ignore:You have set a listener:UserWarning")

PERIOD = {"from": "2025-01-01", "to": "2025-12-31"}
SECRET_TEXT = "Phrase témoin confidentielle numéro"
PARTNER = "partenaire-secret-42"
OWNER = "Jeanne Responsable-Secrète"

# (structure, ressenti, irritants, engagements, how many) — all in 2025
BATCHES = (
    ("caf-05", "negatif", {"attente": 0.9}, {"E2": 0.8}, 7),
    ("caf-05", "positif", {}, {"E3": 0.9}, 6),
    ("caf-05", "negatif", {"numerique_defaillant": 0.9}, {"E2": 0.7}, 5),
    ("caf-05", "neutre", {"delai_traitement": 0.8}, {"E4": 0.8}, 2),
    ("cpam-05", "positif", {}, {"E3": 0.9}, 1),
)


@pytest.fixture()
async def store(portal):
    """The portal with the 2025 stories above and four improvement actions; yields references."""
    references = list(portal.seed.references.values())
    with portal.session_factory().begin() as session:
        number = 0
        for structure, ressenti, irritants, engagements, count in BATCHES:
            for _ in range(count):
                number += 1
                story = submit_story(
                    session,
                    StoryInput(
                        submission_id=str(uuid.uuid4()),
                        structure_code=structure,
                        canal="telephone",
                        ressenti=ressenti,
                        text=f"{SECRET_TEXT} {number}, avec assez de mots pour être valide.",
                        partner=PARTNER,
                        postal_code="05000",
                        consent=True,
                    ),
                    Classification(irritants, engagements, frozenset(), "test-model"),
                    created_at=datetime(2025, 1 + number % 12, 3, 10, tzinfo=timezone.utc),
                )
                references.append(story.reference)
        create_action(
            session,
            title="Rappel automatique des usagers en attente",
            actor="qualite@caf.fr",
            structure_code="caf-05",
            owner=OWNER,
            status="realisee",
            done_text="Nous rappelons désormais chaque usager sous 48 heures.",
            irritants=["attente"],
            story_references=[references[-1]],
        )
        create_action(
            session,
            title="Refonte du formulaire en ligne",
            actor="qualite@caf.fr",
            structure_code="caf-05",
            owner=OWNER,
            status="engagee",
        )
        create_action(
            session, title="Idée non retenue", actor="qualite@caf.fr", structure_code="caf-05"
        )
        create_action(
            session,
            title="Ouverture le samedi matin",
            actor="qualite@caf.fr",
            structure_code="caf-04",
            owner=OWNER,
            status="realisee",
            done_text="L'accueil est ouvert le samedi de 9 h à 12 h.",
        )
    return references


def test_service_figures_on_seeded_data(portal, store):
    with portal.session_factory()() as session:
        figures = public_indicators(session, date(2025, 1, 1), date(2025, 12, 31), "caf-05")
    assert figures.structure_name == "CAF des Hautes-Alpes"
    assert figures.total == 20
    assert figures.positive_share == pytest.approx(6 / 20)
    top = [(cell.code, cell.count) for cell in figures.top_irritants]
    assert top == [("attente", 7), ("numerique_defaillant", 5), ("delai_traitement", None)]
    engagements = {cell.code: cell.count for cell in figures.engagements}
    assert list(engagements) == [f"E{number}" for number in range(1, 9)]
    assert engagements["E2"] == 12 and engagements["E3"] == 6
    assert engagements["E4"] is None  # 2 stories: suppressed
    assert engagements["E1"] == 0
    assert (figures.actions_engaged, figures.actions_done) == (1, 1)
    assert [action.title for action in figures.realised] == [
        "Rappel automatique des usagers en attente"
    ]


def test_service_all_structures_and_period_bounds(portal, store):
    with portal.session_factory()() as session:
        everything = public_indicators(session, date(2025, 1, 1), date(2025, 12, 31))
        one_day = public_indicators(session, date(2025, 2, 3), date(2025, 2, 3))
    assert everything.total == 21  # the 2024 stories of the conftest are outside the period
    assert everything.positive_share == pytest.approx(7 / 21)
    assert (everything.actions_engaged, everything.actions_done) == (1, 2)
    # story number 1 (created on 3 February) is alone that day: suppressed
    assert one_day.total is None and one_day.positive_share is None


def test_default_period_is_the_last_twelve_months():
    assert default_period(date(2026, 11, 22)) == (date(2025, 11, 23), date(2026, 11, 22))
    assert default_period(date(2028, 2, 29)) == (date(2027, 3, 1), date(2028, 2, 29))


async def test_page_is_public_and_shows_the_figures(portal, store):
    answer = await portal.client.get("/indicateurs", params={**PERIOD, "structure": "caf-05"})
    assert answer.status_code == 200
    text = html.unescape(answer.text)
    assert '<html lang="fr"' in text and "/static/dsfr/dsfr.min.css" in text
    assert "<h1>Indicateurs de transparence</h1>" in text
    assert 'id="total-histoires">20<' in text
    assert 'id="part-positive">30\u00a0%<' in text
    first, second = IRRITANTS["attente"].label, IRRITANTS["numerique_defaillant"].label
    table = text[text.index('id="table-irritants"') :]
    assert 0 <= table.index(first) < table.index(second) < table.index("moins de 5")
    assert text.count("<caption>") == 2
    assert 'aria-hidden="true"' in text  # the chart
    assert f"E2 — {ENGAGEMENTS['E2'].label}" in text
    assert "moins de 5" in text
    assert 'id="actions-engagees">1<' in text and 'id="actions-realisees">1<' in text
    assert "Nous rappelons désormais chaque usager sous 48 heures." in text
    assert "Ouverture le samedi matin" not in text  # another structure
    assert "Se déconnecter" not in text and "/dashboard/stories" not in text


async def test_small_counts_are_hidden(portal, store):
    answer = await portal.client.get("/indicateurs", params={**PERIOD, "structure": "cpam-05"})
    assert answer.status_code == 200
    assert 'id="total-histoires">moins de 5<' in answer.text
    assert 'id="part-positive">–<' in answer.text
    data = (
        await portal.client.get("/indicateurs.json", params={**PERIOD, "structure": "cpam-05"})
    ).json()
    assert data["total"] is None and data["positive_share"] is None
    e3 = next(cell for cell in data["engagements"] if cell["code"] == "E3")
    assert e3 == {"code": "E3", "label": e3["label"], "count": None, "suppressed": True}


async def test_json_has_the_same_figures(portal, store):
    answer = await portal.client.get("/indicateurs.json", params=PERIOD)
    assert answer.status_code == 200
    data = answer.json()
    assert (data["date_from"], data["date_to"]) == ("2025-01-01", "2025-12-31")
    assert data["total"] == 21 and data["positive_share"] == pytest.approx(7 / 21)
    assert [cell["code"] for cell in data["top_irritants"]][:2] == [
        "attente",
        "numerique_defaillant",
    ]
    assert data["top_irritants"][0]["count"] == 7
    assert (data["actions_engaged"], data["actions_done"]) == (1, 2)
    assert {action["title"] for action in data["realised"]} == {
        "Rappel automatique des usagers en attente",
        "Ouverture le samedi matin",
    }


async def test_no_personal_data_in_page_or_json(portal, store):
    for path in ("/indicateurs", "/indicateurs.json"):
        for params in (PERIOD, {**PERIOD, "structure": "caf-05"}, {}):
            answer = await portal.client.get(path, params=params)
            assert answer.status_code == 200
            body = html.unescape(answer.text)
            assert SECRET_TEXT not in body
            assert PARTNER not in body and OWNER not in body
            assert "qualite@caf.fr" not in body and "agent05" not in body
            assert not any(reference in body for reference in store)
            assert "EXP-" not in body


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2025-13-01"}, "AAAA-MM-JJ"),
        ({"to": "demain"}, "AAAA-MM-JJ"),
        ({"from": "2025-06-01", "to": "2025-01-01"}, "La date de début doit précéder"),
        ({"structure": "inconnue"}, "Structure inconnue"),
        ({"structure": "<script>"}, "code de structure"),
        ({"irritant": "attente"}, "Paramètre inconnu"),
    ],
)
async def test_bad_input_is_a_french_400(portal, store, params, message):
    page = await portal.client.get("/indicateurs", params=params)
    assert page.status_code == 400
    assert '<html lang="fr"' in page.text and message in html.unescape(page.text)
    data = await portal.client.get("/indicateurs.json", params=params)
    assert data.status_code == 400
    assert message in data.json()["message"]
