"""Sliding-window rate limits with a pluggable backend, and the client address behind proxies.

A limiter counts *hits* per key (``"ip:203.0.113.7"``, ``"usager:…"``) over a sliding window.
One call checks several keys at once, each with its own limit: the hit is counted on every key
only when all of them are under their limit (a refused hit counts nowhere), so a usager who is
refused does not use up the quota of the other usagers behind the same address.

Two backends, same interface (``await backend.hit({key: limit, ...})``):

- :class:`MemoryBackend`: in this process (the default, embedded profile). With several Sanic
  workers or replicas each one counts its own hits, so the real limit is multiplied.
- :class:`RedisBackend`: shared by every worker and replica (one small Lua script, atomic over
  the keys, a sorted set of hit times per key that expires with the window). When Redis cannot
  be reached it falls back to an in-memory window for a few seconds and logs it once: a limiter
  never takes the assistant down.

:func:`make_backend` picks one from a ``redis://`` URL (or none). Never imports Rasa; the
``redis`` package is imported only when a Redis backend is used.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

logger = logging.getLogger(__name__)

WINDOW_S = 60.0
"""Length of the window: limits are per minute."""

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Decision(NamedTuple):
    """Outcome of one hit."""

    allowed: bool
    retry_after: float = 0.0
    """Seconds until the refused key may be hit again (0 when allowed)."""
    key: str | None = None
    """The key over its limit (None when allowed)."""


class Backend(Protocol):
    """What a rate-limit backend offers."""

    async def hit(self, limits: Mapping[str, int]) -> Decision:
        """Count one hit on every key of ``limits`` unless one is at its limit."""

    async def reset(self, key: str) -> None:
        """Forget the hits of ``key``."""


# --- in memory ----------------------------------------------------------------------------------


class MemoryBackend:
    """Sliding window in this process; thread-safe; at most ``max_keys`` keys kept."""

    def __init__(
        self,
        window_s: float = WINDOW_S,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of keys currently held."""
        return len(self._hits)

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        if not hits:
            del self._hits[key]
        return hits

    def _make_room(self, now: float) -> None:
        for key in list(self._hits):
            self._recent(key, now)
        if len(self._hits) >= self.max_keys:  # still full of active keys: drop the oldest half
            for key in list(self._hits)[: max(1, self.max_keys // 2)]:
                del self._hits[key]

    def check(self, limits: Mapping[str, int], now: float | None = None) -> Decision:
        """Synchronous :meth:`hit` (``now`` in the clock's unit, for tests)."""
        with self._lock:
            now = self._clock() if now is None else now
            refused: tuple[float, str] | None = None
            for key, limit in limits.items():
                hits = self._recent(key, now)
                if len(hits) >= limit:
                    wait = self.window_s - (now - hits[0]) if hits else self.window_s
                    if refused is None or wait > refused[0]:
                        refused = (wait, key)
            if refused is not None:
                return Decision(False, max(refused[0], 0.001), refused[1])
            if len(self._hits) + len(limits) > self.max_keys:
                self._make_room(now)
            for key in limits:
                self._hits.setdefault(key, deque()).append(now)
            return Decision(True)

    def retry_after(self, key: str, limit: int, now: float | None = None) -> float:
        """Seconds until ``key`` is under ``limit`` again (0 if it already is)."""
        with self._lock:
            now = self._clock() if now is None else now
            hits = self._recent(key, now)
            if len(hits) < limit:
                return 0.0
            return max(self.window_s - (now - hits[len(hits) - limit]), 0.001)

    def forget(self, key: str) -> None:
        """Synchronous :meth:`reset`."""
        with self._lock:
            self._hits.pop(key, None)

    async def hit(self, limits: Mapping[str, int]) -> Decision:
        """Count one hit on every key of ``limits`` unless one is at its limit."""
        return self.check(limits)

    async def reset(self, key: str) -> None:
        """Forget the hits of ``key``."""
        self.forget(key)


# --- Redis --------------------------------------------------------------------------------------

# KEYS: the counters. ARGV: now (s), window (s), a unique member, then one limit per key.
# Returns "0" when the hit is counted, else "<seconds to wait>|<index of the key, from 1>".
HIT_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait, refused = 0, 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local limit = tonumber(ARGV[3 + i])
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = window
    if oldest[2] then w = tonumber(oldest[2]) + window - now end
    if refused == 0 or w > wait then wait, refused = w, i end
  end
end
if refused > 0 then return tostring(wait) .. '|' .. refused end
local ttl = math.ceil(window * 1000)
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, ttl)
end
return '0'
"""


class RedisBackend:
    """Sliding window in Redis, shared by every process (see the module docstring).

    The client is created lazily in the running event loop (one per loop, so one per Sanic
    worker). Hit times come from this machine's clock (``time.time``): replicas must be NTP-synced.
    """

    def __init__(
        self,
        url: str,
        window_s: float = WINDOW_S,
        *,
        prefix: str = "assistant:ratelimit:",
        timeout_s: float = 0.5,
        outage_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        fallback: MemoryBackend | None = None,
    ) -> None:
        self.url = url
        self.window_s = window_s
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.outage_s = outage_s
        self._clock = clock
        self.fallback = fallback or MemoryBackend(window_s)
        self._client: Any = None
        self._script: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._down_until = 0.0

    def _connect(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            from redis import asyncio as aioredis

            self._client = aioredis.from_url(
                self.url,
                socket_timeout=self.timeout_s,
                socket_connect_timeout=self.timeout_s,
                decode_responses=True,
            )
            self._script = self._client.register_script(HIT_SCRIPT)
            self._loop = loop
        return self._client

    def _failed(self, err: BaseException) -> None:
        if time.monotonic() >= self._down_until:
            logger.warning(
                "Rate-limit store unreachable (%s): counting in memory for %.0f s.",
                type(err).__name__,
                self.outage_s,
            )
        self._down_until = time.monotonic() + self.outage_s

    async def hit(self, limits: Mapping[str, int]) -> Decision:
        """Count one hit on every key of ``limits`` unless one is at its limit."""
        if not limits:
            return Decision(True)
        if time.monotonic() < self._down_until:
            return self.fallback.check(limits)
        keys = list(limits)
        try:
            self._connect()
            answer = await self._script(
                keys=[self.prefix + key for key in keys],
                args=[
                    repr(self._clock()),
                    repr(self.window_s),
                    uuid.uuid4().hex,
                    *(int(limits[key]) for key in keys),
                ],
            )
        except Exception as err:  # noqa: BLE001 - any Redis or network failure: degrade
            self._failed(err)
            return self.fallback.check(limits)
        if answer == "0":
            return Decision(True)
        wait, _, index = str(answer).partition("|")
        return Decision(False, max(float(wait), 0.001), keys[int(index) - 1])

    async def reset(self, key: str) -> None:
        """Forget the hits of ``key``."""
        self.fallback.forget(key)
        try:
            await self._connect().delete(self.prefix + key)
        except Exception as err:  # noqa: BLE001
            self._failed(err)

    async def aclose(self) -> None:
        """Close the connection pool of the current loop's client."""
        if self._client is not None:
            await self._client.close(close_connection_pool=True)
            self._client = None


def make_backend(
    redis_url: str = "", *, window_s: float = WINDOW_S, prefix: str = "assistant:ratelimit:"
) -> MemoryBackend | RedisBackend:
    """Redis backend for a ``redis://`` URL, else the in-memory one."""
    if redis_url:
        return RedisBackend(redis_url, window_s, prefix=prefix)
    return MemoryBackend(window_s)


# --- client address -----------------------------------------------------------------------------


def parse_networks(values: Iterable[str]) -> tuple[IpNetwork, ...]:
    """Networks of trusted proxies from addresses or CIDR blocks.

    Raises:
        ValueError: A value is neither.

    """
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:51234
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[IpNetwork] = ()
) -> str:
    """Address of the client: the peer, or what trusted proxies wrote in ``X-Forwarded-For``.

    The header is read only when the peer is a trusted proxy, from right to left: the first
    address that is not a trusted proxy is the client (anything further left was written by the
    client itself and is ignored). An IPv6 client is keyed by its /64 network.

    Args:
        peer: Address of the TCP peer (Sanic's ``request.ip``).
        forwarded_for: The ``X-Forwarded-For`` header, if any.
        trusted: Networks of the reverse proxies (``TRUSTED_PROXIES``).

    Returns:
        A printable key: an IPv4 address, an IPv6 /64 network, or ``"unknown"``.

    """
    current = _address(peer or "")
    if current is None:
        return (peer or "unknown")[:64]

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address.version == net.version and address in net for net in trusted)

    if forwarded_for and is_trusted(current):
        for hop in reversed(forwarded_for.split(",")):
            address = _address(hop)
            if address is None:
                break  # not written by a proxy of ours: keep the last proxy seen
            current = address
            if not is_trusted(address):
                break
    if isinstance(current, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{current}/64", strict=False))
    return str(current)


def request_client(request: Any) -> str:
    """Client address of a Sanic request, trusting the proxies in ``request.app.ctx``.

    The app lists its trusted proxies in ``app.ctx.trusted_proxies`` (from
    :func:`parse_networks`); without it only the peer address counts.
    """
    trusted = getattr(request.app.ctx, "trusted_proxies", ())
    return client_address(request.ip, request.headers.get("x-forwarded-for"), trusted)
