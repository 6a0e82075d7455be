"""The atomic Redis lock store on the machine's real Redis: no ticket is lost under contention."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import AtomicRedisLockStore
from tests.integration import services

pytestmark = pytest.mark.integration


@pytest.fixture
def store():
    problem = services.redis_problem()
    if problem:
        pytest.skip(problem)
    config = EndpointConfig(
        url="127.0.0.1",
        type="bot.lock_store.AtomicRedisLockStore",
        port=6379,
        db=15,
        key_prefix="locktest",
    )
    built = AtomicRedisLockStore(endpoint_config=config)
    yield built
    for key in built.red.scan_iter(built.key_prefix + "*"):
        built.red.delete(key)


def test_tickets_issued_at_once_by_many_clients_are_all_distinct(store):
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    # Separate stores = separate connections, as in separate Rasa processes.
    stores = [
        AtomicRedisLockStore(host="127.0.0.1", port=6379, db=15, key_prefix="locktest")
        for _ in range(8)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        tickets = list(pool.map(lambda i: stores[i % 8].issue_ticket(conversation), range(80)))
    assert sorted(tickets) == list(range(80))
    assert len(store.get_lock(conversation).tickets) == 80
    for ticket in tickets:
        store.cleanup(conversation, ticket)
    assert store.get_lock(conversation) is None


def test_turns_of_one_conversation_never_overlap(store):
    conversation = f"c-{uuid.uuid4().hex[:8]}"
    stores = [
        AtomicRedisLockStore(host="127.0.0.1", port=6379, db=15, key_prefix="locktest")
        for _ in range(5)
    ]
    inside: list[int] = []
    overlaps: list[int] = []
    order: list[int] = []

    async def turn(i: int) -> None:
        async with stores[i].lock(conversation):
            inside.append(i)
            if len(inside) > 1:
                overlaps.append(i)
            order.append(i)
            await asyncio.sleep(0.02)
            inside.remove(i)

    async def all_turns() -> None:
        await asyncio.gather(*(turn(i) for i in range(5)))

    asyncio.run(all_turns())
    assert overlaps == [] and sorted(order) == list(range(5))
    assert store.get_lock(conversation) is None
