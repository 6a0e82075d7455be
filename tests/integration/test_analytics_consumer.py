"""The analytics consumer against the machine's real RabbitMQ (and PostgreSQL).

Events are published by Rasa's own ``PikaEventBroker`` to a uniquely named fanout exchange and
queue (deleted afterwards), raw — not scrubbed by the tracker store — so that the consumer's own
scrubbing is what keeps planted personal data out of the database. The consumer runs as a real
process (``python -m feedback_store.analytics_consumer``); the broker is never stopped, its
connection is closed with ``rabbitmqctl close_connection`` or its queue deleted instead.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from feedback_store.analytics import fallbacks_by_flow
from feedback_store.analytics_consumer import READY_MESSAGE, STOPPED_MESSAGE
from feedback_store.analytics_events import NO_FLOW, hash_sender
from feedback_store.db import make_engine, make_session_factory
from feedback_store.models import AnalyticsEvent
from tests.integration.postgres import admin_engine, temporary_database

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST, PORT = "127.0.0.1", 5672
BROKER_URL = f"amqp://guest:guest@{HOST}:{PORT}/"
EMAIL = "paul.durand@example.org"
PHONE = "07 98 76 54 32"
NIR = "1 84 12 75 108 123 45"


def _rabbitmq_or_skip() -> None:
    try:
        with socket.create_connection((HOST, PORT), timeout=2):
            return
    except OSError as error:
        pytest.skip(f"RabbitMQ is missing: cannot reach {HOST}:{PORT} ({error})")


def _rabbitmqctl_or_skip() -> str:
    path = shutil.which("rabbitmqctl")
    if path is None:
        pytest.skip("rabbitmqctl is missing: cannot close the consumer's connection")
    return path


# --- publishing like Rasa ------------------------------------------------------------------------


def conversation(sender: str, *turns: tuple[str, str, str | None]) -> list[dict]:
    """Rasa events of ``turns`` (text, intent, bot reaction or None), via Rasa's event classes."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered

    events: list = []
    for text_, intent, reaction in turns:
        if text_.startswith("loop:"):
            events.append(ActiveLoop(text_[5:] or None))
            continue
        ranking = [{"name": intent, "confidence": 0.4}, {"name": "find_service", "confidence": 0.3}]
        parse = {"text": text_, "intent": ranking[0], "entities": [], "intent_ranking": ranking}
        events.append(UserUttered(text_, ranking[0], [], parse, input_channel="rest"))
        if reaction:
            events.append(ActionExecuted(reaction, policy="RulePolicy", confidence=1.0))
        events.append(ActionExecuted("action_listen"))
    start = time.time()
    messages = []
    for index, event in enumerate(events):
        event.timestamp = start + index * 0.001
        messages.append({"sender_id": sender, **event.as_dict()})
    return messages


async def publish(exchange: str, queue: str, messages: list[dict]) -> None:
    """Publish with Rasa 3.6's PikaEventBroker, as the Rasa server does."""
    from rasa.core.brokers.pika import PikaEventBroker

    broker = PikaEventBroker(
        HOST,
        "guest",
        "guest",
        port=PORT,
        queues=[queue],
        exchange_name=exchange,
        event_loop=asyncio.get_running_loop(),
    )
    await broker.connect()
    try:
        for message in messages:
            broker.publish(message)
        while broker._background_tasks:  # noqa: SLF001 - wait for the publishing tasks
            await asyncio.sleep(0.05)
    finally:
        await broker.close()


async def delete_queue(queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(BROKER_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)


async def drop_broker_objects(exchange: str, queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(BROKER_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


# --- the consumer process -----------------------------------------------------------------------


@dataclass
class Consumer:
    """A running ``python -m feedback_store.analytics_consumer`` and its log."""

    process: subprocess.Popen
    log: Path
    name: str
    db_url: str

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(pattern) >= count:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"consumer exited {self.process.returncode}:\n{self.text()}")
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} x{count} not logged in {timeout:.0f} s:\n{self.text()}")

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise


def start_consumer(
    tmp_path: Path, db_url: str, exchange: str, queue: str, *options: str, tag: str = "a"
) -> Consumer:
    name = f"test-analytics-{uuid.uuid4().hex[:10]}"
    log = tmp_path / f"consumer-{tag}.log"
    env = {**os.environ, "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    env.pop("EVENT_BROKER_URL", None)
    command = [
        sys.executable, "-m", "feedback_store.analytics_consumer",
        "--broker-url", BROKER_URL, "--queue", queue, "--exchange", exchange,
        "--db-url", db_url, "--flush-interval", "0.2", "--max-backoff", "2",
        "--connection-name", name, *options,
    ]  # fmt: skip
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    return Consumer(process, log, name, db_url)


def stored_rows(db_url: str) -> list[tuple]:
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as session:
            return [
                (r.sender_hash, r.flow, r.kind, r.question)
                for r in session.execute(select(AnalyticsEvent).order_by(AnalyticsEvent.at))
                .scalars()
                .all()
            ]
    finally:
        engine.dispose()


def wait_rows(db_url: str, sender: str, count: int, timeout: float = 30.0) -> list[tuple]:
    wanted = hash_sender(sender)
    deadline = time.monotonic() + timeout
    while True:
        rows = [row[1:] for row in stored_rows(db_url) if row[0] == wanted]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def close_connection(name: str) -> None:
    """Close the consumer's connection from the broker side (``rabbitmqctl``)."""
    ctl = _rabbitmqctl_or_skip()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = subprocess.run(
            [ctl, "list_connections", "pid", "client_properties", "--no-table-headers", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        marker = f'{{"connection_name","{name}"}}'
        pids = [line.split("\t", 1)[0] for line in listed.splitlines() if marker in line]
        if pids:
            subprocess.run(
                [ctl, "close_connection", pids[0], "test: simulated broker-side close"],
                capture_output=True,
                timeout=60,
                check=True,
            )
            return
        time.sleep(0.5)
    raise AssertionError(f"connection {name} not listed by rabbitmqctl")


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def names() -> Iterator[tuple[str, str]]:
    _rabbitmq_or_skip()
    suffix = uuid.uuid4().hex[:10]
    exchange, queue = f"test-analytics-x-{suffix}", f"test-analytics-q-{suffix}"
    yield exchange, queue
    asyncio.run(drop_broker_objects(exchange, queue))


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with temporary_database(admin_engine()) as url:
        yield url


@pytest.fixture(scope="module")
def consumer(tmp_path_factory, names, pg_url) -> Iterator[Consumer]:
    """One consumer (full scrubber with spaCy) on PostgreSQL for the module."""
    exchange, queue = names
    running = start_consumer(tmp_path_factory.mktemp("consumer"), pg_url, exchange, queue)
    try:
        running.wait_for(READY_MESSAGE.format(queue=queue))
        yield running
    finally:
        code = running.stop()
        assert code == 0, running.text()
        assert STOPPED_MESSAGE in running.text()


# --- tests --------------------------------------------------------------------------------------


async def test_events_from_rasas_broker_become_scrubbed_rows_per_flow(consumer, names):
    exchange, queue = names
    sender = f"widget-{uuid.uuid4().hex}"
    planted = f"Je suis Paul Durand, {EMAIL}, tél {PHONE}, NIR {NIR}"
    messages = conversation(
        sender,
        ("Bonjour", "greet", "utter_greet"),
        (planted, "nlu_fallback", "utter_ask_rephrase"),
        ("grmbl zorg", "nlu_fallback", "utter_fallback_menu"),
        ("raconter mon expérience", "tell_experience", "story_form"),
        ("loop:story_form", "", None),
        (f"La CAF ne répond pas, écrivez-moi à {EMAIL}", "nlu_fallback", None),  # free text
        ("???", "nlu_fallback", "utter_ask_rephrase"),
        ("loop:", "", None),
        ("la météo demain", "out_of_scope", "utter_out_of_scope"),
    )  # fmt: skip
    await publish(exchange, queue, messages)

    rows = await asyncio.to_thread(wait_rows, consumer.db_url, sender, 4)

    assert rows == [
        (NO_FLOW, "not_understood", "Je suis [NOM], [EMAIL], tél [TELEPHONE], NIR [NIR]"),
        (NO_FLOW, "fallback_menu", "grmbl zorg"),
        ("story_form", "not_understood", "???"),
        (NO_FLOW, "out_of_scope", "la météo demain"),
    ]
    engine = make_engine(consumer.db_url)
    try:
        with make_session_factory(engine)() as session:
            dump = str(
                [
                    session.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608
                    for table in inspect(session.get_bind()).get_table_names()
                ]
            )
            today = datetime.now(timezone.utc).date()
            overview = fallbacks_by_flow(session, today, today)
    finally:
        engine.dispose()
    for planted in (EMAIL, PHONE, NIR, "Durand", sender):
        assert planted not in dump
        assert planted not in consumer.text()
    assert {flow.flow: flow.kinds["not_understood"] for flow in overview.flows} == {
        NO_FLOW: 1,
        "story_form": 1,
    }
    assert overview.conversations == 1


async def test_the_consumer_reconnects_when_the_broker_closes_its_connection(consumer, names):
    exchange, queue = names
    ready = READY_MESSAGE.format(queue=queue)
    before = consumer.text().count(ready)
    await asyncio.to_thread(close_connection, consumer.name)
    await asyncio.to_thread(consumer.wait_for, ready, before + 1, 60)
    assert "reconnecting in" in consumer.text()

    sender = f"widget-{uuid.uuid4().hex}"
    await publish(
        exchange, queue, conversation(sender, ("xqzt", "nlu_fallback", "utter_ask_rephrase"))
    )

    assert await asyncio.to_thread(wait_rows, consumer.db_url, sender, 1) == [
        (NO_FLOW, "not_understood", "xqzt")
    ]


async def test_a_deleted_queue_is_declared_and_bound_again(consumer, names):
    exchange, queue = names
    ready = READY_MESSAGE.format(queue=queue)
    before = consumer.text().count(ready)
    await delete_queue(queue)
    await asyncio.to_thread(consumer.wait_for, ready, before + 1, 60)
    assert "ConsumerLost" in consumer.text()

    sender = f"widget-{uuid.uuid4().hex}"
    await publish(
        exchange, queue, conversation(sender, ("zut", "out_of_scope", "utter_out_of_scope"))
    )

    assert await asyncio.to_thread(wait_rows, consumer.db_url, sender, 1) == [
        (NO_FLOW, "out_of_scope", "zut")
    ]


async def test_a_standby_instance_takes_over_and_queued_events_wait_for_it(tmp_path):
    _rabbitmq_or_skip()
    suffix = uuid.uuid4().hex[:10]
    exchange, queue = f"test-analytics-x-{suffix}", f"test-analytics-q-{suffix}"
    db_url = f"sqlite:///{tmp_path / 'feedback.db'}"
    ready = READY_MESSAGE.format(queue=queue)
    first = start_consumer(tmp_path, db_url, exchange, queue, "--no-ner", tag="first")
    second = None
    try:
        first.wait_for(ready)
        second = start_consumer(tmp_path, db_url, exchange, queue, "--no-ner", tag="second")
        await asyncio.to_thread(second.wait_for, "is consumed by another instance")
        assert ready not in second.text()

        assert first.stop() == 0
        assert STOPPED_MESSAGE in first.text()
        sender = f"widget-{uuid.uuid4().hex}"
        # Published while no consumer may be active: the durable queue keeps the events.
        await publish(
            exchange, queue, conversation(sender, ("bof", "nlu_fallback", "utter_ask_rephrase"))
        )
        await asyncio.to_thread(second.wait_for, ready)

        assert await asyncio.to_thread(wait_rows, db_url, sender, 1) == [
            (NO_FLOW, "not_understood", "bof")
        ]
        assert second.stop() == 0
        assert re.search(r"stopped \(\d+ messages, 1 analytics rows stored\)", second.text())
    finally:
        for running in (first, second):
            if running is not None and running.process.poll() is None:
                running.process.kill()
                running.process.wait(10)
        await drop_broker_objects(exchange, queue)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(AnalyticsEvent)).scalar() == 1
    engine.dispose()
