"""Rasa's Redis lock store with atomic ticket updates, for several workers and replicas.

Rasa 3.6's ``RedisLockStore`` issues and removes tickets with a read-modify-write of one Redis key
(GET, change in Python, SET). Two processes receiving messages of the same conversation at the
same moment can both read the same lock: one ticket is lost, both turns are served at once and one
turn's events are dropped from the tracker (seen 5 to 8 times in 30 bursts of five simultaneous
messages on 2 replicas x 2 workers, ``tests/integration/test_prod_faults.py``). This subclass makes
every change of a lock one optimistic Redis transaction (WATCH / MULTI / EXEC, retried on
conflict), and polls a waiting ticket every 50 ms instead of every second.

Configured by ``scripts/endpoints.py`` as ``lock_store: type: bot.lock_store.AtomicRedisLockStore``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05
_UNCHANGED = object()
T = TypeVar("T")


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose lock changes are atomic across processes."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        """Build from Rasa's endpoint configuration (``url`` is the Redis host) or keywords."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs}
        super().__init__(**kwargs)

    def _change(
        self, conversation_id: str, change: Callable[[TicketLock | None], tuple[Any, T]]
    ) -> T:
        """Apply ``change`` to the stored lock in one transaction; return its result.

        ``change`` receives the current lock (or None) and returns the lock to store (``None``
        deletes it, ``_UNCHANGED`` writes nothing) and a result.
        """
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new_lock, result = change(lock)
                    pipe.multi()
                    if new_lock is None:
                        pipe.delete(key)
                    elif new_lock is not _UNCHANGED:
                        pipe.set(key, new_lock.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another process changed the lock meanwhile: read it again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue a ticket, creating the lock if needed, atomically."""

        def change(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, change)
        except Exception as err:  # same contract as Rasa's
            raise LockError(f"Error while acquiring lock. Error:\n{err}") from err

    def update_lock(self, conversation_id: str) -> None:
        """Remove expired tickets, atomically."""

        def change(lock: TicketLock | None) -> tuple[Any, None]:
            if lock is None:
                return _UNCHANGED, None
            lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove one ticket, atomically."""

        def change(lock: TicketLock | None) -> tuple[Any, None]:
            if lock is None:
                return _UNCHANGED, None
            lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, change)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove one ticket and the lock itself when nobody waits, in one transaction."""

        def change(lock: TicketLock | None) -> tuple[Any, None]:
            if lock is None:
                return _UNCHANGED, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, change)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_INTERVAL_S,
    ) -> AsyncIterator[TicketLock]:
        """Rasa's ticket lock, polling every ``POLL_INTERVAL_S`` while another turn is served."""
        async with super().lock(
            conversation_id, lock_lifetime, min(wait_time_in_seconds, POLL_INTERVAL_S)
        ) as acquired:
            yield acquired
