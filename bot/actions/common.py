"""Helpers shared by the actions: latest message, interruptions, domain texts."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

# Intents that interrupt a form instead of answering its question.
INTERRUPTIONS = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "help",
        "bot_challenge",
        "ask_human",
        "out_of_scope",
        "stop",
        "restart",
        "ask_droit_erreur",
        "tell_experience",
    }
)


def latest_intent(tracker: Tracker) -> str | None:
    """Name of the latest user intent."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_text(tracker: Tracker) -> str:
    """Text of the latest user message ("" for a button payload)."""
    text = (tracker.latest_message.get("text") or "").strip()
    return "" if text.startswith("/") else text


def domain_text(domain: dict[str, Any], name: str, **variables: Any) -> str:
    """First text variant of a domain response, formatted with ``variables``.

    Used to build one message out of several short domain sentences (e.g. "Ouvert en ce
    moment."), so that every sentence still lives in ``domain.yml``.
    """
    variants = (domain.get("responses") or {}).get(name) or [{}]
    text = variants[0].get("text") or ""
    return text.format(**variables) if variables else text


def payload(intent: str, **entities: str) -> str:
    """A button payload: ``/intent{"entity": "value"}``."""
    import json

    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"
