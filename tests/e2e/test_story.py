"""Experience story end to end: told, scrubbed, classified, stored, topic corrected."""

import sqlite3

import pytest

from tests.e2e.test_tracker_privacy import all_text
from tests.story_conversation import planted_values_in, tell_story

pytestmark = pytest.mark.e2e


def test_story_is_stored_anonymised_and_labelled_then_corrected(stack, conversation):
    reference, reply = tell_story(conversation)
    text = conversation.texts(reply)
    assert "votre récit porte surtout sur" in text or "Je n'ai pas reconnu" in text
    buttons = conversation.buttons(reply)
    assert any(p.startswith("/correct_topic") for _, p in buttons)

    feedback_db = stack.settings.feedback_db_url.split(":///", 1)[1]
    with sqlite3.connect(feedback_db) as db:
        row = db.execute(
            "select id, text_anonymised, canal, ressenti, consent from stories where reference = ?",
            (reference,),
        ).fetchone()
        assert row is not None
        story_id, stored_text, canal, ressenti, consent = row
        assert (canal, ressenti, consent) == ("telephone", "negatif", 1)
        assert "[EMAIL]" in stored_text and "[TELEPHONE]" in stored_text
        assert "personne ne décroche" in stored_text
        model_labels = db.execute(
            "select code from story_labels where story_id = ? and source = 'model' "
            "and space = 'irritant'",
            (story_id,),
        ).fetchall()
        assert {"injoignable"} & {code for (code,) in model_labels}

    reply = conversation.say('/correct_topic{"story_topic":"delai_traitement"}')
    assert reply, "the correction gets an answer"
    with sqlite3.connect(feedback_db) as db:
        usager_labels = db.execute(
            "select code from story_labels where story_id = ? and source = 'usager' "
            "and space = 'irritant'",
            (story_id,),
        ).fetchall()
    assert ("delai_traitement",) in usager_labels


def test_no_personal_data_in_any_table_of_either_database(stack, conversation):
    tell_story(conversation)
    for url in (stack.settings.feedback_db_url, stack.settings.tracker_db_url):
        stored = all_text(url.split(":///", 1)[1])
        assert stored, url
        assert planted_values_in(stored) == [], url


def test_refused_consent_stores_nothing(stack, conversation):
    feedback_db = stack.settings.feedback_db_url.split(":///", 1)[1]
    with sqlite3.connect(feedback_db) as db:
        before = db.execute("select count(*) from stories").fetchone()[0]
    conversation.say("/tell_experience")
    conversation.say("la mairie")
    conversation.say("/skip")
    conversation.say('/inform_canal{"story_canal":"guichet"}')
    conversation.say('/inform_ressenti{"story_ressenti":"positif"}')
    conversation.say("L'agente de l'accueil a pris le temps de tout m'expliquer, merci à elle.")
    conversation.say("/skip")
    reply = conversation.say("/refuse_consent")
    assert "n'est pas conservé" in conversation.texts(reply)
    with sqlite3.connect(feedback_db) as db:
        after = db.execute("select count(*) from stories").fetchone()[0]
    assert after == before
