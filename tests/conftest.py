"""Shared fixtures: the three real servers on free ports (once per session), a REST usager."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.launch import Stack


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from scripts import model_cache

    model = model_cache.ensure_model()
    work = tmp_path_factory.mktemp("stack")
    env = {
        "ASSISTANT_HOST": "127.0.0.1",
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "PORTAL_PORT": str(free_port()),
        "TRACKER_DB_URL": f"sqlite:///{work / 'tracker.db'}",
        "FEEDBACK_DB_URL": f"sqlite:///{work / 'feedback.db'}",
        "STORY_OUTBOX_PATH": str(work / "story_outbox.jsonl"),
        "LOG_LEVEL": "INFO",
        # tests/e2e/test_hostile_input.py plays clients behind a proxy (X-Forwarded-For) and
        # fills one address's quota; the whole suite talks from 127.0.0.1 far below this.
        "TRUSTED_PROXIES": "127.0.0.1",
        "RATE_LIMIT_IP_PER_MIN": "1500",
    }
    env["CORS_ORIGINS"] = f"http://127.0.0.1:{env['PORTAL_PORT']}"
    running = Stack(env=env, model=model, log_dir=work / "log")
    running.start()
    try:
        running.wait_ready(timeout_s=240)
    except Exception:
        running.stop()
        for log in sorted((work / "log").glob("*.log")):
            print(f"==== {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        raise
    yield running
    running.stop()


class Conversation:
    """A usager talking to the REST webhook."""

    def __init__(self, stack: Stack, sender: str, metadata: dict | None = None) -> None:
        self.url = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
        self.sender = sender
        self.metadata = metadata or {}

    def say(self, text: str) -> list[dict]:
        reply = httpx.post(
            self.url,
            json={"sender": self.sender, "message": text, "metadata": self.metadata},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        return reply.json()

    @staticmethod
    def texts(messages: list[dict]) -> str:
        return "\n".join(m.get("text", "") for m in messages)

    @staticmethod
    def buttons(messages: list[dict]) -> list[tuple[str, str]]:
        return [(b["title"], b["payload"]) for m in messages for b in m.get("buttons", [])]


@pytest.fixture
def conversation(stack: Stack, request: pytest.FixtureRequest) -> Conversation:
    return Conversation(stack, sender=f"e2e-{request.node.name}-{os.getpid()}")


def read_db(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""
