"""A SQL tracker store that replaces personal data with placeholders before anything is saved.

Where a usager's words live in a Rasa 3.6 tracker: ``user`` events (``text``, ``parse_data``
text and entity values), ``slot`` events (values filled from messages), ``bot`` events (texts
and buttons that echo slots). This store scrubs those fields in every event it writes to the
database *and* in every event it streams to the event broker. Works with SQLite and PostgreSQL.

Rasa 3.6 silently falls back to the in-memory store when a custom store fails to import, so
this class logs ``ACTIVE_MARKER`` once constructed; the launcher refuses to go on without it.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot import log_privacy, rasa_speedups

logger = logging.getLogger(__name__)

rasa_speedups.install()  # measured Rasa fixes (model load, hot path), see bot/rasa_speedups.py
log_privacy.install()  # no usager text in Rasa's structured logs
ACTIVE_MARKER = "ScrubbingSQLTrackerStore active"
STORED_COUNT = "_stored_event_count"
"""Attribute set on the trackers this store returns or saves: how many of their first events
are stored (new events come after them)."""


def scrub_event_dict(data: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a serialised event with personal data replaced by placeholders."""
    from feedback_store.scrubbing import scrub, scrub_value

    data = copy.deepcopy(data)
    kind = data.get("event")
    if kind == "user":
        if isinstance(data.get("text"), str):
            data["text"] = scrub(data["text"]).text
        parse = data.get("parse_data")
        if isinstance(parse, dict):
            if isinstance(parse.get("text"), str):
                parse["text"] = scrub(parse["text"]).text
            for entity in parse.get("entities") or []:
                if isinstance(entity, dict) and "value" in entity:
                    entity["value"] = scrub_value(entity["value"])
    elif kind == "slot":
        data["value"] = scrub_value(data.get("value"))
    elif kind == "bot":
        if isinstance(data.get("text"), str):
            data["text"] = scrub(data["text"]).text
        if "data" in data:
            data["data"] = scrub_value(data["data"])
    return data


def scrub_event(event: Event) -> Event:
    """Return a scrubbed copy of an event (same type, same timestamp)."""
    if event.type_name not in ("user", "slot", "bot"):
        return event
    scrubbed = Event.from_parameters(scrub_event_dict(event.as_dict()))
    return scrubbed if scrubbed is not None else event


class ScrubbingSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that never writes or streams personal data."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from feedback_store.scrubbing import get_scrubber

        get_scrubber()  # load the scrubber (and spaCy) at server start, not on a usager's turn
        logger.info(ACTIVE_MARKER)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """Rasa's retrieve; the tracker remembers how many of its events are stored."""
        tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        if tracker is not None and not fetch_events_from_all_sessions:
            setattr(tracker, STORED_COUNT, len(tracker.events))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet, scrubbed, then publish the same events.

        Rasa's ``save`` first retrieves the whole stored tracker again (JSON decoding and a
        replay of every event of the session) only to count its events for the broker, then
        counts them once more with a query to know what to insert. Here the count comes from
        the tracker itself when this store retrieved it (its turn runs under the lock store, so
        nothing else wrote to the conversation meanwhile), else from one query. Each new event
        is scrubbed once and the rows go in one ``executemany``. Events are published after the
        commit: the broker only sees what is stored.
        """
        events = tracker.events
        stored = getattr(tracker, STORED_COUNT, None)
        with self.session_scope() as session:
            if stored is None or stored > len(events):
                stored = self._event_query(
                    session, tracker.sender_id, fetch_events_from_all_sessions=False
                ).count()
            new_events = [
                scrub_event_dict(e.as_dict()) for e in itertools.islice(events, stored, len(events))
            ]
            if new_events:
                session.execute(
                    self.SQLEvent.__table__.insert(),
                    [self._row(tracker.sender_id, data) for data in new_events],
                )
                session.commit()
        setattr(tracker, STORED_COUNT, len(events))
        if self.event_broker is not None:
            for data in new_events:
                self.event_broker.publish({"sender_id": tracker.sender_id, **data})

    @staticmethod
    def _row(sender_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The database row of one serialised event (as ``SQLTrackerStore.save`` builds it)."""
        return {
            "sender_id": sender_id,
            "type_name": data.get("event"),
            "timestamp": data.get("timestamp"),
            "intent_name": (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    async def _stream_new_events(
        self, event_broker: EventBroker, new_events: list[Event], sender_id: str
    ) -> None:
        """Publish new events to the broker, scrubbed (if anything but ``save`` streams)."""
        await super()._stream_new_events(
            event_broker, [scrub_event(e) for e in new_events], sender_id
        )
