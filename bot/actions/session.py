"""Session start: keep the partner site id that the widget sends as metadata."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

_PARTNER_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def partner_from_metadata(metadata: Any) -> str | None:
    """Return the partner id from session metadata when it is well formed."""
    if not isinstance(metadata, dict):
        return None
    partner = metadata.get("partner")
    return partner if isinstance(partner, str) and _PARTNER_RE.match(partner) else None


class ActionSessionStart(Action):
    """Start a session and record which partner site the usager came from."""

    def name(self) -> str:
        """Override Rasa's default ``action_session_start``."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Emit ``SessionStarted``, the partner slot, then listen."""
        events: list[EventType] = [SessionStarted()]
        partner = partner_from_metadata(tracker.get_slot("session_started_metadata"))
        if partner:
            events.append(SlotSet("partner", partner))
        events.append(ActionExecuted("action_listen"))
        return events
