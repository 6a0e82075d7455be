"""The webhook's guards: body parsing, rate limits, Content-Length; then the channel over ASGI."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sanic.compat import Header
from sanic.exceptions import InvalidUsage

from bot.channels import RestInput
from bot.rest_guard import NOT_JSON, TOO_MANY, WebhookGuard, parse_body
from feedback_store.http_hardening import BAD_LENGTH, check_content_length
from feedback_store.rate_limit import MemoryBackend
from tests.unit.portal.conftest import lifespan


def body_of(answer) -> dict:
    return json.loads(answer.body)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{nope",
        b'{"sender": "a", "message": "\xff\xfe"}',
        b"[1, 2]",
        b'"a string"',
        b"[" * 50_000 + b"]" * 50_000,
        b'{"message": ' + b"9" * 10_000 + b"}",
    ],
)
def test_parse_body_refuses_what_is_not_a_json_object(raw):
    answer = parse_body(raw, 200_000)
    assert answer.status == 400 and body_of(answer) == {"error": NOT_JSON}


def test_parse_body_caps_the_size():
    answer = parse_body(b'{"message": "' + b"x" * 70_000 + b'"}', 65536)
    assert answer.status == 413
    assert (
        body_of(answer)["error"].startswith("Requête trop volumineuse")
        and "64 Ko" in (body_of(answer)["error"])
    )
    assert parse_body('{"message": "é"}'.encode(), 65536) == {"message": "é"}


def fake_request(ip: str, forwarded_for: str | None = None):
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    return SimpleNamespace(ip=ip, headers=headers)


async def test_guard_limits_each_usager_then_the_address():
    guard = WebhookGuard(usager_per_min=2, ip_per_min=3, backend=MemoryBackend())
    request = fake_request("203.0.113.7")
    assert await guard.admit(request, "alice") is None
    assert await guard.admit(request, "alice") is None
    refused = await guard.admit(request, "alice")
    assert refused.status == 429 and body_of(refused) == {"error": TOO_MANY}
    assert 59 <= int(refused.headers["Retry-After"]) <= 60
    assert await guard.admit(request, "bob") is None  # the address has 3 hits now
    assert (await guard.admit(request, "carol")).status == 429
    assert await guard.admit(fake_request("203.0.113.8"), "carol") is None  # another address


async def test_guard_trusts_forwarded_for_only_from_listed_proxies():
    trusting = WebhookGuard(usager_per_min=10, ip_per_min=1, trusted_proxies=("127.0.0.1",))
    assert await trusting.admit(fake_request("127.0.0.1", "198.51.100.1"), None) is None
    assert await trusting.admit(fake_request("127.0.0.1", "198.51.100.2"), None) is None
    assert (await trusting.admit(fake_request("127.0.0.1", "198.51.100.1"), None)).status == 429
    naive = WebhookGuard(usager_per_min=10, ip_per_min=1)
    assert await naive.admit(fake_request("127.0.0.1", "198.51.100.1"), None) is None
    spoofed = await naive.admit(fake_request("127.0.0.1", "198.51.100.2"), None)
    assert spoofed.status == 429  # a forged header does not buy a fresh quota


@pytest.mark.parametrize("values", [["abc"], ["-5"], ["1e3"], ["12", "12"], [" "], ["9" * 30]])
async def test_malformed_content_length_is_refused(values):
    request = SimpleNamespace(headers=Header([("content-length", v) for v in values]))
    with pytest.raises(InvalidUsage, match=BAD_LENGTH):
        await check_content_length(request)


async def test_valid_or_absent_content_length_passes():
    for headers in ([("content-length", "0")], [("content-length", " 120")], []):
        assert await check_content_length(SimpleNamespace(headers=Header(headers))) is None


# --- the channel, served over ASGI ----------------------------------------------------------------


@pytest.fixture
async def webhook():
    received: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, "Bonjour !")

    Sanic.test_mode = True
    app = Sanic(f"rest_test_{uuid.uuid4().hex[:12]}")
    guard = WebhookGuard(max_bytes=4096, usager_per_min=3, ip_per_min=5)
    channel = RestInput(max_chars=100, guard=guard)
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/rest")
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://rasa.test") as client:
            yield SimpleNamespace(client=client, received=received)


async def post(webhook, **kwargs) -> httpx.Response:
    return await webhook.client.post("/webhooks/rest/webhook", **kwargs)


async def test_channel_cleans_the_text_and_answers(webhook):
    raw = b'{"sender": "u1", "message": "bon\\u0000jour\\u001b \\ud800!"}'  # a lone surrogate
    reply = await post(webhook, content=raw)
    assert reply.status_code == 200 and reply.json() == [
        {"recipient_id": "u1", "text": "Bonjour !"}
    ]
    assert webhook.received[0].text == "bonjour !"


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"sender": "x" * 129, "message": "bonjour"}, "« sender »"),
        ({"sender": 42, "message": "bonjour"}, "« sender »"),
        ({"sender": "u2", "message": ["bonjour"]}, "« message »"),
        ({"sender": "u2", "message": None}, "« message »"),
    ],
)
async def test_channel_refuses_wrong_fields(webhook, payload, fragment):
    reply = await post(webhook, json=payload)
    assert reply.status_code == 400 and fragment in reply.json()["error"]
    assert webhook.received == []


async def test_channel_refuses_garbage_bodies(webhook):
    for content in (b"{nope", b"\xff\xfe\x00", b"x" * 5000):
        reply = await post(webhook, content=content)
        assert reply.status_code in (400, 413), reply.text
        assert reply.json()["error"].startswith(("Le corps", "Requête trop volumineuse"))
    assert webhook.received == []


async def test_channel_rate_limits_with_a_french_429(webhook):
    statuses = [
        (await post(webhook, json={"sender": "u3", "message": "bonjour"})).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = await post(webhook, json={"sender": "u3", "message": "bonjour"})
    assert refused.json() == {"error": TOO_MANY} and refused.headers["retry-after"]
    assert len(webhook.received) == 3
    other = await post(webhook, json={"sender": "u4", "message": "bonjour"})
    assert other.status_code == 200  # 4th hit on the address (refused hits do not count)
    assert (await post(webhook, content=b"{nope")).status_code == 400  # 5th: garbage counts
    last = await post(webhook, json={"sender": "u5", "message": "bonjour"})
    assert last.status_code == 429 and last.json() == {"error": TOO_MANY}
