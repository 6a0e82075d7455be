"""The Redis rate-limit backend against the machine's real Redis (127.0.0.1:6379).

Every test uses its own key prefix and deletes its keys; skipped when Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid

import pytest

from feedback_store.rate_limit import MemoryBackend, RedisBackend
from tests.conftest import free_port

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("RATE_LIMIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis_client():
    from redis import asyncio as aioredis

    client = aioredis.from_url(REDIS_URL, socket_connect_timeout=1, decode_responses=True)
    try:
        await client.ping()
    except Exception as err:  # noqa: BLE001
        await client.close()
        pytest.skip(f"Redis is missing: cannot reach {REDIS_URL} ({type(err).__name__}: {err})")
    yield client
    await client.close()


@pytest.fixture
async def prefix(redis_client):
    value = f"test:ratelimit:{uuid.uuid4().hex}:"
    yield value
    keys = [key async for key in redis_client.scan_iter(match=value + "*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def backend(prefix, clock):
    limiter = RedisBackend(REDIS_URL, 60.0, prefix=prefix, clock=clock)
    yield limiter
    await limiter.aclose()


async def test_window_slides_per_key(backend, clock):
    assert [(await backend.hit({"usager:a": 3})).allowed for _ in range(4)] == [True] * 3 + [False]
    assert (await backend.hit({"usager:b": 3})).allowed
    clock.now += 30
    refused = await backend.hit({"usager:a": 3})
    assert not refused.allowed and refused.key == "usager:a"
    assert refused.retry_after == pytest.approx(30.0)
    clock.now += 30
    assert (await backend.hit({"usager:a": 3})).allowed


async def test_a_refused_hit_counts_nowhere(backend, redis_client, prefix):
    for _ in range(2):
        assert (await backend.hit({"ip:x": 5, "usager:a": 2})).allowed
    for _ in range(10):
        decision = await backend.hit({"ip:x": 5, "usager:a": 2})
        assert not decision.allowed and decision.key == "usager:a"
    assert await redis_client.zcard(prefix + "ip:x") == 2
    for i in range(3):
        assert (await backend.hit({"ip:x": 5, f"usager:b{i}": 2})).allowed
    decision = await backend.hit({"ip:x": 5, "usager:c": 2})
    assert not decision.allowed and decision.key == "ip:x"
    assert decision.retry_after == pytest.approx(60.0)
    assert await redis_client.exists(prefix + "usager:c") == 0


async def test_keys_expire_with_the_window(backend, redis_client, prefix):
    await backend.hit({"ip:y": 10})
    ttl_ms = await redis_client.pttl(prefix + "ip:y")
    assert 59_000 < ttl_ms <= 60_000


async def test_workers_share_the_counts(prefix, clock):
    """Two backends (two Sanic workers, or two replicas) count against the same limit."""
    first = RedisBackend(REDIS_URL, 60.0, prefix=prefix, clock=clock)
    second = RedisBackend(REDIS_URL, 60.0, prefix=prefix, clock=clock)
    try:
        results = []
        for i in range(6):
            worker = first if i % 2 else second
            results.append((await worker.hit({"usager:shared": 4})).allowed)
        assert results == [True] * 4 + [False] * 2
    finally:
        await first.aclose()
        await second.aclose()


async def test_concurrent_hits_never_exceed_the_limit(backend):
    decisions = await asyncio.gather(*(backend.hit({"ip:burst": 25}) for _ in range(100)))
    assert sum(d.allowed for d in decisions) == 25


async def test_reset_forgets_a_key(backend, redis_client, prefix):
    await backend.hit({"login:x": 1})
    assert not (await backend.hit({"login:x": 1})).allowed
    await backend.reset("login:x")
    assert await redis_client.exists(prefix + "login:x") == 0
    assert (await backend.hit({"login:x": 1})).allowed


async def test_unreachable_redis_falls_back_to_memory(caplog, clock):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    fallback = MemoryBackend(60.0, clock=clock)
    backend = RedisBackend(closed, 60.0, timeout_s=0.2, outage_s=30, fallback=fallback)
    with caplog.at_level(logging.WARNING, logger="feedback_store.rate_limit"):
        results = [(await backend.hit({"usager:a": 2})).allowed for _ in range(3)]
    assert results == [True, True, False]  # still limited, in this process
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "counting in memory for 30 s" in warnings[0]
    await backend.aclose()
