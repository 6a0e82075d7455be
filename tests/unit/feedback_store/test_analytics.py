"""Conversation analytics on SQLite: Rasa events -> fallback rows per flow, counts, top questions.

Events are built with Rasa's own event classes (``as_dict()`` plus ``sender_id``, as the
``PikaEventBroker`` publishes them) and go through the real personal-data scrubber.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from sqlalchemy import func, inspect, select, text

from feedback_store import analytics
from feedback_store.analytics_consumer import RASA_EXCHANGE, Backoff
from feedback_store.analytics_events import (
    FLOW_LABELS,
    KIND_LABELS,
    NO_FLOW,
    REACTIONS,
    ConversationState,
    hash_sender,
    interpret,
    question_key,
)
from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import upgrade
from feedback_store.models import ANALYTICS_KINDS, AnalyticsConversation, AnalyticsEvent
from feedback_store.scrubbing import scrub

REPO_ROOT = Path(__file__).resolve().parents[3]
START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
EMAIL = "jeanne.martin@example.org"
PHONE = "06 12 34 56 78"


def scrub_text(value: str) -> str:
    return scrub(value).text


class Conversation:
    """Builds the broker messages of one conversation, a second apart."""

    def __init__(self, sender: str, start: datetime = START) -> None:
        self.sender = sender
        self.time = start.timestamp()
        self.messages: list[dict] = []

    def _add(self, event) -> Conversation:
        event.timestamp = self.time
        self.time += 1.0
        self.messages.append({"sender_id": self.sender, **event.as_dict()})
        return self

    def user(self, text: str, intent: str, confidence: float = 0.9, ranking=()) -> Conversation:
        parse = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "intent_ranking": [{"name": intent, "confidence": confidence}]
            + [{"name": name, "confidence": value} for name, value in ranking],
        }
        return self._add(
            UserUttered(text, parse["intent"], [], parse, input_channel="rest", message_id="m")
        )

    def action(self, name: str) -> Conversation:
        return self._add(ActionExecuted(name, policy="RulePolicy", confidence=1.0))

    def bot(self, text: str) -> Conversation:
        return self._add(BotUttered(text))

    def loop(self, name: str | None) -> Conversation:
        return self._add(ActiveLoop(name))

    def slot(self, name: str, value) -> Conversation:
        return self._add(SlotSet(name, value))

    def event(self, event) -> Conversation:
        return self._add(event)

    def misunderstood(self, text: str, reaction: str = "utter_ask_rephrase") -> Conversation:
        self.user(text, "nlu_fallback", 0.45, ranking=[("find_service", 0.31), ("greet", 0.1)])
        return self.action(reaction).bot("Je n'ai pas bien compris.").action("action_listen")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("analytics") / "feedback.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture()
def factory(tmp_path, template):
    path = tmp_path / "feedback.db"
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield make_session_factory(engine)
    engine.dispose()


def record(factory, messages, **kwargs) -> analytics.RecordResult:
    with factory.begin() as session:
        return analytics.record_events(session, messages, scrub_text=scrub_text, **kwargs)


def rows(factory) -> list[tuple]:
    with factory() as session:
        return [
            (r.flow, r.kind, r.intent, r.question)
            for r in session.execute(select(AnalyticsEvent).order_by(AnalyticsEvent.at)).scalars()
        ]


# --- event -> row -------------------------------------------------------------------------------


def test_each_fallback_reaction_is_a_row_with_its_flow_and_the_message_behind_it(factory):
    talk = Conversation("usager-1")
    talk.user("Bonjour", "greet").action("utter_greet").action("action_listen")
    talk.misunderstood("xqzt vbnm plok")
    talk.misunderstood("zorglub wesh", "utter_fallback_menu")
    talk.user("trouver le bon service", "find_service", 0.97).action("orientation_form")
    talk.loop("orientation_form").action("action_listen")
    talk.user("refaire mon passeport", "nlu_fallback", 0.4, ranking=[("inform", 0.38)])
    talk.slot("demarche_code", "passeport").action("orientation_form")  # accepted: not counted
    talk.loop(None).action("action_listen")
    talk.user("et ma carte vitale alors", "choose_demarche", 0.33)
    talk.action("action_default_fallback").bot("Je n'ai pas compris.")
    talk.user("quel temps fera-t-il demain", "out_of_scope", 0.88)
    talk.action("utter_out_of_scope")

    result = record(factory, talk.messages)

    assert result == analytics.RecordResult(events=len(talk.messages), rows=4, skipped=0)
    assert rows(factory) == [
        (NO_FLOW, "not_understood", "find_service", "xqzt vbnm plok"),
        (NO_FLOW, "fallback_menu", "find_service", "zorglub wesh"),
        (NO_FLOW, "fallback", "choose_demarche", "et ma carte vitale alors"),
        (NO_FLOW, "out_of_scope", "out_of_scope", "quel temps fera-t-il demain"),
    ]


def test_a_misunderstanding_inside_a_form_is_counted_in_that_form(factory):
    talk = Conversation("usager-2")
    talk.user("raconter mon expérience", "tell_experience").action("story_form")
    talk.loop("story_form").action("action_listen")
    talk.user("J'ai attendu trois heures à la CAF sans réponse", "nlu_fallback", 0.3)
    talk.slot("story_text", "J'ai attendu trois heures").action("story_form")  # free text: kept
    talk.misunderstood("blorp")  # the form rejected it, the bot asked to rephrase
    talk.action("story_form").action("action_listen")

    record(factory, talk.messages)

    assert rows(factory) == [("story_form", "not_understood", "find_service", "blorp")]
    with factory() as session:
        event = session.execute(select(AnalyticsEvent)).scalar_one()
    assert event.confidence == pytest.approx(0.31)
    assert event.question_key == "blorp"
    (reaction,) = [m for m in talk.messages if m.get("name") == "utter_ask_rephrase"]
    assert event.at == datetime.fromtimestamp(reaction["timestamp"], timezone.utc)


def test_state_survives_between_batches_and_resets_with_a_new_session(factory):
    talk = Conversation("usager-3")
    talk.user("droit à l'erreur", "ask_droit_erreur").action("droit_erreur_form")
    talk.loop("droit_erreur_form").action("action_listen")
    first = len(talk.messages)
    talk.misunderstood("grmbl")
    talk.event(SessionStarted()).action("action_listen")
    talk.misunderstood("grmbl encore")
    talk.loop("france_services_form")
    talk.event(Restarted())
    talk.misunderstood("et après")

    record(factory, talk.messages[:first])
    record(factory, talk.messages[first:])

    assert [(flow, kind, question) for flow, kind, _, question in rows(factory)] == [
        ("droit_erreur_form", "not_understood", "grmbl"),
        (NO_FLOW, "not_understood", "grmbl encore"),
        (NO_FLOW, "not_understood", "et après"),
    ]
    with factory() as session:
        state = session.get(AnalyticsConversation, hash_sender("usager-3"))
    assert state.active_loop is None and state.last_text == "et après"


def test_a_late_older_event_does_not_move_the_state_back():
    state = ConversationState("h", active_loop="story_form", updated_at=START)
    late = {"event": "active_loop", "name": None, "timestamp": START.timestamp() - 5}
    assert interpret(late, state, scrub_text) == (state, None)
    newer = {**late, "timestamp": START.timestamp() + 5}
    assert interpret(newer, state, scrub_text)[0].active_loop is None


def test_personal_data_and_sender_ids_never_reach_the_database(factory):
    sender = "widget-7f3a9c"
    talk = Conversation(sender)
    talk.misunderstood(f"Je suis Jeanne Martin, écrivez à {EMAIL} ou au {PHONE}")
    talk.user(f"mon mail {EMAIL}", "greet").action("action_listen")  # last message kept in state

    record(factory, talk.messages)

    (row,) = rows(factory)
    assert row[3] == "Je suis [NOM], écrivez à [EMAIL] ou au [TELEPHONE]"
    with factory() as session:
        stored = str(
            [
                session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 - our tables
                for table in inspect(session.get_bind()).get_table_names()
            ]
        )
    for planted in (EMAIL, "jeanne.martin", PHONE, "0612345678", "Martin", sender):
        assert planted not in stored
    assert hashlib.sha256(sender.encode()).hexdigest() in stored
    assert "mon mail [EMAIL]" in stored


def test_a_redelivered_batch_is_stored_once(factory):
    talk = Conversation("usager-4").misunderstood("xqzt").misunderstood("vbnm")
    assert record(factory, talk.messages).rows == 2
    assert record(factory, talk.messages).rows == 0
    assert record(factory, talk.messages + talk.messages).rows == 0
    assert len(rows(factory)) == 2


def test_malformed_messages_are_skipped_and_counted(factory):
    decoded = [
        analytics.decode_message(body)
        for body in (
            b"not json",
            b"\xff\xfe",
            b"[1, 2]",
            b'{"event": "user", "text": "no sender"}',
            json.dumps({"event": "user", "sender_id": "x" * 2000}).encode(),
            json.dumps({"sender_id": "s", "event": 3}).encode(),
            b"[" * 100_000,
        )
    ]
    assert decoded == [None] * 7
    odd = {"sender_id": "s", "event": "action", "name": ["utter_ask_rephrase"], "timestamp": "x"}
    weird_user = {"sender_id": "s", "event": "user", "text": 42, "parse_data": "nope"}
    result = record(factory, [*decoded, odd, weird_user, {"sender_id": "s", "event": "bot"}])
    assert result == analytics.RecordResult(events=3, rows=0, skipped=7)


def test_long_messages_are_scrubbed_then_cut():
    state = ConversationState("h")
    message = {"event": "user", "text": ("mot " * 400) + EMAIL, "timestamp": 1e9}
    new_state, _ = interpret(message, state, scrub_text)
    assert len(new_state.last_text) <= 502 and new_state.last_text.endswith("…")
    near_the_cut = {"event": "user", "text": "a " * 240 + f"{EMAIL} " + "b " * 400}
    stored = interpret(near_the_cut, state, scrub_text)[0].last_text
    assert EMAIL not in stored and "[EMAIL]" in stored


def test_question_key_groups_case_accents_and_punctuation():
    assert question_key("  Où  RÉFAIRE ma carte d'identité ?! ") == "ou refaire ma carte d identite"
    assert question_key("écrivez à [EMAIL].") == "ecrivez a [email]"
    assert question_key("?!") is None and question_key(None) is None


# --- counts -------------------------------------------------------------------------------------


def seed_period(factory) -> None:
    day = timedelta(days=1)
    conversations = [
        Conversation("a", START)
        .misunderstood("Quand  OUVRE le guichet")
        .misunderstood("quand ouvre le guichet ?"),
        Conversation("b", START + day)
        .user("raconter", "tell_experience")
        .loop("story_form")
        .misunderstood("quand ouvre le guichet")
        .misunderstood("heu", "utter_fallback_menu"),
        Conversation("c", START + 2 * day)
        .user("la météo", "out_of_scope", 0.9)
        .action("utter_out_of_scope")
        .user("la météo", "out_of_scope", 0.8)
        .action("utter_out_of_scope"),
        Conversation("d", START + 40 * day).misunderstood("plus tard"),
    ]
    record(factory, [m for talk in conversations for m in talk.messages])


def test_fallbacks_by_flow_counts_each_flow_and_lists_the_top_questions(factory):
    seed_period(factory)
    with factory() as session:
        overview = analytics.fallbacks_by_flow(session, date(2026, 3, 2), date(2026, 3, 4))

    assert overview.total == 6 and overview.conversations == 3
    assert overview.kinds == {
        "not_understood": 3,
        "fallback_menu": 1,
        "fallback": 0,
        "out_of_scope": 2,
    }
    assert [(f.flow, f.label, f.total, f.conversations) for f in overview.flows] == [
        (NO_FLOW, "Hors formulaire", 4, 2),
        ("story_form", "Raconter mon expérience", 2, 1),
    ]
    assert overview.flows[1].kinds == {
        "not_understood": 1,
        "fallback_menu": 1,
        "fallback": 0,
        "out_of_scope": 0,
    }
    top = overview.top_not_understood
    assert [(q.question, q.count, q.flows) for q in top] == [
        ("Quand OUVRE le guichet", 3, (NO_FLOW, "story_form")),
        ("heu", 1, ("story_form",)),
    ]
    assert top[0].last_seen.tzinfo is not None and top[0].last_seen.date() == date(2026, 3, 3)
    assert [(q.question, q.count) for q in overview.top_out_of_scope] == [("la météo", 2)]


def test_fallbacks_by_flow_periods_are_inclusive_utc_days(factory):
    seed_period(factory)
    with factory() as session:
        everything = analytics.fallbacks_by_flow(session)
        one_day = analytics.fallbacks_by_flow(session, date(2026, 3, 3), date(2026, 3, 3))
        later = analytics.fallbacks_by_flow(session, date(2026, 4, 1), date.max, top=1)
        empty = analytics.fallbacks_by_flow(session, date(2030, 1, 1), None)
    assert everything.total == 7
    assert one_day.total == 2 and [f.flow for f in one_day.flows] == ["story_form"]
    assert later.total == 1 and [q.question for q in later.top_not_understood] == ["plus tard"]
    assert empty.total == 0 and empty.flows == () and empty.top_not_understood == ()


def test_idle_states_are_pruned_and_old_events_purged(factory):
    seed_period(factory)
    with factory.begin() as session:
        assert analytics.prune_conversations(session, START + timedelta(days=10)) == 3
        assert analytics.purge_events(session, START + timedelta(days=10)) == 6
    with factory() as session:
        assert session.execute(select(func.count()).select_from(AnalyticsEvent)).scalar() == 1
        left = session.execute(select(AnalyticsConversation.sender_hash)).scalars().all()
    assert left == [hash_sender("d")]


# --- consistency with the bot and Rasa ----------------------------------------------------------


def test_reactions_and_flows_are_those_of_this_bot():
    domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
    config = yaml.safe_load((REPO_ROOT / "config.yml").read_text(encoding="utf-8"))
    rules = (REPO_ROOT / "bot/data/rules/fallback.yml").read_text(encoding="utf-8")
    assert set(FLOW_LABELS) - {NO_FLOW} == set(domain["forms"])
    assert set(KIND_LABELS) == set(ANALYTICS_KINDS) == set(REACTIONS.values())
    for name in ("utter_ask_rephrase", "utter_fallback_menu", "utter_out_of_scope"):
        assert name in domain["responses"] and name in REACTIONS
    assert "action: utter_ask_rephrase" in rules and "action: utter_fallback_menu" in rules
    rule_policy = next(p for p in config["policies"] if p["name"] == "RulePolicy")
    assert rule_policy["core_fallback_action_name"] in REACTIONS


def test_consumer_binds_to_rasas_exchange_and_queue():
    from rasa.core.brokers.pika import RABBITMQ_EXCHANGE

    import settings as settings_module
    from scripts import endpoints

    assert RASA_EXCHANGE == RABBITMQ_EXCHANGE
    config, env = endpoints.build(settings_module.load({"EVENT_BROKER_URL": "amqp://g:g@h:5672/"}))
    queues = [
        value.replace("${EVENT_BROKER_QUEUE}", env.get("EVENT_BROKER_QUEUE", ""))
        for value in config["event_broker"]["queues"]
    ]
    assert queues == [settings_module.load({}).event_broker_queue]


def test_backoff_doubles_up_to_its_ceiling_and_resets():
    backoff = Backoff(base=0.5, maximum=4.0)
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1, 2, 4, 4, 4, 4, 4]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_without_a_broker_the_consumer_says_what_to_set():
    env = {**os.environ, "EVENT_BROKER_URL": ""}
    result = subprocess.run(
        [sys.executable, "-m", "feedback_store.analytics_consumer"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "EVENT_BROKER_URL" in result.stderr and "Traceback" not in result.stderr
