"""Orientation and France services through the real servers (REST webhook)."""

import re

import pytest

pytestmark = pytest.mark.e2e


def test_demarche_and_place_in_one_sentence(conversation):
    reply = conversation.say("je dois refaire ma carte d'identité, je suis à Briançon")
    text = conversation.texts(reply)
    assert "adressez-vous à : Mairie" in text or "adressez-vous à : mairie" in text.lower()
    assert "https://" in text
    assert "France services les plus proches de Briançon" in text
    points = [m for m in reply if " km\n" in m.get("text", "")]
    assert len(points) == 3
    distances = [float(re.search(r"à ([\d,]+) km", p["text"])[1].replace(",", ".")) for p in points]
    assert distances == sorted(distances) and distances[0] < 30
    for point in points:
        assert "France services" in point["text"] or "Maison" in point["text"]
        assert re.search(r"Aujourd'hui|Fermé aujourd'hui|Horaires non communiqués", point["text"])
        assert "05" in point["text"]  # Hautes-Alpes postal codes


def test_menu_then_question_then_france_services_offer(conversation):
    reply = conversation.say("/find_service")
    assert "Quelle démarche" in conversation.texts(reply)
    reply = conversation.say("g perdu mon permis de conduire")
    text = conversation.texts(reply)
    assert "ANTS" in text or "Agence nationale des titres sécurisés" in text
    assert ("Trouver une France services", "/find_france_services") in conversation.buttons(reply)
    reply = conversation.say("/find_france_services")
    assert "Dans quelle commune" in conversation.texts(reply)
    reply = conversation.say("05000")
    assert "France services les plus proches de" in conversation.texts(reply)
    assert sum(" km\n" in m.get("text", "") for m in reply) == 3


def test_follow_up_closer_to_another_commune(conversation):
    conversation.say("la france services la plus proche de Gap")
    reply = conversation.say("et plus près de Embrun ?")
    assert "plus proches de Embrun" in conversation.texts(reply)


def test_ambiguous_commune_gets_suggestions_then_answer(conversation):
    conversation.say("/find_france_services")
    reply = conversation.say("Saint-Martin")
    assert "Plusieurs communes" in conversation.texts(reply)
    buttons = conversation.buttons(reply)
    assert len(buttons) >= 2 and all(p.startswith("/choose_place") for _, p in buttons)
    reply = conversation.say(buttons[0][1])
    assert "France services les plus proches de Saint-Martin" in conversation.texts(reply)


def test_not_an_administration(conversation):
    conversation.say("/find_service")
    reply = conversation.say("ma banque refuse de me faire un prêt immobilier")
    assert "n'est pas une démarche auprès d'une administration" in conversation.texts(reply)


def test_stop_in_the_middle(conversation):
    conversation.say("/find_france_services")
    reply = conversation.say("je veux arrêter")
    assert "j'arrête" in conversation.texts(reply)
    reply = conversation.say("bonjour")
    assert "assistant automatique" in conversation.texts(reply)


def test_follow_up_for_another_demarche(conversation):
    reply = conversation.say("comment refaire mon passeport ?")
    assert "passeport" in conversation.texts(reply).lower()
    reply = conversation.say("et pour ma carte grise ?")
    text = conversation.texts(reply)
    assert "ANTS" in text or "Agence nationale des titres sécurisés" in text
    assert "carte grise" in text.lower() or "certificat d'immatriculation" in text.lower()


def test_another_commune_button_asks_again(conversation):
    reply = conversation.say("la france services la plus proche de Gap")
    another = [p for title, p in conversation.buttons(reply) if title == "Une autre commune"]
    assert another, conversation.buttons(reply)
    reply = conversation.say(another[0])
    assert "Dans quelle commune" in conversation.texts(reply)
    reply = conversation.say("Sisteron")
    assert "plus proches de Sisteron" in conversation.texts(reply)
