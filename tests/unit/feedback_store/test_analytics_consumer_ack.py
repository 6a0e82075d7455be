"""A stuck acknowledgement makes the consumer reconnect instead of waiting forever."""

from __future__ import annotations

import asyncio

import pytest

from feedback_store import analytics_consumer
from feedback_store.analytics_consumer import AnalyticsConsumer, ConsumerConfig, ConsumerLost


class StuckMessage:
    """An incoming message whose ``ack`` never completes (a frame never written)."""

    body = b'{"event": "user", "sender_id": "s", "text": "bonjour", "timestamp": 1}'

    def __init__(self) -> None:
        self.acked = False

    async def ack(self, multiple: bool = False) -> None:
        await asyncio.Event().wait()


class Message(StuckMessage):
    async def ack(self, multiple: bool = False) -> None:
        self.acked = multiple


def consumer(written: list) -> AnalyticsConsumer:
    def write_batch(bodies: list[bytes]) -> tuple[int, int]:
        written.append(bodies)
        return len(bodies), 0

    return AnalyticsConsumer(ConsumerConfig("amqp://guest:guest@127.0.0.1:1/", "q"), write_batch)


def test_a_stuck_acknowledgement_is_a_lost_connection(monkeypatch):
    monkeypatch.setattr(analytics_consumer, "ACK_TIMEOUT_S", 0.2)
    written: list = []
    worker = consumer(written)
    with pytest.raises(ConsumerLost, match="acknowledgement not sent"):
        asyncio.run(asyncio.wait_for(worker._store([StuckMessage(), StuckMessage()]), 5))
    assert written == [[StuckMessage.body] * 2]  # written once; the broker will redeliver
    assert worker.messages == 0  # not counted as consumed


def test_an_acknowledged_batch_is_counted():
    written: list = []
    worker = consumer(written)
    batch = [Message(), Message()]
    asyncio.run(worker._store(batch))
    assert batch[-1].acked is True  # one ack for the whole batch ("multiple")
    assert (worker.messages, worker.stored) == (2, 2)
