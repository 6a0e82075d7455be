"""Keep usager text out of Rasa's structured logs.

When RabbitMQ is unreachable, Rasa 3.6's pika broker logs every event it could not publish with
``structlog`` (``pika.events.publish.failed``), the event included: the usager's message (already
scrubbed by the tracker store, but still their words). :func:`install` puts a processor first in
structlog's chain that keeps only the event's type in any ``rasa_event`` field.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

EVENT_FIELDS = ("rasa_event",)


def drop_event_contents(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace logged Rasa events by their type (a structlog processor)."""
    for name in EVENT_FIELDS:
        value = event_dict.get(name)
        if isinstance(value, dict):
            event_dict[name] = {"event": value.get("event")}
        elif value is not None:
            event_dict[name] = "[hidden]"
    return event_dict


def install() -> None:
    """Put :func:`drop_event_contents` first in structlog's processors (idempotent)."""
    import structlog

    processors = list(structlog.get_config()["processors"])
    if drop_event_contents not in processors:
        structlog.configure(processors=[drop_event_contents, *processors])
