"""The whole stack on PostgreSQL: personal data typed in the chat is in no table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import MetaData, create_engine, select

from scripts.launch import Stack
from tests.conftest import Conversation, free_port
from tests.integration.postgres import admin_engine, temporary_database

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PLANTED = {
    "email": "paul.lefebvre@example.net",
    "phone": "07 98 76 54 32",
    "name": "Paul Lefebvre",
    "nir": "1 84 12 76 451 089 46",
}


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    from scripts import model_cache

    admin = admin_engine()
    with temporary_database(admin) as url:
        work = tmp_path_factory.mktemp("pg-stack")
        portal = free_port()
        env = {
            "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "PORTAL_PORT": str(portal),
            "TRACKER_DB_URL": url.replace("+psycopg2", ""),
            "FEEDBACK_DB_URL": url,
            "CORS_ORIGINS": f"http://127.0.0.1:{portal}",
        }
        stack = Stack(env=env, model=model_cache.ensure_model(), log_dir=work / "log")
        stack.start()
        try:
            stack.wait_ready(timeout_s=300)
            yield stack, url
        finally:
            stack.stop()
    admin.dispose()


def all_text(url: str) -> str:
    engine = create_engine(url, future=True)
    metadata = MetaData()
    metadata.reflect(engine)
    chunks = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                chunks.extend(str(v) for v in row if v is not None)
    engine.dispose()
    return "\n".join(chunks)


def test_chat_on_postgres_stores_placeholders_only(pg_stack):
    stack, url = pg_stack
    usager = Conversation(stack, sender="pg-privacy-1")
    usager.say("bonjour")
    usager.say(
        f"je suis {PLANTED['name']}, écrivez à {PLANTED['email']} ou au {PLANTED['phone']}, "
        f"mon numéro de sécu est {PLANTED['nir']}"
    )
    stored = all_text(url)
    assert "pg-privacy-1" in stored and "[EMAIL]" in stored
    for value in PLANTED.values():
        assert value not in stored
        assert value.replace(" ", "") not in stored


def test_story_on_postgres_keeps_no_personal_data(pg_stack):
    from tests.story_conversation import PLANTED as STORY_PLANTED
    from tests.story_conversation import planted_values_in, tell_story

    stack, url = pg_stack
    usager = Conversation(stack, sender="pg-privacy-story")
    reference, _ = tell_story(usager)
    stored = all_text(url)
    assert reference in stored  # the story was written to PostgreSQL...
    assert "[TELEPHONE]" in stored
    assert planted_values_in(stored) == []  # ...and none of the planted values, in any table
    assert set(STORY_PLANTED)  # five kinds planted: name, e-mail, phone, IBAN, address
