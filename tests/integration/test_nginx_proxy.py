"""deploy/nginx.conf itself, started in front of the production profile's two Rasa replicas.

Only what a test machine cannot have is rewritten (TLS listener and certificates, file paths,
upstream ports: ``tests/integration/nginx.py``); rate limits, the body size limit, routing and
balancing are the example's own.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.nginx import render, running_nginx

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.slow]

GREETING = "Bonjour ! Je suis l'assistant automatique des services publics."


@pytest.fixture(scope="module")
def proxy(prod_stack, tmp_path_factory):
    settings = prod_stack.stack.settings
    port = free_port()
    conf = render(
        tmp_path_factory.mktemp("nginx"),
        listen_port=port,
        rasa_ports=[settings.rasa_port + i for i in range(settings.rasa_replicas)],
        portal_port=settings.portal_port,
    )
    with running_nginx(conf, port) as base:
        yield base


def say(base: str, sender: str, message: str) -> list[dict]:
    reply = httpx.post(
        f"{base}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_conversation_through_nginx_goes_on_across_replicas(proxy):
    sender = f"nginx-{uuid.uuid4().hex[:8]}"
    first = say(proxy, sender, "Bonjour")
    assert GREETING in first[0]["text"]
    asked = say(proxy, sender, "/find_service")
    assert "Quelle démarche" in " ".join(m.get("text", "") for m in asked)
    # The form's state lives in PostgreSQL: whichever replica gets the answer goes on with it.
    answer = " ".join(
        m.get("text", "") for m in say(proxy, sender, "je dois refaire ma carte d'identité")
    )
    assert "adressez-vous à : mairie" in answer.lower(), answer


def test_the_portal_is_served_behind_nginx(proxy):
    health = httpx.get(f"{proxy}/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    login = httpx.get(f"{proxy}/login", timeout=10)
    assert login.status_code == 200 and "Connexion" in login.text


def test_a_body_over_64_kb_is_refused_by_nginx(proxy):
    body = '{"sender": "nginx-big", "message": "' + "a" * 70_000 + '"}'
    reply = httpx.post(
        f"{proxy}/webhooks/rest/webhook",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert reply.status_code == 413


def test_a_burst_from_one_address_gets_429(proxy):
    # 5 requests/s with a burst of 20 per client address: 60 requests at once cannot all pass.
    # Empty messages are answered without NLU, so the replicas are not loaded by this test.
    def send(i: int) -> int:
        return httpx.post(
            f"{proxy}/webhooks/rest/webhook",
            json={"sender": f"nginx-burst-{i}", "message": ""},
            timeout=10,
        ).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=30) as pool:
        codes = list(pool.map(send, range(60)))
    elapsed = time.monotonic() - started
    assert set(codes) <= {200, 429}, codes
    # At most the burst plus what the rate refilled while the requests went out.
    assert 0 < codes.count(200) <= 20 + 5 * elapsed + 1, (elapsed, codes)
    assert codes.count(429) > 0, codes
