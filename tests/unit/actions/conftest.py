"""Fixtures for action tests: real Domain, real Tracker, fresh dispatcher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The project's real domain, as the action server receives it."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml")).as_dict()


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def make_tracker(
    slots: dict[str, Any] | None = None,
    latest_message: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: dict[str, Any] | None = None,
    sender_id: str = "test-usager",
) -> Tracker:
    """Build a real rasa_sdk Tracker the way the action server does (``Tracker.from_dict``)."""
    return Tracker.from_dict(
        {
            "sender_id": sender_id,
            "slots": slots or {},
            "latest_message": latest_message or {"intent": {}, "entities": [], "text": ""},
            "events": events or [],
            "paused": False,
            "followup_action": None,
            "active_loop": active_loop or {},
            "latest_action_name": "action_listen",
        }
    )


@pytest.fixture
def tracker_factory():
    return make_tracker
