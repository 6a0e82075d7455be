"""The production profile's launcher pieces: profile file, replicas, per-process environment."""

from __future__ import annotations

from pathlib import Path

import pytest

import settings as settings_module
from scripts import endpoints
from scripts.launch import Stack, load_profile

PROD = {
    "TRACKER_DB_URL": "postgresql://postgres@127.0.0.1:5432/assistant_tracker",
    "LOCK_STORE_URL": "redis://127.0.0.1:6379/0",
    "EVENT_BROKER_URL": "amqp://guest:secret@127.0.0.1:5672/",
    "EVENT_BROKER_QUEUE": "events_test",
    "RASA_PORT": "6005",
    "RASA_REPLICAS": "3",
    "RASA_WORKERS": "2",
}


def test_the_prod_profile_fills_what_the_environment_does_not_set():
    env = load_profile("prod", {"RASA_REPLICAS": "4", "PATH": "/usr/bin"})
    assert env["RASA_REPLICAS"] == "4"  # the environment wins
    assert env["RASA_WORKERS"] == "2"
    assert env["TRACKER_DB_URL"].startswith("postgresql://")
    assert env["LOCK_STORE_URL"].startswith("redis://")
    assert env["EVENT_BROKER_URL"].startswith("amqp://")
    loaded = settings_module.load(env)
    assert loaded.rasa_replicas == 4 and loaded.rasa_workers == 2


def test_an_unknown_profile_names_the_known_ones():
    with pytest.raises(FileNotFoundError, match="prod"):
        load_profile("staging", {})


def test_several_rasa_processes_need_the_redis_lock_store():
    with pytest.raises(settings_module.SettingsError, match="LOCK_STORE_URL"):
        settings_module.load({"RASA_WORKERS": "2"})


def test_replica_ports_must_not_cover_the_other_servers():
    with pytest.raises(settings_module.SettingsError, match="ACTIONS_PORT"):
        settings_module.load({**PROD, "ACTIONS_PORT": "6006"})


def test_replicas_workers_and_the_consumer_are_started(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("SANIC_REQUEST_MAX_SIZE", raising=False)
    monkeypatch.delenv("SANIC_WORKERS", raising=False)
    stack = Stack(env=PROD, model=tmp_path / "model.tar.gz", log_dir=tmp_path)
    commands = stack.commands()
    assert list(commands) == ["actions", "rasa", "rasa-2", "rasa-3", "portal", "analytics"]
    ports = [commands[n][commands[n].index("--port") + 1] for n in ("rasa", "rasa-2", "rasa-3")]
    assert ports == ["6005", "6006", "6007"]
    assert commands["analytics"][-2:] == ["feedback_store.analytics_consumer", "--no-ner"]
    assert stack.health_urls()["rasa-3"] == "http://127.0.0.1:6007/webhooks/rest/"
    rasa_env, actions_env = stack.process_env("rasa-2"), stack.process_env("actions")
    assert rasa_env["SANIC_WORKERS"] == "2"
    assert rasa_env["SANIC_REQUEST_MAX_SIZE"] == str(stack.settings.webhook_max_bytes)
    # The action server receives whole trackers: no webhook-sized cap there.
    assert "SANIC_REQUEST_MAX_SIZE" not in actions_env and "SANIC_WORKERS" not in actions_env


def test_the_endpoint_file_refers_to_secrets_without_holding_them(tmp_path: Path):
    loaded = settings_module.load(PROD)
    path, env = endpoints.write(loaded, tmp_path)
    text = path.read_text()
    assert "secret" not in text
    assert "${EVENT_BROKER_PASSWORD}" in text and env["EVENT_BROKER_PASSWORD"] == "secret"
    assert "${EVENT_BROKER_QUEUE}" in text and env["EVENT_BROKER_QUEUE"] == "events_test"
    assert "type: bot.lock_store.AtomicRedisLockStore" in text
    assert "bot.tracker_store.ScrubbingSQLTrackerStore" in text
