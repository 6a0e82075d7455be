"""Notice, for one usager's turn, that a part of the assistant failed while Rasa carried on.

Rasa 3.6 keeps answering when something breaks mid-turn: a custom action that cannot reach the
action server is logged and skipped ("Bot will continue, but the actions events are lost"), and
a tracker store that fails (PostgreSQL down) is replaced by an empty in-memory tracker for that
turn (``FailSafeTrackerStore``). The usager would then read a partial or wrong answer. Those
failures are only visible as ERROR log records of Rasa's processor, actions and tracker store, so
the REST channel opens a :func:`watch` around each turn: a context variable collects the names of
the loggers that reported an error *in that turn's task* (other conversations served by the same
worker at the same time have their own context), and the channel answers
``utter_service_unavailable`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

WATCHED_LOGGERS = ("rasa.core.processor", "rasa.core.actions.action", "rasa.core.tracker_store")
_ERRORS: ContextVar[list[str] | None] = ContextVar("turn_errors", default=None)


class _TurnErrorHandler(logging.Handler):
    """Record the logger name of ERROR records emitted inside a watched turn."""

    def emit(self, record: logging.LogRecord) -> None:
        errors = _ERRORS.get()
        if errors is not None:
            errors.append(record.name)


_HANDLER = _TurnErrorHandler(level=logging.ERROR)


def install() -> None:
    """Attach the handler to Rasa's loggers (idempotent)."""
    for name in WATCHED_LOGGERS:
        target = logging.getLogger(name)
        if _HANDLER not in target.handlers:
            target.addHandler(_HANDLER)


@contextmanager
def watch() -> Iterator[list[str]]:
    """Collect, in the returned list, the Rasa loggers that reported an error during the block."""
    install()
    errors: list[str] = []
    token = _ERRORS.set(errors)
    try:
        yield errors
    finally:
        _ERRORS.reset(token)
