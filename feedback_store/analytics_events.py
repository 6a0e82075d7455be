"""From Rasa events to analytics rows: what counts as "not understood", in which flow.

Rasa's event broker publishes one JSON object per tracker event, the event's ``as_dict()`` plus
``sender_id`` (Rasa 3.6 ``TrackerStore._stream_new_events``). This module is pure: it reads those
dicts and a conversation's state, and returns the new state and, when the bot reacted to a
message it did not understand, the analytics row. Storage lives in :mod:`feedback_store.analytics`.

What is counted is the bot's *reaction*, not the NLU label: inside a form most answers are free
text (a story, a commune, a démarche) that the form accepts whatever the intent, so an
``nlu_fallback`` intent there is not a misunderstanding unless the bot then asks to rephrase.
The reactions of this bot (``bot/data/rules/fallback.yml``, ``config.yml``, ``domain.yml``):

* ``utter_ask_rephrase`` — first misunderstanding (``nlu_fallback`` from the FallbackClassifier
  or ``bot/nlu_gibberish.py``): ``not_understood``;
* ``utter_fallback_menu`` — second misunderstanding in a row, the menu is offered:
  ``fallback_menu``;
* ``action_default_fallback`` — the dialogue policy had no confident next action (RulePolicy
  ``core_fallback_threshold``): ``fallback``;
* ``utter_out_of_scope`` — the usager asked something the assistant does not cover:
  ``out_of_scope``.

The question, intent and confidence of a row are those of the conversation's last ``user``
event; its flow is the form active at that moment (``active_loop`` events), ``hors_formulaire``
when none. Texts are scrubbed of personal data before they enter the state.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "FALLBACK_INTENT",
    "FLOW_LABELS",
    "KIND_LABELS",
    "NO_FLOW",
    "REACTIONS",
    "AnalyticsRow",
    "ConversationState",
    "event_time",
    "hash_sender",
    "interpret",
    "question_key",
]

NO_FLOW = "hors_formulaire"
FLOW_LABELS: Mapping[str, str] = {
    "orientation_form": "Trouver le bon service",
    "france_services_form": "France services près de chez moi",
    "droit_erreur_form": "Droit à l'erreur",
    "story_form": "Raconter mon expérience",
    NO_FLOW: "Hors formulaire",
}
"""Agent-facing names of the flows (forms of ``domain.yml``); other loops show their name."""

REACTIONS: Mapping[str, str] = {
    "utter_ask_rephrase": "not_understood",
    "action_default_ask_rephrase": "not_understood",  # Rasa's stock name, for safety
    "utter_fallback_menu": "fallback_menu",
    "action_default_fallback": "fallback",
    "action_two_stage_fallback": "fallback",  # Rasa's stock name, for safety
    "utter_out_of_scope": "out_of_scope",
}
"""Bot action name -> analytics kind."""

KIND_LABELS: Mapping[str, str] = {
    "not_understood": "Message non compris (reformulation demandée)",
    "fallback_menu": "Incompréhension répétée (menu proposé)",
    "fallback": "Suite de conversation incertaine (réponse par défaut)",
    "out_of_scope": "Demande hors du champ de l'assistant",
}

FALLBACK_INTENT = "nlu_fallback"
QUESTION_MAX_CHARS = 500
QUESTION_KEY_MAX_CHARS = 200
SCRUB_WINDOW_CHARS = 2 * QUESTION_MAX_CHARS
SENDER_MAX_CHARS = 1000
_NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_INTENT_RE = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
_NOT_WORD_RE = re.compile(r"[^\w\[\]]+")
_MIN_TIMESTAMP, _MAX_TIMESTAMP = 0.0, 32_503_680_000.0  # 1970 .. 3000


@dataclass(frozen=True)
class ConversationState:
    """What the consumer remembers of one conversation (keyed by the sender's hash)."""

    sender_hash: str
    active_loop: str | None = None
    last_text: str | None = None
    last_intent: str | None = None
    last_confidence: float | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class AnalyticsRow:
    """One analytics event to store (see :class:`feedback_store.models.AnalyticsEvent`)."""

    event_key: str
    at: datetime
    flow: str
    kind: str
    intent: str | None
    confidence: float | None
    question: str | None
    question_key: str | None
    sender_hash: str


def hash_sender(sender_id: str) -> str:
    """SHA-256 hex of a conversation id (the same digest as the widget's answer votes)."""
    return hashlib.sha256(sender_id.encode("utf-8", "replace")).hexdigest()


def event_time(event: Mapping[str, Any], now: datetime | None = None) -> datetime:
    """UTC time of a Rasa event (its ``timestamp``), ``now`` when missing or absurd."""
    value = event.get("timestamp")
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and _MIN_TIMESTAMP < value < _MAX_TIMESTAMP
    ):
        return datetime.fromtimestamp(value, timezone.utc)
    return now or datetime.now(timezone.utc)


def question_key(text: str | None) -> str | None:
    """Grouping key of a question: lower case, no accents, words only, 200 characters."""
    if not text:
        return None
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(char for char in folded if not unicodedata.combining(char))
    key = _NOT_WORD_RE.sub(" ", folded).strip()[:QUESTION_KEY_MAX_CHARS].strip()
    return key or None


def _clean_text(text: Any, scrub_text: Callable[[str], str]) -> str | None:
    """Scrubbed, whitespace-collapsed text cut to QUESTION_MAX_CHARS (None when empty)."""
    if not isinstance(text, str):
        return None
    text = " ".join(text.split())
    if not text:
        return None
    if len(text) > SCRUB_WINDOW_CHARS:  # scrub a window cut at a space, then cut again
        cut = text.rfind(" ", 0, SCRUB_WINDOW_CHARS)
        text = text[: cut if cut > 0 else SCRUB_WINDOW_CHARS]
    scrubbed = " ".join(scrub_text(text).split())
    if len(scrubbed) > QUESTION_MAX_CHARS:
        cut = scrubbed.rfind(" ", 0, QUESTION_MAX_CHARS)
        scrubbed = scrubbed[: cut if cut > 0 else QUESTION_MAX_CHARS] + " …"
    return scrubbed or None


def _confidence(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return min(max(float(value), 0.0), 1.0)
    return None


def _best_intent(parse_data: Any) -> tuple[str | None, float | None]:
    """The intent the NLU found; for ``nlu_fallback``, its best other candidate."""
    if not isinstance(parse_data, Mapping):
        return None, None
    candidates = [parse_data.get("intent")]
    ranking = parse_data.get("intent_ranking")
    if isinstance(ranking, list):
        candidates.extend(ranking)
    for candidate in candidates:
        if not isinstance(candidate, Mapping):
            continue
        name = candidate.get("name")
        if isinstance(name, str) and name != FALLBACK_INTENT and _INTENT_RE.match(name):
            return name, _confidence(candidate.get("confidence"))
    return None, None


def _loop_name(value: Any) -> str | None:
    if isinstance(value, str) and _NAME_RE.match(value):
        return value
    return None


def _event_key(state: ConversationState, event: Mapping[str, Any], name: str) -> str:
    stamp = event.get("timestamp")
    material = f"{state.sender_hash}|{event.get('event')}|{name}|{stamp!r}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def interpret(
    event: Mapping[str, Any],
    state: ConversationState,
    scrub_text: Callable[[str], str],
    *,
    now: datetime | None = None,
) -> tuple[ConversationState, AnalyticsRow | None]:
    """Apply one Rasa event to a conversation's state.

    Args:
        event: A Rasa event as published by the broker (``event``, ``timestamp``, …).
        state: The conversation's state before the event.
        scrub_text: Returns a text with personal data replaced (e.g. the scrubber's).
        now: Time used when the event carries no usable timestamp.

    Returns:
        The new state, and the analytics row when the event is a fallback reaction.

    """
    kind = event.get("event")
    at = event_time(event, now)
    if state.updated_at is not None and at < state.updated_at and kind != "action":
        return state, None  # an older event delivered late: the state already moved on
    if kind == "user":
        intent, confidence = _best_intent(event.get("parse_data"))
        text = _clean_text(event.get("text"), scrub_text)
        return (
            replace(
                state,
                last_text=text,
                last_intent=intent,
                last_confidence=confidence,
                updated_at=at,
            ),
            None,
        )
    if kind == "active_loop":
        return replace(state, active_loop=_loop_name(event.get("name")), updated_at=at), None
    if kind in ("session_started", "restart"):
        return ConversationState(state.sender_hash, updated_at=at), None
    if kind != "action":
        return state, None
    name = event.get("name")
    reaction = REACTIONS.get(name) if isinstance(name, str) else None
    if reaction is None:
        return state, None
    row = AnalyticsRow(
        event_key=_event_key(state, event, name),
        at=at,
        flow=state.active_loop or NO_FLOW,
        kind=reaction,
        intent=state.last_intent,
        confidence=state.last_confidence,
        question=state.last_text,
        question_key=question_key(state.last_text),
        sender_hash=state.sender_hash,
    )
    return state, row
