"""Personal data typed in the chat never reaches the tracker database."""

import sqlite3

import pytest

pytestmark = pytest.mark.e2e

PLANTED = {
    "email": "jeanne.martin@example.org",
    "phone": "06 12 34 56 78",
    "name": "Jeanne Martin",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
}


def all_text(db_path) -> str:
    with sqlite3.connect(db_path) as db:
        chunks = []
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            for row in db.execute(f'select * from "{table}"'):  # noqa: S608 - names from sqlite
                chunks.extend(str(v) for v in row if v is not None)
    return "\n".join(chunks)


def test_tracker_store_keeps_placeholders_not_personal_data(stack, conversation):
    conversation.say("bonjour")
    conversation.say(
        f"Je m'appelle {PLANTED['name']}, mon mail est {PLANTED['email']}, "
        f"mon numéro {PLANTED['phone']} et mon IBAN {PLANTED['iban']}"
    )
    conversation.say("merci")
    db_path = stack.settings.tracker_db_url.split(":///", 1)[1]
    stored = all_text(db_path)
    assert conversation.sender in stored  # the conversation was saved...
    assert "[EMAIL]" in stored  # ...with placeholders...
    for value in PLANTED.values():  # ...and none of the planted values
        assert value not in stored
        assert value.replace(" ", "") not in stored
