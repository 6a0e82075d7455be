import pytest

import settings


def test_defaults_are_the_embedded_profile():
    s = settings.load({})
    assert (s.rasa_port, s.actions_port, s.portal_port) == (5005, 5055, 8000)
    assert s.tracker_db_url.startswith("sqlite:///")
    assert s.feedback_db_url.startswith("sqlite:///")
    assert s.rasa_api_token == ""  # HTTP API off by default
    assert s.lock_store_url == "" and s.event_broker_url == ""
    assert s.portal_url == "http://127.0.0.1:8000"
    assert s.actions_url == "http://127.0.0.1:5055/webhook"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"RASA_PORT": "abc"}, "RASA_PORT"),
        ({"PORTAL_PORT": "70000"}, "PORTAL_PORT"),
        ({"RASA_PORT": "8000"}, "must differ"),
        ({"FEEDBACK_DB_URL": "mysql://x"}, "FEEDBACK_DB_URL"),
        ({"CORS_ORIGINS": "*"}, "wildcard"),
        ({"CORS_ORIGINS": "example.fr"}, "CORS_ORIGINS"),
        ({"BAN_ENABLED": "peut-être"}, "BAN_ENABLED"),
        ({"BAN_TIMEOUT_S": "-1"}, "BAN_TIMEOUT_S"),
        ({"MAX_MESSAGE_CHARS": "0"}, "MAX_MESSAGE_CHARS"),
        ({"LOCK_STORE_URL": "http://redis"}, "LOCK_STORE_URL"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
    ],
)
def test_invalid_values_fail_fast_naming_the_variable(env, fragment):
    with pytest.raises(settings.SettingsError, match=fragment):
        settings.load(env)


def test_valid_production_values():
    s = settings.load(
        {
            "TRACKER_DB_URL": "postgresql://postgres@127.0.0.1:5432/test",
            "CORS_ORIGINS": "https://www.mairie-gap.fr, https://franceservices.example.fr/",
            "LOCK_STORE_URL": "redis://127.0.0.1:6379/0",
            "EVENT_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/",
            "BAN_ENABLED": "true",
            "RASA_API_TOKEN": "s3cret",
        }
    )
    assert s.cors_origins == ("https://www.mairie-gap.fr", "https://franceservices.example.fr")
    assert s.ban_enabled is True
    assert s.rasa_api_token == "s3cret"


def test_readme_documents_every_variable():
    from pathlib import Path

    readme = (Path(settings.ROOT) / "README.md").read_text(encoding="utf-8")
    for var in settings.VARIABLES:
        assert f"`{var.name}`" in readme, f"{var.name} missing from README"


def test_cli_hides_secrets(capsys, monkeypatch):
    monkeypatch.setenv("RASA_API_TOKEN", "very-secret")
    assert settings.main([]) == 0
    out = capsys.readouterr().out
    assert "very-secret" not in out and "rasa_api_token = ***" in out
