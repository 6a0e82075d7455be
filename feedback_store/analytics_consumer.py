"""RabbitMQ consumer of Rasa's event stream: records fallbacks per flow in the story store.

Run it beside Rasa when ``EVENT_BROKER_URL`` is set (production profile)::

    .venv/bin/python -m feedback_store.analytics_consumer

It reads ``EVENT_BROKER_URL``, ``EVENT_BROKER_QUEUE``, ``FEEDBACK_DB_URL`` and ``LOG_LEVEL``
through :mod:`settings` (options override them), migrates the story store, loads the scrubber,
then consumes the queue and logs ``analytics consumer ready: consuming queue '<name>'`` (again
after every reconnection). Each batch of messages is written in one transaction by
:func:`feedback_store.analytics.record_events`, then acknowledged: a message is acknowledged only
once its effect is in the database, and a redelivered one is stored once.

Broker: the queue is declared durable, without arguments, exactly as Rasa's ``PikaEventBroker``
declares it, and bound to Rasa's fanout exchange (``rasa-exchange``), so that either side may
start first and a deleted queue comes back on the next connection. When the connection or the
consumer is lost (RabbitMQ restarted, connection closed by an operator, queue deleted), the
consumer reconnects with exponential backoff and jitter (0.5 s doubling up to ``--max-backoff``);
conversations are not affected, Rasa keeps its own unpublished events.

Several instances: the consumer asks for an *exclusive* consumer on the queue. One instance
consumes, the others wait (retrying with backoff) and take over when it stops. One active
consumer keeps each conversation's events in order, which the flow attribution needs (the
fallback reaction is attributed to the form active before it and to the message that caused
it). That state (active form, last scrubbed message) is kept in the ``analytics_conversations``
table rather than in memory: a bounded in-memory map would be faster but would lose the form of
every conversation in progress at each restart or takeover, and would be wrong with competing
consumers; the table costs one upsert per conversation per batch, survives restarts, and is
pruned of conversations idle for a day. ``--shared`` lets several consumers share the queue
(more throughput, flows of one conversation then approximate).

Privacy: nothing a usager typed is logged (only counts and error types); texts are scrubbed
again before storage (Rasa's tracker store already scrubbed them); sender ids are stored as
SHA-256 digests. SIGTERM or SIGINT: the current batch is written and acknowledged, the
connection closed, exit code 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import random
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.exc import SQLAlchemyError

logger = logging.getLogger("feedback_store.analytics_consumer")

READY_MESSAGE = "analytics consumer ready: consuming queue {queue!r}"
STOPPED_MESSAGE = "analytics consumer stopped"
RASA_EXCHANGE = "rasa-exchange"
"""Fanout exchange of Rasa 3.6's ``PikaEventBroker`` (``rasa.core.brokers.pika``)."""
TICK_S = 1.0
PRUNE_INTERVAL_S = 3600.0
STABLE_CONNECTION_S = 10.0
"""A connection lost after this long restarts the backoff from its shortest delay."""
ACK_TIMEOUT_S = 10.0
"""An acknowledgement not sent by then means a broken connection: reconnect. Seen after a
database outage, when aio-pika 8's ``ack`` waited forever for its frame to be written. The
broker then delivers the batch again; recording it twice adds nothing (events are keyed)."""


class ConsumerLost(ConnectionError):
    """The broker cancelled our consumer (queue deleted) or closed the channel."""


class Backoff:
    """Exponential backoff with jitter: 0.5 s, 1 s, 2 s … up to ``maximum``."""

    def __init__(self, base: float = 0.5, maximum: float = 30.0) -> None:
        self.base = base
        self.maximum = maximum
        self.attempt = 0

    def next_delay(self) -> float:
        """Delay before the next attempt (grows with each call until :meth:`reset`)."""
        ceiling = min(self.maximum, self.base * 2**self.attempt)
        self.attempt = min(self.attempt + 1, 30)
        return ceiling * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        """Back to the shortest delay (after a successful connection)."""
        self.attempt = 0


@dataclass(frozen=True)
class ConsumerConfig:
    """What the consumer connects to and how it batches."""

    broker_url: str
    queue: str
    exchange: str = RASA_EXCHANGE
    batch_size: int = 200
    flush_interval_s: float = 0.5
    max_backoff_s: float = 30.0
    exclusive: bool = True
    state_ttl: timedelta = timedelta(days=1)
    connection_name: str = "analytics-consumer"


def broker_address(url: str) -> str:
    """``host:port`` of an AMQP URL, for logs (never the credentials)."""
    parsed = urlparse(url)
    return f"{parsed.hostname or '?'}:{parsed.port or 5672}"


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` at most ``timeout`` seconds; return whether it is set."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
    return event.is_set()


class AnalyticsConsumer:
    """Consume Rasa events from RabbitMQ and record them, reconnecting when needed.

    Args:
        config: Broker, queue and batching settings.
        write_batch: Stores decoded events in one transaction (runs in a worker thread);
            returns ``(rows stored, messages skipped)``.
        prune: Forgets idle conversation states (runs in a worker thread); returns how many.

    """

    def __init__(
        self,
        config: ConsumerConfig,
        write_batch: Callable[[list[bytes]], tuple[int, int]],
        prune: Callable[[datetime], int] | None = None,
    ) -> None:
        self.config = config
        self.write_batch = write_batch
        self.prune = prune
        self.stop = asyncio.Event()
        self.backoff = Backoff(maximum=config.max_backoff_s)
        self.stored = 0
        self.messages = 0
        self._last_prune = 0.0
        self._ready_at: float | None = None

    def request_stop(self) -> None:
        """Finish the current batch, close the connection and return from :meth:`run`."""
        self.stop.set()

    async def run(self) -> int:
        """Consume until stopped; returns the process exit code (0)."""
        import aiormq.exceptions

        retryable = (
            aiormq.exceptions.AMQPError,
            ConnectionError,
            OSError,
            asyncio.TimeoutError,
            aiormq.exceptions.ChannelInvalidStateError,
        )
        while not self.stop.is_set():
            try:
                await self._serve()
            except aiormq.exceptions.ChannelAccessRefused:
                if self.stop.is_set():
                    break
                self._reset_backoff_after_a_stable_connection()
                delay = self.backoff.next_delay()
                logger.info(
                    "queue %r is consumed by another instance; next try in %.1f s",
                    self.config.queue,
                    delay,
                )
                await _wait(self.stop, delay)
            except retryable as error:
                if self.stop.is_set():
                    break
                self._reset_backoff_after_a_stable_connection()
                delay = self.backoff.next_delay()
                logger.warning(
                    "broker %s unavailable or connection lost (%s); reconnecting in %.1f s",
                    broker_address(self.config.broker_url),
                    type(error).__name__,
                    delay,
                )
                await _wait(self.stop, delay)
        logger.info(
            "%s (%d messages, %d analytics rows stored)",
            STOPPED_MESSAGE,
            self.messages,
            self.stored,
        )
        return 0

    def _reset_backoff_after_a_stable_connection(self) -> None:
        """Start again from the shortest delay if the lost connection had lasted a while."""
        now = asyncio.get_running_loop().time()
        if self._ready_at is not None and now - self._ready_at >= STABLE_CONNECTION_S:
            self.backoff.reset()
        self._ready_at = None

    async def _serve(self) -> None:
        """One connection's life: declare, consume and store until stopped or lost."""
        import aio_pika
        from yarl import URL

        # The name shows in rabbitmqctl list_connections (aio-pika 8 drops client_properties).
        url = URL(self.config.broker_url).update_query(name=self.config.connection_name)
        connection = await aio_pika.connect(url, timeout=10)
        try:
            channel = await connection.channel(publisher_confirms=False)
            await channel.set_qos(prefetch_count=self.config.batch_size * 2)
            queue = await channel.declare_queue(self.config.queue, durable=True)
            if self.config.exchange:
                exchange = await channel.declare_exchange(
                    self.config.exchange, aio_pika.ExchangeType.FANOUT
                )
                await queue.bind(exchange, "")
            inbox: asyncio.Queue = asyncio.Queue()
            tag = await queue.consume(inbox.put, exclusive=self.config.exclusive)
            self._ready_at = asyncio.get_running_loop().time()
            logger.info(READY_MESSAGE.format(queue=self.config.queue))
            while not self.stop.is_set():
                batch = await self._collect(inbox)
                if batch:
                    await self._store(batch)
                if connection.is_closed or channel.is_closed:
                    raise ConsumerLost("connection or channel closed")
                if tag not in channel.channel.consumers:
                    raise ConsumerLost("consumer cancelled by the broker")
                await self._maybe_prune()
            await queue.cancel(tag)
            rest = []
            while not inbox.empty():
                rest.append(inbox.get_nowait())
            if rest:
                await self._store(rest)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)

    async def _collect(self, inbox: asyncio.Queue) -> list[Any]:
        """Wait up to a tick for a first message, then gather a batch for ``flush_interval_s``."""
        loop = asyncio.get_running_loop()
        try:
            first = await asyncio.wait_for(inbox.get(), TICK_S)
        except asyncio.TimeoutError:
            return []
        batch = [first]
        deadline = loop.time() + self.config.flush_interval_s
        while len(batch) < self.config.batch_size:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(inbox.get(), remaining))
            except asyncio.TimeoutError:
                break
        return batch

    async def _store(self, batch: list[Any]) -> None:
        """Write a batch (retrying while the database is down), then acknowledge it."""
        loop = asyncio.get_running_loop()
        bodies = [message.body for message in batch]
        backoff = Backoff(maximum=self.config.max_backoff_s)
        while True:
            try:
                rows, skipped = await loop.run_in_executor(None, self.write_batch, bodies)
                break
            except SQLAlchemyError as error:
                delay = backoff.next_delay()
                logger.warning(
                    "database write failed (%s); %d messages kept unacknowledged, retry in %.1f s",
                    type(error).__name__,
                    len(batch),
                    delay,
                )
                if await _wait(self.stop, delay):
                    raise ConsumerLost("stopped while the database was down") from error
        try:
            await asyncio.wait_for(batch[-1].ack(multiple=True), ACK_TIMEOUT_S)
        except asyncio.TimeoutError as error:
            raise ConsumerLost("acknowledgement not sent: connection broken") from error
        self.messages += len(batch)
        self.stored += rows
        if skipped:
            logger.warning("%d malformed messages skipped (not Rasa events)", skipped)
        logger.debug("batch of %d messages: %d analytics rows", len(batch), rows)

    async def _maybe_prune(self) -> None:
        loop = asyncio.get_running_loop()
        if self.prune is None or loop.time() - self._last_prune < PRUNE_INTERVAL_S:
            return
        self._last_prune = loop.time()
        idle_before = datetime.now(timezone.utc) - self.config.state_ttl
        try:
            pruned = await loop.run_in_executor(None, self.prune, idle_before)
        except SQLAlchemyError as error:
            logger.warning("pruning conversation states failed (%s)", type(error).__name__)
            return
        if pruned:
            logger.info("forgot the state of %d idle conversations", pruned)


# --- command line -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m feedback_store.analytics_consumer",
        description="Consume Rasa's events from RabbitMQ and record fallbacks and misunderstood "
        "questions per flow in the story store (GET /api/analytics/fallbacks).",
    )
    parser.add_argument("--broker-url", help="AMQP URL (default: $EVENT_BROKER_URL)")
    parser.add_argument("--queue", help="queue to consume (default: $EVENT_BROKER_QUEUE)")
    parser.add_argument(
        "--exchange",
        default=RASA_EXCHANGE,
        help=f"fanout exchange to bind the queue to, '' for none (default: {RASA_EXCHANGE})",
    )
    parser.add_argument("--db-url", help="story store URL (default: $FEEDBACK_DB_URL)")
    parser.add_argument("--batch-size", type=int, default=200, help="messages per transaction")
    parser.add_argument(
        "--flush-interval", type=float, default=0.5, help="seconds to fill a batch (default 0.5)"
    )
    parser.add_argument(
        "--max-backoff", type=float, default=30.0, help="longest wait between reconnections (s)"
    )
    parser.add_argument(
        "--shared",
        action="store_true",
        help="share the queue with other consumers instead of an exclusive consumer",
    )
    parser.add_argument(
        "--no-ner",
        action="store_true",
        help="scrub with the rules only, without spaCy person names (faster start, less memory)",
    )
    parser.add_argument(
        "--connection-name",
        default=f"analytics-consumer-{socket.gethostname()}-{os.getpid()}",
        help="name of the connection shown by rabbitmqctl list_connections (default: host, pid)",
    )
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (default: $LOG_LEVEL)")
    return parser


def _writer(db_url: str, no_ner: bool) -> tuple[Callable, Callable]:
    """The batch writer and the pruner, on one engine; loads the scrubber now."""
    from feedback_store import analytics
    from feedback_store.db import make_engine, make_session_factory
    from feedback_store.scrubbing import Scrubber, get_scrubber

    scrubber = Scrubber(None) if no_ner else get_scrubber()
    scrubber.scrub("Bonjour Madame Exemple")  # warm up (spaCy loads here, not on a message)
    factory = make_session_factory(make_engine(db_url))

    def scrub_text(text: str) -> str:
        return scrubber.scrub(text).text

    def record(events: list) -> tuple[int, int]:
        with factory.begin() as session:
            result = analytics.record_events(session, events, scrub_text=scrub_text)
        return result.rows, result.skipped

    def write_batch(bodies: list[bytes]) -> tuple[int, int]:
        events = [analytics.decode_message(body) for body in bodies]
        try:
            return record(events)
        except SQLAlchemyError:
            raise
        except Exception as error:  # noqa: BLE001 - one odd message must not stop the stream
            logger.warning("batch failed (%s); retrying message by message", type(error).__name__)
        rows = skipped = 0
        for event in events:  # find the message at fault, keep the others, in order
            try:
                added, dropped = record([event])
            except SQLAlchemyError:
                raise
            except Exception as error:  # noqa: BLE001
                logger.error("message skipped after an error (%s)", type(error).__name__)
                added, dropped = 0, 1
            rows, skipped = rows + added, skipped + dropped
        return rows, skipped

    def prune(idle_before: datetime) -> int:
        with factory.begin() as session:
            return analytics.prune_conversations(session, idle_before)

    return write_batch, prune


def main(argv: Sequence[str] | None = None) -> int:
    """Run the consumer until SIGTERM/SIGINT; returns the exit code (2 on bad configuration)."""
    import settings as settings_module

    args = _parser().parse_args(argv)
    try:
        settings = settings_module.load()
    except settings_module.SettingsError as error:
        print(f"analytics consumer: {error}", file=sys.stderr)
        return 2
    level = (args.log_level or settings.log_level).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        print(f"analytics consumer: unknown log level {level!r}", file=sys.stderr)
        return 2
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aio_pika", "aiormq"):  # their debug logs may show message bodies
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    broker_url = args.broker_url or settings.event_broker_url
    if not broker_url:
        print(
            "analytics consumer: no broker; set EVENT_BROKER_URL=amqp://user:password@host:5672/ "
            "or pass --broker-url",
            file=sys.stderr,
        )
        return 2
    durations = (args.flush_interval, args.max_backoff)
    if args.batch_size < 1 or not all(math.isfinite(d) and d > 0 for d in durations):
        print(
            "analytics consumer: --batch-size, --flush-interval and --max-backoff must be positive",
            file=sys.stderr,
        )
        return 2
    db_url = settings.feedback_db_url
    if args.db_url:
        try:
            db_url = settings_module.load({"FEEDBACK_DB_URL": args.db_url}).feedback_db_url
        except settings_module.SettingsError as error:
            print(f"analytics consumer: {error}", file=sys.stderr)
            return 2
    from sqlalchemy.engine import make_url

    from feedback_store.migrate import upgrade

    try:
        upgrade(db_url)
        write_batch, prune = _writer(db_url, args.no_ner)
    except SQLAlchemyError as error:
        shown = make_url(db_url).render_as_string(hide_password=True)
        print(
            f"analytics consumer: story store {shown} unavailable ({type(error).__name__})",
            file=sys.stderr,
        )
        return 1
    config = ConsumerConfig(
        broker_url=broker_url,
        queue=args.queue or settings.event_broker_queue,
        exchange=args.exchange,
        batch_size=args.batch_size,
        flush_interval_s=args.flush_interval,
        max_backoff_s=args.max_backoff,
        exclusive=not args.shared,
        connection_name=args.connection_name,
    )
    return asyncio.run(_run(config, write_batch, prune))


async def _run(config: ConsumerConfig, write_batch: Callable, prune: Callable) -> int:
    consumer = AnalyticsConsumer(config, write_batch, prune)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, consumer.request_stop)
    logger.info(
        "analytics consumer starting: broker %s, queue %r",
        broker_address(config.broker_url),
        config.queue,
    )
    return await consumer.run()


if __name__ == "__main__":
    sys.exit(main())
