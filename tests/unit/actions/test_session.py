from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from bot.actions.session import ActionSessionStart, partner_from_metadata


async def test_session_start_keeps_partner_from_metadata(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots={"session_started_metadata": {"partner": "mairie-de-gap"}})
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert events == [
        SessionStarted(),
        SlotSet("partner", "mairie-de-gap"),
        ActionExecuted("action_listen"),
    ]
    assert dispatcher.messages == []


async def test_session_start_without_metadata_sets_no_partner(dispatcher, tracker_factory, domain):
    events = await ActionSessionStart().run(dispatcher, tracker_factory(), domain)
    assert events == [SessionStarted(), ActionExecuted("action_listen")]


def test_partner_id_must_be_a_slug():
    assert partner_from_metadata({"partner": "france-services-gap"}) == "france-services-gap"
    assert partner_from_metadata({"partner": "<script>alert(1)</script>"}) is None
    assert partner_from_metadata({"partner": "x" * 65}) is None
    assert partner_from_metadata("mairie") is None


def test_partner_slot_is_declared_in_domain(domain):
    assert "partner" in domain["slots"]
    assert "action_session_start" in domain["actions"]
