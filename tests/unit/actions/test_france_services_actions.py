from rasa_sdk.events import SlotSet

from bot.actions.france_services import (
    ActionAskPlaceQuery,
    ActionFranceServicesAnswer,
    ValidateFranceServicesForm,
    point_message,
)

POINT = {
    "name": "France services de Briançon",
    "address": "1 rue de la Gare, 05100 Briançon",
    "distance_km": 1.25,
    "today_status": "open",
    "today_hours": "09:00 - 12:00",
    "is_open_now": True,
    "open_until": "12:00",
    "appointment_required": True,
    "is_itinerant": False,
    "phone": "04 92 00 00 00",
}


def test_point_message_takes_every_sentence_from_the_domain(domain):
    vars_ = point_message(domain, POINT)
    assert vars_["distance"] == "1,2" or vars_["distance"] == "1,3"
    assert vars_["hours"] == "Aujourd'hui : 09:00 - 12:00. Ouvert en ce moment, jusqu'à 12:00."
    assert vars_["details"] == "Sur rendez-vous. Tél. : 04 92 00 00 00"


def test_closed_itinerant_point_without_phone(domain):
    point = dict(POINT, today_status="closed", today_hours="", is_open_now=False)
    point.update(appointment_required=False, is_itinerant=True, phone="")
    vars_ = point_message(domain, point)
    assert vars_["hours"] == "Fermé aujourd'hui. Fermé en ce moment."
    assert vars_["details"] == "Point itinérant (bus) : vérifiez le jour de passage."


async def test_answer_lists_three_points_near_briancon(dispatcher, tracker_factory, domain):
    from orientation.places import get_place_resolver

    place = get_place_resolver().resolve("Briançon").place
    tracker = tracker_factory(slots={"place": place.to_dict()})
    events = await ActionFranceServicesAnswer().run(dispatcher, tracker, domain)
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == [
        "utter_fs_intro",
        "utter_fs_point",
        "utter_fs_point",
        "utter_fs_point",
        "utter_fs_outro",
    ]
    assert dispatcher.messages[0]["place"] == "Briançon"
    assert (
        "Briançon" in dispatcher.messages[1]["address"] or "05" in dispatcher.messages[1]["address"]
    )
    assert SlotSet("place_query", None) in events


def test_validate_ambiguous_commune_offers_suggestions(dispatcher, tracker_factory, domain):
    result = ValidateFranceServicesForm().validate_place_query(
        "Saint-Martin", dispatcher, tracker_factory(), domain
    )
    assert result["place_query"] is None
    assert len(result["place_choices"]) >= 2
    assert all("Saint-Martin" in c["label"] for c in result["place_choices"])


def test_validate_postal_code_resolves(dispatcher, tracker_factory, domain):
    result = ValidateFranceServicesForm().validate_place_query(
        "05000", dispatcher, tracker_factory(), domain
    )
    place = result["place"]
    assert place["postal_code"] == "05000" and place["departement_code"] == "05"
    assert place["name"] == "Gap" or "Gap" in place["communes"]


async def test_ask_with_suggestions_uses_buttons(dispatcher, tracker_factory, domain):
    choices = [
        {"label": "Saint-Martin (32300, Gers)", "name": "Saint-Martin", "postal_code": "32300"}
    ]
    tracker = tracker_factory(slots={"place_choices": choices})
    await ActionAskPlaceQuery().run(dispatcher, tracker, domain)
    [message] = dispatcher.messages
    assert message["response"] == "utter_place_ambiguous"
    assert message["buttons"] == [
        {
            "title": "Saint-Martin (32300, Gers)",
            "payload": '/choose_place{"place_code": "Saint-Martin 32300"}',
        }
    ]
