"""The in-memory rate-limit backend, the client address behind proxies, and their settings."""

from __future__ import annotations

import pytest

import settings as settings_module
from feedback_store.rate_limit import (
    MemoryBackend,
    RedisBackend,
    client_address,
    make_backend,
    parse_networks,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_window_slides_per_key(clock):
    backend = MemoryBackend(60.0, clock=clock)
    assert [backend.check({"usager:a": 3}).allowed for _ in range(4)] == [True] * 3 + [False]
    assert backend.check({"usager:b": 3}).allowed  # another key has its own count
    clock.now += 30
    refused = backend.check({"usager:a": 3})
    assert refused == (False, 30.0, "usager:a")
    clock.now += 30  # the three first hits leave the window together
    assert backend.check({"usager:a": 3}).allowed


def test_a_refused_hit_counts_nowhere(clock):
    backend = MemoryBackend(60.0, clock=clock)
    for _ in range(2):
        assert backend.check({"ip:x": 5, "usager:a": 2}).allowed
    for _ in range(10):  # the usager is over its limit: the address quota is not used up
        decision = backend.check({"ip:x": 5, "usager:a": 2})
        assert not decision.allowed and decision.key == "usager:a"
    # other usagers behind the address: 2 + 3 = 5 hits on it, its limit
    assert all(backend.check({"ip:x": 5, f"usager:b{i}": 2}).allowed for i in range(3))
    decision = backend.check({"ip:x": 5, "usager:c": 2})
    assert not decision.allowed and decision.key == "ip:x" and decision.retry_after == 60.0


def test_the_longest_wait_is_reported(clock):
    backend = MemoryBackend(60.0, clock=clock)
    backend.check({"ip:x": 1})
    clock.now += 20
    backend.check({"usager:a": 1})
    clock.now += 1
    decision = backend.check({"ip:x": 1, "usager:a": 1})
    assert decision.key == "usager:a" and decision.retry_after == pytest.approx(59.0)


def test_retry_after_and_forget(clock):
    backend = MemoryBackend(60.0, clock=clock)
    assert backend.retry_after("k", 2) == 0.0
    backend.check({"k": 2})
    clock.now += 10
    backend.check({"k": 2})
    assert backend.retry_after("k", 2) == pytest.approx(50.0)
    backend.forget("k")
    assert backend.retry_after("k", 2) == 0.0 and len(backend) == 0


def test_memory_is_bounded(clock):
    backend = MemoryBackend(60.0, max_keys=100, clock=clock)
    for i in range(5000):
        backend.check({f"ip:{i}": 1})
    assert len(backend) <= 100
    clock.now += 61
    backend.check({"ip:new": 1})
    assert len(backend) <= 100


async def test_async_interface_and_reset(clock):
    backend = MemoryBackend(60.0, clock=clock)
    assert (await backend.hit({"k": 1})).allowed
    assert not (await backend.hit({"k": 1})).allowed
    await backend.reset("k")
    assert (await backend.hit({"k": 1})).allowed


def test_make_backend_picks_redis_only_for_a_url():
    assert isinstance(make_backend(""), MemoryBackend)
    backend = make_backend("redis://127.0.0.1:6379/0", prefix="p:")
    assert isinstance(backend, RedisBackend) and backend.prefix == "p:"


# --- client address -----------------------------------------------------------------------------

PROXY = parse_networks(["127.0.0.1", "10.0.0.0/8"])


def test_forwarded_for_is_ignored_without_a_trusted_proxy():
    assert client_address("203.0.113.7", "198.51.100.1") == "203.0.113.7"
    assert client_address("203.0.113.7", "198.51.100.1", PROXY) == "203.0.113.7"


def test_trusted_proxies_give_the_rightmost_untrusted_address():
    # nginx appends the peer it saw: what the client wrote further left is ignored
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.1", PROXY) == "198.51.100.1"
    assert client_address("127.0.0.1", "198.51.100.1, 10.1.2.3", PROXY) == "198.51.100.1"
    assert client_address("127.0.0.1", None, PROXY) == "127.0.0.1"
    assert client_address("127.0.0.1", "198.51.100.1:51234", PROXY) == "198.51.100.1"


def test_garbage_in_forwarded_for_keeps_the_last_proxy():
    assert client_address("127.0.0.1", "\x00zz" * 100, PROXY) == "127.0.0.1"
    assert client_address("127.0.0.1", "unknown, 10.1.2.3", PROXY) == "10.1.2.3"
    assert client_address("127.0.0.1", ",,,", PROXY) == "127.0.0.1"


def test_ipv6_clients_are_keyed_by_their_64_network():
    assert client_address("2001:db8:1:2:aaaa::1", None) == "2001:db8:1:2::/64"
    assert client_address("127.0.0.1", "[2001:db8:1:2::9]:443", PROXY) == "2001:db8:1:2::/64"
    assert client_address("::ffff:203.0.113.7", None) == "203.0.113.7"
    assert client_address("", None) == "unknown"


def test_settings_read_limits_and_trusted_proxies():
    config = settings_module.load(
        {
            "RATE_LIMIT_USAGER_PER_MIN": "7",
            "RATE_LIMIT_IP_PER_MIN": "70",
            "WEBHOOK_MAX_BYTES": "1024",
            "RATE_LIMIT_REDIS_URL": "redis://127.0.0.1:6379/2",
            "TRUSTED_PROXIES": " 127.0.0.1 , 10.0.0.0/8,::1",
        }
    )
    assert (config.rate_limit_usager_per_min, config.rate_limit_ip_per_min) == (7, 70)
    assert config.webhook_max_bytes == 1024
    assert config.rate_limit_redis_url == "redis://127.0.0.1:6379/2"
    assert config.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    defaults = settings_module.load({})
    assert (defaults.rate_limit_usager_per_min, defaults.rate_limit_ip_per_min) == (30, 120)
    assert defaults.trusted_proxies == () and defaults.webhook_max_bytes == 65536


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"TRUSTED_PROXIES": "nginx"}, "TRUSTED_PROXIES"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"),
        ({"RATE_LIMIT_IP_PER_MIN": "0"}, "RATE_LIMIT_IP_PER_MIN"),
        ({"RATE_LIMIT_USAGER_PER_MIN": "-3"}, "RATE_LIMIT_USAGER_PER_MIN"),
        ({"WEBHOOK_MAX_BYTES": "64k"}, "WEBHOOK_MAX_BYTES"),
        ({"RATE_LIMIT_REDIS_URL": "http://127.0.0.1:6379"}, "RATE_LIMIT_REDIS_URL"),
    ],
)
def test_settings_name_the_invalid_variable(env, name):
    with pytest.raises(settings_module.SettingsError, match=name):
        settings_module.load(env)
