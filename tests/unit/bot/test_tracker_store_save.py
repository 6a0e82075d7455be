"""The scrubbing tracker store stores and publishes each new event once, scrubbed."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.tracker_store import ScrubbingSQLTrackerStore

EMAIL = "jeanne.martin@example.org"


class RecordingBroker(EventBroker):
    """Keeps what would be published to RabbitMQ."""

    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


@pytest.fixture
def store(tmp_path):
    domain = Domain.load("domain.yml")
    broker = RecordingBroker()
    store = ScrubbingSQLTrackerStore(
        domain=domain, dialect="sqlite", db=str(tmp_path / "t.db"), event_broker=broker
    )
    return store, broker, tmp_path / "t.db"


def stored_rows(db_path) -> list[tuple[str, str, dict]]:
    with sqlite3.connect(db_path) as db:
        rows = db.execute("select sender_id, type_name, data from events order by id").fetchall()
    return [(sender, kind, json.loads(data)) for sender, kind, data in rows]


def test_two_saves_store_and_publish_each_event_once_scrubbed(store):
    store, broker, db_path = store

    async def scenario() -> None:
        tracker = await store.get_or_create_tracker("usager-1")
        tracker.update(UserUttered(f"mon mail est {EMAIL}", {"name": "inform", "confidence": 1}))
        tracker.update(SlotSet("story_canal", "telephone"))
        tracker.update(BotUttered(f"Merci, j'ai noté {EMAIL}."))
        await store.save(tracker)
        again = await store.retrieve("usager-1")
        again.update(ActionExecuted("action_listen"))
        again.update(UserUttered("merci", {"name": "thank", "confidence": 1}))
        await store.save(again)

    asyncio.run(scenario())
    rows = stored_rows(db_path)
    kinds = [kind for _, kind, _ in rows]
    # get_or_create_tracker saved the first action_listen; each later event is stored once.
    assert kinds == ["action", "user", "slot", "bot", "action", "user"]
    assert {sender for sender, _, _ in rows} == {"usager-1"}
    assert EMAIL not in json.dumps([data for _, _, data in rows])
    assert "[EMAIL]" in rows[1][2]["text"] and "[EMAIL]" in rows[3][2]["text"]
    assert rows[2][2]["value"] == "telephone"
    # The broker got exactly what was stored, in the same order, with the sender id.
    assert [{k: v for k, v in e.items() if k != "sender_id"} for e in broker.published] == [
        data for _, _, data in rows
    ]
    assert {e["sender_id"] for e in broker.published} == {"usager-1"}


def test_saving_an_unchanged_tracker_adds_nothing(store):
    store, broker, db_path = store

    async def scenario() -> None:
        tracker = await store.get_or_create_tracker("usager-2")
        tracker.update(UserUttered("bonjour", {"name": "greet", "confidence": 1}))
        await store.save(tracker)
        await store.save(await store.retrieve("usager-2"))

    asyncio.run(scenario())
    assert [kind for _, kind, _ in stored_rows(db_path)] == ["action", "user"]
    assert [e["event"] for e in broker.published] == ["action", "user"]


def test_a_retrieved_tracker_is_saved_without_counting_its_events_again(store):
    from sqlalchemy import event as sa_event

    from bot.tracker_store import STORED_COUNT

    store, broker, db_path = store
    statements: list[str] = []
    sa_event.listen(
        store.engine, "before_cursor_execute", lambda *a: statements.append(a[2].lower())
    )

    async def scenario() -> None:
        tracker = await store.get_or_create_tracker("usager-3")
        tracker.update(UserUttered("bonjour", {"name": "greet", "confidence": 1}))
        await store.save(tracker)  # created here, not retrieved: counted with one query
        assert sum("count(" in s for s in statements) == 1
        again = await store.retrieve("usager-3")
        assert getattr(again, STORED_COUNT) == 2
        again.update(ActionExecuted("utter_greet"))
        again.update(BotUttered("Bonjour !"))
        statements.clear()
        await store.save(again)
        assert not any("count(" in s for s in statements)
        assert sum(s.startswith("insert") for s in statements) == 1  # one executemany
        again.update(ActionExecuted("action_listen"))
        await store.save(again)  # the same object again: only the newest event

    asyncio.run(scenario())
    kinds = [kind for _, kind, _ in stored_rows(db_path)]
    assert kinds == ["action", "user", "action", "bot", "action"]
    assert [e["event"] for e in broker.published] == kinds
