"""GET /api/analytics/fallbacks: roles qualite/admin only, per-flow counts, top questions."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from feedback_store import accounts
from feedback_store.analytics import record_events
from feedback_store.analytics_events import NO_FLOW
from tests.unit.portal.conftest import Portal

pytestmark = pytest.mark.filterwarnings("ignore:You have set a listener:UserWarning")

URL = "/api/analytics/fallbacks"


def _events(sender: str, at: datetime, *steps: tuple[str, str]) -> list[dict]:
    """Broker messages: ("loop", name) or (text, reaction) pairs, a second apart."""
    messages, stamp = [], at.timestamp()
    for first, second in steps:
        if first == "loop":
            messages.append({"event": "active_loop", "name": second or None})
        else:
            parse = {
                "intent": {"name": "nlu_fallback", "confidence": 0.5},
                "intent_ranking": [{"name": "find_service", "confidence": 0.42}],
            }
            messages.append({"event": "user", "text": first, "parse_data": parse})
            messages.append({"event": "action", "name": second})
    for message in messages:
        message.update(sender_id=sender, timestamp=stamp)
        stamp += 1
    return messages


def seed(portal: Portal) -> None:
    january, february = datetime(2024, 1, 10, tzinfo=timezone.utc), datetime(2024, 2, 3, 8, 0)
    messages = [
        *_events("s1", january, ("horaires piscine", "utter_ask_rephrase")),
        *_events(
            "s2",
            january,
            ("horaires piscine ?", "utter_ask_rephrase"),
            ("loop", "france_services_form"),
            ("bip", "utter_fallback_menu"),
        ),
        *_events("s3", february.replace(tzinfo=timezone.utc), ("la météo", "utter_out_of_scope")),
    ]
    with portal.session_factory().begin() as session:
        record_events(session, messages, scrub_text=lambda text: text)


async def test_quality_agents_get_fallbacks_per_flow_and_top_questions(portal: Portal):
    seed(portal)
    response = await portal.get(URL, "qualite", params={"date_from": "2024-01-01"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["date_from"], body["date_to"]) == ("2024-01-01", None)
    assert (body["total"], body["conversations"]) == (4, 3)
    assert {k["kind"]: k["count"] for k in body["kinds"]} == {
        "not_understood": 2,
        "fallback_menu": 1,
        "fallback": 0,
        "out_of_scope": 1,
    }
    assert body["kinds"][0]["label"] == "Message non compris (reformulation demandée)"
    assert [(f["flow"], f["label"], f["total"], f["conversations"]) for f in body["flows"]] == [
        (NO_FLOW, "Hors formulaire", 3, 3),
        ("france_services_form", "France services près de chez moi", 1, 1),
    ]
    assert body["flows"][1]["kinds"]["fallback_menu"] == 1
    top = body["top_not_understood"]
    assert [(q["question"], q["count"], q["flows"]) for q in top] == [
        ("horaires piscine", 2, [NO_FLOW]),
        ("bip", 1, ["france_services_form"]),
    ]
    assert top[0]["last_seen"].startswith("2024-01-10T")
    assert [q["question"] for q in body["top_out_of_scope"]] == ["la météo"]


async def test_period_and_top_limit(portal: Portal):
    seed(portal)
    january = await portal.get(
        URL, "qualite", params={"date_from": "2024-01-10", "date_to": "2024-01-10", "top": "1"}
    )
    body = january.json()
    assert body["total"] == 3 and body["top_out_of_scope"] == []
    assert [q["question"] for q in body["top_not_understood"]] == ["horaires piscine"]
    empty = (await portal.get(URL, "qualite", params={"date_to": "2023-12-31"})).json()
    assert (empty["total"], empty["flows"], empty["top_not_understood"]) == (0, [], [])
    edges = await portal.get(
        URL, "qualite", params={"date_from": "0001-01-01", "date_to": "9999-12-31"}
    )
    assert edges.json()["total"] == 4


async def test_an_admin_may_read_the_analytics(portal: Portal):
    seed(portal)
    with portal.session_factory().begin() as session:
        accounts.create_agent(
            session,
            email="admin@caf.fr",
            display_name="admin",
            role="admin",
            structure_codes=("caf-04",),
        )
        token = accounts.create_token(session, "admin@caf.fr").token
    response = await portal.client.get(URL, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["total"] == 4


async def test_agents_without_the_quality_role_are_refused(portal: Portal):
    seed(portal)
    response = await portal.get(URL, "agent05")
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "forbidden" and "qualite" in body["message"]
    assert "horaires" not in response.text
    anonymous = await portal.get(URL)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"date_from": "2024-02-30"}, "date_from n'est pas une date valide"),
        ({"date_to": "hier"}, "date_to doit être une date au format AAAA-MM-JJ"),
        ({"date_from": "2024-03-01", "date_to": "2024-01-01"}, "Période inversée"),
        ({"top": "0"}, "top doit être un nombre entier entre 1 et 100"),
        ({"top": "101"}, "top doit être un nombre entier entre 1 et 100"),
        ({"flow": "story_form"}, "Paramètre inconnu : flow"),
    ],
)
async def test_bad_parameters_get_a_clear_400(portal: Portal, params, fragment):
    response = await portal.get(URL, "qualite", params=params)
    assert response.status_code == 400
    assert fragment in response.json()["message"]
