"""Faults the production profile survives, on the machine's real PostgreSQL, Redis and RabbitMQ.

One ``prod_stack`` (two Rasa replicas sharing the PostgreSQL tracker store and the Redis lock
store, RabbitMQ broker) serves every test. What is checked is what the usager reads and what is
stored: tracker events read back from PostgreSQL in order, story rows, the outbox file.
The tests that stop PostgreSQL or RabbitMQ wait until no other process uses it, and always start
it again (``tests/integration/services.py``).

Known gaps (not fixed here, reported) end a test with ``pytest.xfail`` naming what was seen,
after every other check has passed; once a gap is fixed that test passes.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from tests.integration import services
from tests.integration.conftest import FLUSH_INTERVAL_S, ProdStack
from tests.story_conversation import REFERENCE_RE, STORY, SUGGESTION, planted_values_in

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow]

UNAVAILABLE = (
    "Désolé, un problème technique m'empêche de vous répondre pour le moment. Ce que vous m'avez "
    "déjà dit est conservé. Renvoyez votre dernier message dans une minute, s'il vous plaît."
)
ASK_SERVICE = "Quel service public est concerné ?"
ASK_PLACE = "Dans quelle commune se trouve ce service ?"
ASK_CANAL = "Comment avez-vous été en contact avec ce service ?"
ASK_RESSENTI = "Comment avez-vous vécu cette expérience ?"
ASK_TEXT = "Racontez ce qui s'est passé, avec vos mots."
ASK_SUGGESTION = "Avez-vous une idée pour améliorer ce service ?"
ASK_CONSENT = "Acceptez-vous que votre récit soit conservé"
SUBMITTED = "Merci, votre récit est enregistré sous la référence"
# The story form up to the consent question: (message, what the answer asks next).
STORY_STEPS = (
    ("/tell_experience", ASK_SERVICE),
    ("la CAF des Hautes-Alpes", ASK_PLACE),
    ("/skip", ASK_CANAL),
    ('/inform_canal{"story_canal":"telephone"}', ASK_RESSENTI),
    ('/inform_ressenti{"story_ressenti":"negatif"}', ASK_TEXT),
    (STORY, ASK_SUGGESTION),
    (SUGGESTION, ASK_CONSENT),
)


class Usager:
    """One conversation on the REST webhook, sent to replica 1, 2, 1, ... in turn."""

    def __init__(self, prod: ProdStack, name: str) -> None:
        self.urls = [f"{base}/webhooks/rest/webhook" for base in prod.stack.settings.rasa_urls]
        self.sender = f"faults-{name}-{uuid.uuid4().hex[:8]}"
        self.turn = 0
        self.answers: list[list[str]] = []  # the bot texts of each answer received

    def post(self, message: str, replica: int | None = None) -> httpx.Response:
        """Send one message; return the raw HTTP reply."""
        replica = self.turn % len(self.urls) if replica is None else replica
        self.turn += 1
        return httpx.post(
            self.urls[replica], json={"sender": self.sender, "message": message}, timeout=120
        )

    def say(self, message: str, replica: int | None = None) -> str:
        """Send one message; return the text of the answer (its messages, one per line)."""
        reply = self.post(message, replica)
        assert reply.status_code == 200, reply.text
        self.answers.append([m.get("text") or "" for m in reply.json()])
        return texts(reply.json())


def texts(messages: list[dict]) -> str:
    """The texts of the bot messages of one reply, one per line."""
    return "\n".join(m.get("text") or "" for m in messages)


def walk_to_consent(usager: Usager) -> None:
    """Answer the story form up to the consent question, checking each question asked."""
    for message, asked in STORY_STEPS:
        answer = usager.say(message)
        assert asked in answer, (message, answer)


def tracker_turns(prod: ProdStack, sender: str) -> list[tuple[str, list[str]]]:
    """(user text, bot texts until the next user event) per user event, in stored order."""
    engine = create_engine(prod.tracker_db_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": sender},
            ).all()
    finally:
        engine.dispose()
    turns: list[tuple[str, list[str]]] = []
    for kind, data in rows:
        event = json.loads(data)
        if kind == "user":
            turns.append((event.get("text") or "", []))
        elif kind == "bot" and turns:
            turns[-1][1].append(event.get("text") or "")
    return turns


def assert_user_texts(turns: list[tuple[str, list[str]]], sent: list[str]) -> None:
    """The stored user texts are the messages sent, in order (the story ones scrubbed)."""
    stored = [user for user, _ in turns]
    assert len(stored) == len(sent), stored
    for kept, message in zip(stored, sent, strict=True):
        if message == STORY:
            assert "personne ne décroche" in kept and "[EMAIL]" in kept, kept
        elif message == SUGGESTION:
            assert kept.startswith("Rappelez-moi au [TELEPHONE]"), kept
        else:
            assert kept == message
    assert planted_values_in("\n".join(stored)) == []


def stories(prod: ProdStack) -> list[tuple[str, str, str]]:
    """(reference, text, canal) of every story in the story database, by reference."""
    engine = create_engine(prod.feedback_db_url, future=True)
    try:
        with engine.connect() as connection:
            return [
                tuple(row)
                for row in connection.execute(
                    text("SELECT reference, text_anonymised, canal FROM stories ORDER BY reference")
                )
            ]
    finally:
        engine.dispose()


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``check`` until true; return the seconds it took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, f"{what}: not after {timeout_s:.0f} s"
        time.sleep(0.2)
    return time.monotonic() - started


# --- two replicas, one conversation ------------------------------------------------------------


def test_a_conversation_alternating_between_replicas_stays_consistent(prod_stack):
    usager = Usager(prod_stack, "alternate")
    walk_to_consent(usager)
    final = usager.say("/give_consent")
    assert SUBMITTED in final, final
    reference = REFERENCE_RE.search(final).group(0)

    rows = [row for row in stories(prod_stack) if row[0] == reference]
    assert len(rows) == 1
    _, stored, canal = rows[0]
    assert canal == "telephone"
    assert "personne ne décroche" in stored and "[EMAIL]" in stored
    assert planted_values_in(stored) == []

    turns = tracker_turns(prod_stack, usager.sender)
    assert_user_texts(turns, [message for message, _ in STORY_STEPS] + ["/give_consent"])
    # Each turn's answers, as the usager read them, stored right after its message.
    assert [bot for _, bot in turns] == usager.answers
    assert any(reference in line for line in turns[-1][1])


def _lock_tickets(client: redis.Redis, sender: str) -> list[tuple[int, float]]:
    raw = client.get(f"assistant:lock:{sender}")
    if not raw:
        return []
    return [
        (ticket["number"], ticket["expires"])
        for ticket in map(json.loads, json.loads(raw)["tickets"])
    ]


def test_five_messages_sent_at_once_are_processed_one_by_one_in_order(prod_stack):
    usager = Usager(prod_stack, "burst")
    steps = STORY_STEPS[:5]
    client = redis.Redis.from_url(services.REDIS_URL)
    seen: set[tuple[int, float]] = set()
    most_waiting = 0
    futures: list[Future] = []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        for message, _ in steps:
            # Fire without waiting for the answer; only wait until Rasa has taken a ticket for
            # it in the Redis lock store, so the arrival order is the order sent.
            futures.append(pool.submit(usager.post, message))
            while not futures[-1].done():
                tickets = _lock_tickets(client, usager.sender)
                most_waiting = max(most_waiting, len(tickets))
                if set(tickets) - seen:
                    seen |= set(tickets)
                    break
                time.sleep(0.002)
        while not all(future.done() for future in futures):
            most_waiting = max(most_waiting, len(_lock_tickets(client, usager.sender)))
            time.sleep(0.002)
        replies = [future.result() for future in futures]
    took = time.monotonic() - started
    print(f"5 concurrent messages answered in {took:.1f} s, {most_waiting} in the lock at once")
    # At least one message waited behind another: the lock really ordered them (the burst test
    # below releases them all at the same instant).
    assert most_waiting >= 2, "the messages were not queued together: nothing was tested"

    for reply, (message, asked) in zip(replies, steps, strict=True):
        assert reply.status_code == 200, reply.text
        assert asked in texts(reply.json()), (message, reply.json())
    turns = tracker_turns(prod_stack, usager.sender)
    assert [user for user, _ in turns] == [message for message, _ in steps]
    for (_, bot), reply in zip(turns, replies, strict=True):
        assert bot == [m["text"] for m in reply.json()]
    assert _lock_tickets(client, usager.sender) == []


SIMULTANEOUS = ("Merci", "Au revoir", "Qui êtes-vous ?", "Bonjour", "Merci beaucoup")
ROUNDS = 6


def test_simultaneous_messages_of_one_usager_are_all_kept(prod_stack):
    """Five messages released together (no order to keep): each answered and stored once."""
    gaps = []
    for round_ in range(ROUNDS):
        usager = Usager(prod_stack, f"simultaneous-{round_}")
        usager.say("Bonjour")
        barrier = threading.Barrier(len(SIMULTANEOUS))

        def send(index: int, usager: Usager = usager, barrier: threading.Barrier = barrier):
            barrier.wait()
            return usager.post(SIMULTANEOUS[index], index % 2)

        with ThreadPoolExecutor(max_workers=len(SIMULTANEOUS)) as pool:
            replies = list(pool.map(send, range(len(SIMULTANEOUS))))
        for reply in replies:  # never a 500 nor an empty answer
            assert reply.status_code == 200 and texts(reply.json()), reply.text
        answers = {
            message: [m.get("text") or "" for m in reply.json()]
            for message, reply in zip(SIMULTANEOUS, replies, strict=True)
        }
        turns = tracker_turns(prod_stack, usager.sender)[1:]
        kept = sorted(user for user, _ in turns)
        tangled = [user for user, bot in turns if bot != answers.get(user)]
        if kept != sorted(SIMULTANEOUS) or tangled:
            gaps.append(f"round {round_}: stored {kept}, answers not after their message {tangled}")
    print(f"simultaneous bursts with a lost or tangled turn: {len(gaps)}/{ROUNDS}")
    if gaps:
        # Known gap, reported: Rasa 3.6's RedisLockStore issues tickets by GET, modify, SET
        # (not atomic): two processes can hold the same ticket, or overwrite one another's, and
        # process one conversation's messages at the same time; one saved tracker then drops the
        # other's turn. Messages that reach Rasa one after the other are safe (test above).
        pytest.xfail("; ".join(gaps))


# --- action server killed ----------------------------------------------------------------------


def test_action_server_killed_mid_story_then_back(prod_stack):
    usager = Usager(prod_stack, "actions-down")
    walk_to_consent(usager)
    other = Usager(prod_stack, "actions-down-other")
    assert "Bonjour" in other.say("Bonjour")
    before = stories(prod_stack)
    prod_stack.stack.kill("actions")
    try:
        assert usager.say("/give_consent") == UNAVAILABLE
        assert other.say("/find_service") == UNAVAILABLE
        # A turn whose utterances come before the failing action (no half answer), and the
        # first message of a conversation (its custom action_session_start fails).
        assert other.say("/tell_experience") == UNAVAILABLE
        assert Usager(prod_stack, "actions-down-new").say("Bonjour") == UNAVAILABLE
        assert stories(prod_stack) == before
        for name in prod_stack.stack.rasa_names():
            assert prod_stack.stack.processes[name].poll() is None, f"{name} died"
    finally:
        prod_stack.stack.start_one("actions")
        restart = prod_stack.stack.wait_one("actions", timeout_s=300)
        print(f"action server back in {restart:.0f} s")

    final = usager.say("/give_consent")  # "Renvoyez votre dernier message"
    assert SUBMITTED in final, final
    reference = REFERENCE_RE.search(final).group(0)
    new = [row for row in stories(prod_stack) if row not in before]
    assert [row[0] for row in new] == [reference]
    assert "personne ne décroche" in new[0][1] and new[0][2] == "telephone"
    assert planted_values_in(new[0][1]) == []
    turns = tracker_turns(prod_stack, usager.sender)
    assert_user_texts(turns, [m for m, _ in STORY_STEPS] + ["/give_consent"] * 2)
    assert turns[-2][1] == [] and any(reference in line for line in turns[-1][1])
    assert "Est-ce bien le sujet principal ?" in final
    assert "Merci pour votre confirmation." in usager.say('/correct_topic{"story_topic":"confirm"}')
    assert ASK_SERVICE in other.say("/tell_experience")  # the other usager goes on too


# --- PostgreSQL stopped ------------------------------------------------------------------------


def submit_story_payload(prod: ProdStack, usager: Usager) -> dict:
    """The request Rasa sends the action server for ``action_submit_story`` after consent.

    Built from the usager's real tracker and the real domain (Rasa's HTTP API), with the
    consent given, as the form leaves it.
    """
    base, params = prod.stack.settings.rasa_url, {"token": prod.api_token}
    tracker = httpx.get(
        f"{base}/conversations/{usager.sender}/tracker",
        params={**params, "include_events": "ALL"},
        timeout=30,
    )
    domain = httpx.get(
        f"{base}/domain", params=params, headers={"Accept": "application/json"}, timeout=30
    )
    assert tracker.status_code == 200 and domain.status_code == 200, (tracker.text, domain.text)
    state = tracker.json()
    assert state["slots"]["story_text"] and state["active_loop"]["name"] == "story_form"
    state["slots"].update(story_consent="yes", requested_slot=None)
    state["active_loop"] = {}
    return {
        "next_action": "action_submit_story",
        "sender_id": usager.sender,
        "tracker": state,
        "domain": domain.json(),
        "version": "3.6.21",
    }


def run_action(prod: ProdStack, payload: dict) -> dict:
    """Post one action call to the action server, as Rasa does; return its JSON answer."""
    reply = httpx.post(f"{prod.stack.settings.actions_url}", json=payload, timeout=120)
    assert reply.status_code == 200, reply.text
    return reply.json()


def outbox_entries(prod: ProdStack) -> list[dict]:
    """The stories waiting in the outbox file."""
    if not prod.outbox.exists():
        return []
    lines = prod.outbox.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_postgres_stopped_during_story_submission(prod_stack):
    tellers = [Usager(prod_stack, f"pg-down-{i}") for i in range(2)]
    for teller in tellers:
        walk_to_consent(teller)
    payloads = [submit_story_payload(prod_stack, teller) for teller in tellers]
    bystander = Usager(prod_stack, "pg-down-bystander")
    assert ASK_SERVICE in bystander.say("/tell_experience")
    before = stories(prod_stack)

    with services.postgres_stopped(prod_stack.groups()):
        # Rasa cannot load nor save a tracker: a clear answer (not one from an empty tracker
        # Rasa falls back to), never a 500, on both replicas.
        for replica in (0, 1):
            reply = bystander.post("la mairie de Gap", replica)
            assert reply.status_code == 200, reply.text
            assert texts(reply.json()) == UNAVAILABLE
        # The action server, reached as Rasa reaches it: each story goes to the outbox and the
        # usager gets the normal confirmation with a provisional reference.
        references = []
        for payload in [*payloads, payloads[0]]:  # the first one retried, as Rasa may do
            answer = run_action(prod_stack, payload)
            submitted = [r for r in answer["responses"] if r["response"] == "utter_story_submitted"]
            assert len(submitted) == 1, answer["responses"]
            references.append(submitted[0]["reference"])
            slots = {e["name"]: e["value"] for e in answer["events"] if e["event"] == "slot"}
            assert slots["story_reference"] == references[-1]
            assert slots["story_text"] is None  # the form's free text is emptied
        assert references[0] == references[2] != references[1]
        assert all(REFERENCE_RE.fullmatch(r) and r[9] == "9" for r in references)
        queued = outbox_entries(prod_stack)
        assert [entry["story"]["reference"] for entry in queued] == references
        for entry in queued:
            assert "personne ne décroche" in entry["story"]["text"]
            assert "[EMAIL]" in entry["story"]["text"]
            assert planted_values_in(json.dumps(entry, ensure_ascii=False)) == []
        time.sleep(FLUSH_INTERVAL_S * 2)  # periodic flushes fail meanwhile: nothing is lost
        assert len(outbox_entries(prod_stack)) == 3

    def written() -> bool:
        stored = {row[0] for row in stories(prod_stack)}
        return set(references) <= stored and not outbox_entries(prod_stack)

    flushed = wait_for(written, 60, "outbox written to PostgreSQL")
    print(f"outbox written {flushed:.1f} s after PostgreSQL accepted connections again")
    time.sleep(FLUSH_INTERVAL_S * 2)  # a later flush must not write them again
    assert outbox_entries(prod_stack) == []
    assert not prod_stack.outbox.with_name(prod_stack.outbox.name + ".rejected").exists()
    new = [row for row in stories(prod_stack) if row not in before]
    assert sorted(row[0] for row in new) == sorted(set(references))
    assert all("personne ne décroche" in row[1] and row[2] == "telephone" for row in new)

    # Rasa serves again (first turn after the restart included), where the usager left off;
    # the messages of the outage were not stored (nothing half-written).
    assert ASK_PLACE in bystander.say("la mairie de Gap", 0)
    assert ASK_CANAL in bystander.say("/skip", 1)
    turns = tracker_turns(prod_stack, bystander.sender)
    assert [user for user, _ in turns] == ["/tell_experience", "la mairie de Gap", "/skip"]


# --- RabbitMQ stopped --------------------------------------------------------------------------


def analytics_last_text(prod: ProdStack, sender: str) -> str | None:
    """The last message the analytics consumer saw for a conversation (scrubbed)."""
    engine = create_engine(prod.feedback_db_url, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT last_text FROM analytics_conversations WHERE sender_hash = :h"),
                {"h": hashlib.sha256(sender.encode()).hexdigest()},
            ).scalar()
    finally:
        engine.dispose()


def test_rabbitmq_stopped_conversations_unaffected(prod_stack):
    usager = Usager(prod_stack, "rabbit-down")
    names = prod_stack.stack.rasa_names()
    log_sizes = {name: len(prod_stack.log(name)) for name in names}
    slowest = 0.0
    with services.rabbitmq_stopped(prod_stack.groups()):
        for message, asked in STORY_STEPS[:6]:  # the story itself (personal data) included
            started = time.monotonic()
            answer = usager.say(message)
            slowest = max(slowest, time.monotonic() - started)
            assert asked in answer, (message, answer)
    print(f"slowest answer while RabbitMQ was down: {slowest:.1f} s")
    assert slowest < 30
    for message, asked in STORY_STEPS[6:]:
        assert asked in usager.say(message), message
    final = usager.say("/give_consent")
    assert SUBMITTED in final, final

    turns = tracker_turns(prod_stack, usager.sender)
    assert_user_texts(turns, [message for message, _ in STORY_STEPS] + ["/give_consent"])
    # Rasa's broker reconnected: the analytics consumer received the turns after the restart.
    wait_for(
        lambda: analytics_last_text(prod_stack, usager.sender) == "/give_consent",
        60,
        "events published again after RabbitMQ came back",
    )
    logged = ""
    for name in names:
        assert prod_stack.stack.processes[name].poll() is None, f"{name} died"
        logged += prod_stack.log(name)[log_sizes[name] :]
    assert "Traceback" not in logged
    assert planted_values_in(logged) == []  # the failed events are logged scrubbed...
    if "la CAF tous les jours" in logged:
        # ...but logged. Known gap, reported: rasa.core.brokers.pika logs every event it fails
        # to publish with its text, against "never write what the usager typed to the logs".
        pytest.xfail(
            "Rasa's pika broker logged the usager's (scrubbed) story while RabbitMQ was down"
        )
