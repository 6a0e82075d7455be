"""A French conversation through the real servers (REST webhook)."""

import httpx
import pytest

pytestmark = pytest.mark.e2e

MENU = [
    ("Trouver le bon service", "/find_service"),
    ("France services près de chez moi", "/find_france_services"),
    ("Droit à l'erreur", "/ask_droit_erreur"),
    ("Raconter mon expérience", "/tell_experience"),
]


def test_greeting_offers_the_four_jobs(conversation):
    reply = conversation.say("Bonjour !")
    assert "assistant automatique" in conversation.texts(reply)
    assert conversation.buttons(reply) == MENU


def test_who_are_you_help_human_and_goodbye(conversation):
    reply = conversation.say("c koi ce bot")
    text = conversation.texts(reply)
    assert "assistant automatique" in text and "pas un canal de réclamation" in text

    reply = conversation.say("jsuis perdu")
    assert "Écrivez votre question" in conversation.texts(reply)
    assert conversation.buttons(reply) == MENU

    reply = conversation.say("je veux parler à un humain")
    assert "39 39" in conversation.texts(reply)

    reply = conversation.say("merci beaucoup")
    assert "Avec plaisir" in conversation.texts(reply)
    reply = conversation.say("non merci, au revoir")
    assert "Au revoir" in conversation.texts(reply)


def test_two_misunderstandings_offer_the_menu(conversation):
    first = conversation.say("xqzt vbnm plok")
    assert "reformuler" in conversation.texts(first)
    second = conversation.say("wxcv poiu mlkj")
    assert "Choisissez un sujet" in conversation.texts(second)
    assert conversation.buttons(second) == MENU


def test_out_of_scope_is_said_politely(conversation):
    reply = conversation.say("raconte moi une blague")
    assert "Je ne peux pas vous aider sur ce sujet" in conversation.texts(reply)


def test_too_long_message_gets_a_clear_answer_quickly(stack, conversation):
    limit = stack.settings.max_message_chars
    reply = conversation.say("a" * (limit + 1))
    assert "trop long" in conversation.texts(reply)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", ""),
        (b'{"sender": "x", "message": 42}', "message"),
        (b'{"sender": "<b>", "message": "bonjour"}', "sender"),
        (b"[1, 2]", "objet JSON"),
    ],
)
def test_malformed_requests_get_400_with_a_message(stack, body, fragment):
    reply = httpx.post(
        f"{stack.settings.rasa_url}/webhooks/rest/webhook",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert reply.status_code == 400
    assert fragment in reply.text


def test_http_api_is_off_by_default(stack):
    reply = httpx.get(f"{stack.settings.rasa_url}/conversations/x/tracker", timeout=10)
    assert reply.status_code in (404, 405)


def test_portal_and_action_server_answer_health(stack):
    s = stack.settings
    assert httpx.get(f"{s.portal_url}/health", timeout=5).json() == {"status": "ok"}
    assert httpx.get(f"http://{s.host}:{s.actions_port}/health", timeout=5).status_code == 200
