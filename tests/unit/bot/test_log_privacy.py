"""Rasa's structured logs keep the type of an event, never its text."""

from __future__ import annotations

from bot.log_privacy import drop_event_contents


def test_a_logged_event_keeps_only_its_type():
    logged = {
        "event": "pika.events.publish.failed",
        "host": "127.0.0.1",
        "rasa_event": {"event": "user", "text": "je m'appelle Paul Lefebvre", "sender_id": "u1"},
    }
    out = drop_event_contents(None, "error", dict(logged))
    assert out["rasa_event"] == {"event": "user"}
    assert out["event"] == "pika.events.publish.failed" and out["host"] == "127.0.0.1"
    assert "Paul" not in repr(out)


def test_other_records_are_untouched():
    record = {"event": "pika.connection", "host": "127.0.0.1"}
    assert drop_event_contents(None, "info", dict(record)) == record
