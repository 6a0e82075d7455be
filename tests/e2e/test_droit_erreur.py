"""Droit à l'erreur through the real servers: the explanation, then the check."""

import pytest

pytestmark = pytest.mark.e2e


def test_explanation_names_the_law_and_the_limit(conversation):
    reply = conversation.say("c'est quoi le droit à l'erreur ?")
    text = conversation.texts(reply)
    assert "ESSOC" in text or "10 août 2018" in text
    assert "bonne foi" in text


def test_check_with_buttons_gives_a_verdict_with_reason_and_disclaimer(conversation):
    reply = conversation.say("/check_droit_erreur")
    assert "Avec quelle administration" in conversation.texts(reply)
    answers = [
        '/inform{"de_administration":"caf"}',
        '/inform{"de_error_kind":"omission"}',
        '/inform{"de_first_time":"yes"}',
    ]
    for answer in answers:
        reply = conversation.say(answer)
    # the remaining questions, answered with each question's first button
    for _ in range(6):
        buttons = conversation.buttons(reply)
        if not buttons or not buttons[0][1].startswith("/inform"):
            break
        reply = conversation.say(buttons[0][1])
    text = conversation.texts(reply)
    assert "s'applique" in text and "ne s'applique pas" not in text
    assert "information générale" in text or "pas une décision" in text


def test_fraud_ends_the_check_with_does_not_apply(conversation):
    conversation.say("/check_droit_erreur")
    conversation.say('/inform{"de_administration":"impots"}')
    conversation.say('/inform{"de_error_kind":"wrong_amount"}')
    conversation.say('/inform{"de_first_time":"yes"}')
    conversation.say('/inform{"de_good_faith":"yes"}')
    reply = conversation.say('/inform{"de_exception":"fraud"}')
    text = conversation.texts(reply)
    assert "ne s'applique pas" in text
    assert "fraude" in text.lower()
