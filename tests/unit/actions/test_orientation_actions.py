from rasa_sdk.events import SlotSet

from bot.actions.orientation import (
    ActionAskDemarcheCode,
    ActionOrientationAnswer,
    ValidateOrientationForm,
)


def message(text, intent="find_service", entities=()):
    return {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities)}


async def test_activation_with_a_demarche_takes_the_text(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(latest_message=message("je dois refaire mon passeport"))
    extracted = await ValidateOrientationForm().extract_demarche_code(dispatcher, tracker, domain)
    assert extracted == {"demarche_code": "je dois refaire mon passeport"}


async def test_activation_by_the_menu_button_asks_the_question(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(latest_message=message("/find_service"))
    assert await ValidateOrientationForm().extract_demarche_code(dispatcher, tracker, domain) == {}


async def test_an_interruption_is_not_taken_as_the_answer(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(
        slots={"requested_slot": "demarche_code"},
        latest_message=message("vous êtes un robot ?", intent="bot_challenge"),
    )
    assert await ValidateOrientationForm().extract_demarche_code(dispatcher, tracker, domain) == {}


async def test_a_clarifying_button_fills_the_code(dispatcher, tracker_factory, domain):
    entity = {"entity": "demarche_code", "value": "titre_cni"}
    tracker = tracker_factory(
        slots={"requested_slot": "demarche_code"},
        latest_message=message(
            '/choose_demarche{"demarche_code":"titre_cni"}', "choose_demarche", [entity]
        ),
    )
    extracted = await ValidateOrientationForm().extract_demarche_code(dispatcher, tracker, domain)
    assert extracted == {"demarche_code": "titre_cni"}


def test_validate_typo_text_to_code(dispatcher, tracker_factory, domain):
    result = ValidateOrientationForm().validate_demarche_code(
        "g perdu mon permi de conduire", dispatcher, tracker_factory(), domain
    )
    assert result["demarche_code"] == "permis_perte_vol"
    assert result["demarche_query"] == "g perdu mon permi de conduire"


def test_validate_bank_is_out_of_scope(dispatcher, tracker_factory, domain):
    result = ValidateOrientationForm().validate_demarche_code(
        "ma banque refuse de me faire un prêt immobilier", dispatcher, tracker_factory(), domain
    )
    assert result["demarche_code"] == "hors_champ:banque"


def test_validate_gives_up_after_two_unknown_answers(dispatcher, tracker_factory, domain):
    form = ValidateOrientationForm()
    first = form.validate_demarche_code("zorglub", dispatcher, tracker_factory(), domain)
    assert first == {"demarche_code": None, "demarche_choices": None, "orientation_attempts": 1}
    second = form.validate_demarche_code(
        "zorglub", dispatcher, tracker_factory(slots={"orientation_attempts": 1}), domain
    )
    assert second["demarche_code"] == "inconnu"


async def test_ask_shows_choices_as_buttons(dispatcher, tracker_factory, domain):
    tracker = tracker_factory(slots={"demarche_choices": ["titre_cni", "titre_passeport"]})
    await ActionAskDemarcheCode().run(dispatcher, tracker, domain)
    [msg] = dispatcher.messages
    assert msg["response"] == "utter_orientation_clarify"
    payloads = [b["payload"] for b in msg["buttons"]]
    assert payloads[:2] == [
        '/choose_demarche{"demarche_code": "titre_cni"}',
        '/choose_demarche{"demarche_code": "titre_passeport"}',
    ]


async def test_answer_names_the_competent_service_and_offers_france_services(
    dispatcher, tracker_factory, domain
):
    tracker = tracker_factory(
        slots={"demarche_code": "titre_passeport", "demarche_query": "passeport"}
    )
    events = await ActionOrientationAnswer().run(dispatcher, tracker, domain)
    responses = [m["response"] for m in dispatcher.messages]
    assert responses[0] == "utter_orientation_result"
    assert dispatcher.messages[0]["url"].startswith("https://")
    assert "mairie" in dispatcher.messages[0]["organisme"].lower()
    assert responses[-1] == "utter_orientation_france_services_offer"
    assert SlotSet("last_demarche_code", "titre_passeport") in events
    assert SlotSet("demarche_code", None) in events


async def test_answer_with_a_place_lists_france_services(dispatcher, tracker_factory, domain):
    query = "je dois refaire ma carte d'identité, je suis à Briançon"
    tracker = tracker_factory(slots={"demarche_code": "titre_cni", "demarche_query": query})
    await ActionOrientationAnswer().run(dispatcher, tracker, domain)
    responses = [m["response"] for m in dispatcher.messages]
    assert responses.count("utter_fs_point") == 3
    assert "utter_orientation_france_services_here" in responses
