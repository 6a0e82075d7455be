"""The action-response validation keeps Rasa's contract while building its validator once."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import rasa_speedups

rasa_speedups.install()

VALID = {
    "events": [{"event": "slot", "name": "story_canal", "value": "telephone"}],
    "responses": [{"response": "utter_ask_story_ressenti"}],
}


def test_the_patched_method_is_in_place():
    assert RemoteAction._validate_action_result is rasa_speedups._validate_action_result


def test_a_valid_response_passes():
    action = RemoteAction("action_x", None)
    assert action._validate_action_result(VALID) is True


@pytest.mark.parametrize(
    "bad",
    [
        {"events": [{"event": "no_such_event"}]},
        {"events": "not a list"},
        {"responses": [42]},
    ],
)
def test_an_invalid_response_fails_like_stock_rasa(bad):
    action = RemoteAction("action_x", None)
    with pytest.raises(jsonschema.ValidationError) as patched:
        action._validate_action_result(bad)
    with pytest.raises(jsonschema.ValidationError) as stock:
        jsonschema.validate(bad, RemoteAction.action_response_format_spec())
    assert patched.value.message.startswith(stock.value.message)
    assert "Failed to validate Action server response" in patched.value.message


def test_the_schema_is_checked_once(monkeypatch):
    rasa_speedups._action_response_validator.cache_clear()
    calls = []
    validator_cls = type(rasa_speedups._action_response_validator())
    original = validator_cls.check_schema.__func__
    monkeypatch.setattr(
        validator_cls,
        "check_schema",
        classmethod(lambda cls, schema: calls.append(1) or original(cls, schema)),
    )
    rasa_speedups._action_response_validator.cache_clear()
    action = RemoteAction("action_x", None)
    for _ in range(5):
        action._validate_action_result(VALID)
    assert len(calls) == 1


def test_event_types_resolve_as_in_stock_rasa():
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "slot", "action", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is rasa_speedups._STOCK_RESOLVE(name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=Event) is Event
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")
