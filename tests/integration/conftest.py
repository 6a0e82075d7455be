"""The production profile on the machine's real services, for the fault tests.

``prod_stack`` (once per session, shared by the modules that use it): two Rasa replicas of one
Sanic worker each (replicas are what the faults are about; one worker each keeps the start
short), the action server, the portal and the analytics consumer, on throw-away PostgreSQL
databases (trackers, stories), the Redis lock store and a RabbitMQ queue of its own (deleted at
teardown). Skips with the reason when PostgreSQL, Redis or RabbitMQ cannot be reached. A fault
test puts back what it broke (a killed process restarted, a stopped service started).
"""

from __future__ import annotations

import secrets
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.launch import Stack
from tests.conftest import free_port
from tests.integration import services
from tests.integration.postgres import admin_engine, temporary_database

PROD_WORKERS = 1
FLUSH_INTERVAL_S = 2


@dataclass
class ProdStack:
    """A running production-profile stack and what the tests need to inspect it."""

    stack: Stack
    tracker_db_url: str
    feedback_db_url: str
    outbox: Path
    queue: str
    api_token: str
    startup_s: float

    def groups(self) -> set[int]:
        """Process groups of the stack's processes (clients of the services that are ours)."""
        return {proc.pid for proc in self.stack.processes.values() if proc.poll() is None}

    def log(self, name: str) -> str:
        """One process's log so far."""
        return (self.stack.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")


def _port_pair() -> int:
    """A free port whose next port is free too (two Rasa replicas)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def print_log_tails(log_dir: Path, chars: int = 4000) -> None:
    """Print the end of every log (startup failures)."""
    for log in sorted(log_dir.glob("*.log")):
        print(f"==== {log.name}\n{log.read_text(errors='replace')[-chars:]}")


@pytest.fixture(scope="session", autouse=True)
def _services_restarted() -> Iterator[None]:
    """Whatever happens in a fault test, PostgreSQL and RabbitMQ run again at the end."""
    yield
    services.ensure_services_running()


@pytest.fixture(scope="session")
def prod_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProdStack]:
    from scripts import model_cache

    for problem in (services.redis_problem(), services.rabbitmq_problem()):
        if problem:
            pytest.skip(problem)
    admin = admin_engine()  # skips when PostgreSQL is missing
    model = model_cache.ensure_model()
    work = tmp_path_factory.mktemp("prod-stack")
    queue = f"faults_{uuid.uuid4().hex[:12]}"
    token = secrets.token_urlsafe(24)
    with temporary_database(admin) as tracker_url, temporary_database(admin) as feedback_url:
        portal = free_port()
        env = {
            "ASSISTANT_HOST": "127.0.0.1",
            "RASA_PORT": str(_port_pair()),
            "ACTIONS_PORT": str(free_port()),
            "PORTAL_PORT": str(portal),
            "CORS_ORIGINS": f"http://127.0.0.1:{portal}",
            "TRACKER_DB_URL": tracker_url.replace("+psycopg2", ""),
            "FEEDBACK_DB_URL": feedback_url,
            "LOCK_STORE_URL": services.REDIS_URL,
            "EVENT_BROKER_URL": services.AMQP_URL,
            "EVENT_BROKER_QUEUE": queue,
            "RASA_REPLICAS": "2",
            "RASA_WORKERS": str(PROD_WORKERS),
            "RASA_API_TOKEN": token,
            "STORY_OUTBOX_PATH": str(work / "story_outbox.jsonl"),
            "OUTBOX_FLUSH_INTERVAL_S": str(FLUSH_INTERVAL_S),
            # Every test talks from 127.0.0.1 and other sessions share this Redis: the rate
            # limits are tested elsewhere, here they must not interfere.
            "RATE_LIMIT_IP_PER_MIN": "100000",
            "RATE_LIMIT_USAGER_PER_MIN": "100000",
            "LOG_LEVEL": "INFO",
        }
        stack = Stack(env=env, model=model, log_dir=work / "log")
        started = time.monotonic()
        stack.start()
        try:
            stack.wait_ready(timeout_s=600)
        except Exception:
            stack.stop()
            print_log_tails(work / "log")
            raise
        startup = time.monotonic() - started
        print(f"prod stack ready in {startup:.0f} s (2 replicas x {PROD_WORKERS} worker)")
        try:
            yield ProdStack(
                stack=stack,
                tracker_db_url=env["TRACKER_DB_URL"],
                feedback_db_url=feedback_url,
                outbox=Path(env["STORY_OUTBOX_PATH"]),
                queue=queue,
                api_token=token,
                startup_s=startup,
            )
        finally:
            stack.stop()
            services.ensure_services_running()
            services.delete_queue(queue)
            admin.dispose()  # its pooled connection died if PostgreSQL was restarted
    admin.dispose()
