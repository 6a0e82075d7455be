"""Malformed and hostile input at the real Rasa webhook and the real portal: 4xx, never a 500.

Runs against the session ``stack`` (tests/conftest.py), which trusts 127.0.0.1 as a proxy: the
tests play clients behind nginx with ``X-Forwarded-For`` (a fresh documentation address each) so
that their rate limits and login attempts never touch the quota of the other tests.
"""

from __future__ import annotations

import json
import random
import re
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest

pytestmark = pytest.mark.e2e

GREETING = "assistant automatique des services publics"
TOO_LONG = "Votre message est trop long pour moi"
NOT_JSON = "Le corps de la requête doit être un objet JSON encodé en UTF-8."
TOO_LARGE = "Requête trop volumineuse"
TOO_MANY = "Patientez une minute, puis réessayez."


def fresh_ip() -> str:
    return f"198.18.{random.randint(0, 255)}.{random.randint(1, 254)}"


@pytest.fixture(scope="module")
def rasa(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.settings.rasa_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def portal(stack) -> httpx.Client:
    with httpx.Client(base_url=stack.settings.portal_url, timeout=60) as client:
        yield client


@pytest.fixture
def client_ip() -> str:
    """A client address of its own for one test (the stack trusts 127.0.0.1 as its proxy)."""
    return fresh_ip()


def post_webhook(rasa: httpx.Client, ip: str, **kwargs) -> httpx.Response:
    headers = {"X-Forwarded-For": ip, **kwargs.pop("headers", {})}
    return rasa.post("/webhooks/rest/webhook", headers=headers, **kwargs)


def say(rasa: httpx.Client, ip: str, sender: str, message, **fields) -> httpx.Response:
    return post_webhook(rasa, ip, json={"sender": sender, "message": message, **fields})


def texts(reply: httpx.Response) -> str:
    return "\n".join(m.get("text", "") for m in reply.json())


def assert_refused(reply: httpx.Response, status: int, fragment: str) -> None:
    assert reply.status_code == status, (reply.status_code, reply.text[:300])
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    assert fragment in reply.json()["error"], reply.text[:300]


def raw_status(base_url: str, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes on a new connection; return the status code and the answer's body."""
    url = urlparse(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            head, ended, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            if ended and (length is None or len(body) >= int(length.group(1))):
                break
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert head.startswith(b"HTTP/1.1 "), data[:200]
    return int(head.split(b" ", 2)[1]), body


@pytest.fixture(scope="module", autouse=True)
def log_window(stack):
    """Where the Rasa and portal logs stood before this module (to read only its part)."""
    logs = [stack.log_dir / "rasa.log", stack.log_dir / "portal.log"]
    return {log: log.stat().st_size for log in logs}


# --- the REST webhook ---------------------------------------------------------------------------


def test_oversized_bodies_get_413(rasa, client_ip):
    token = "a" * 100_000  # one 100,000-character token: over the 64 KB body cap
    assert_refused(say(rasa, client_ip, "e2e-big-1", token), 413, TOO_LARGE)
    huge = b'{"sender": "e2e-big-2", "message": "' + b"x" * 3_000_000 + b'"}'
    reply = post_webhook(rasa, client_ip, content=huge)
    assert_refused(reply, 413, TOO_LARGE)
    assert "64 Ko" in reply.json()["error"]


def test_messages_over_the_character_cap_are_answered_without_parsing(rasa, client_ip):
    reply = say(rasa, client_ip, "e2e-long-1", "b" * 20_000)
    assert reply.status_code == 200 and TOO_LONG in texts(reply)
    started = time.monotonic()
    reply = say(rasa, client_ip, "e2e-long-2", "démarche" + "z" * 5_900)  # under the cap
    assert reply.status_code == 200 and texts(reply), reply.text[:300]
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    "body",
    [
        b"{nope",
        b'{"sender": "e2e-json", "message": "bonjour"',
        b"",
        b"[]",
        b'"bonjour"',
        b"null",
        b"\xef\xbb\xbf\xff\xfe\xfa",
        b'{"sender": "e2e-utf8", "message": "bon\xe9jour \xc3\x28"}',
        b"[" * 20_000 + b"]" * 20_000,
        b'{"sender": "e2e-int", "message": ' + b"9" * 10_000 + b"}",
    ],
    ids=[
        "truncated",
        "unclosed",
        "empty",
        "array",
        "string",
        "null",
        "bytes",
        "invalid-utf8",
        "deep",
        "huge-int",
    ],
)
def test_invalid_json_and_utf8_get_400(rasa, client_ip, body):
    reply = post_webhook(
        rasa, client_ip, content=body, headers={"Content-Type": "application/json"}
    )
    assert_refused(reply, 400, NOT_JSON)


def test_control_characters_are_dropped_and_the_bot_answers(rasa, client_ip):
    reply = say(rasa, client_ip, "e2e-ctrl-1", "\x00bon\x07jour\x1b\x7f\x08 !")
    assert reply.status_code == 200 and GREETING in texts(reply)
    raw = b'{"sender": "e2e-ctrl-2", "message": "bon\\u0000jour \\ud83d !\\udfff"}'
    reply = post_webhook(rasa, client_ip, content=raw)  # escaped NUL and lone surrogates
    assert reply.status_code == 200 and GREETING in texts(reply), reply.text[:300]


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"sender": "s" * 10_000, "message": "bonjour"}, "« sender »"),
        ({"sender": "e2e\x00nul", "message": "bonjour"}, "« sender »"),
        ({"sender": "../../etc/passwd", "message": "bonjour"}, "« sender »"),
        ({"sender": 12345, "message": "bonjour"}, "« sender »"),
        ({"sender": ["e2e"], "message": "bonjour"}, "« sender »"),
        ({"sender": None, "message": "bonjour"}, "« sender »"),
        ({"sender": "e2e-types", "message": 42}, "« message »"),
        ({"sender": "e2e-types", "message": ["bonjour"]}, "« message »"),
        ({"sender": "e2e-types", "message": {"text": "bonjour"}}, "« message »"),
        ({"sender": "e2e-types", "message": True}, "« message »"),
        ({"sender": "e2e-types"}, "« message »"),
    ],
)
def test_wrong_sender_and_message_get_400(rasa, client_ip, fields, fragment):
    assert_refused(post_webhook(rasa, client_ip, json=fields), 400, fragment)


def test_garbage_metadata_is_ignored(rasa, client_ip):
    nested: object = "fond"
    for _ in range(200):
        nested = {"x": [nested, None, 1.5e308]}
    for metadata in (
        {"partner": {"$ne": None}, "cookie": "x" * 5_000, "nested": nested},
        {"partner": "<script>alert(1)</script>"},
        "partner=mairie",
        [1, 2, 3],
        {f"k{i}": i for i in range(2_000)},
    ):
        reply = say(
            rasa, client_ip, f"e2e-meta-{random.randint(0, 10**9)}", "bonjour", metadata=metadata
        )
        assert reply.status_code == 200 and GREETING in texts(reply), reply.text[:300]


def test_malformed_http_framing_gets_400_and_the_server_keeps_serving(stack, rasa, client_ip):
    for request in (
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        b"Content-Length: 40\r\n\r\n{}",
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"zz\r\n{}\r\n0\r\n\r\n",
    ):
        status, _ = raw_status(stack.settings.rasa_url, request)
        assert status == 400, request
    status, _ = raw_status(
        stack.settings.rasa_url,
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nX-Junk: "
        + b"j" * 100_000
        + b"\r\nContent-Length: 2\r\n\r\n{}",
    )
    assert status == 413
    reply = say(rasa, client_ip, "e2e-after-framing", "bonjour")
    assert reply.status_code == 200 and GREETING in texts(reply)


# --- rate limits --------------------------------------------------------------------------------


def test_one_conversation_sending_too_fast_gets_a_french_429(stack, rasa, client_ip):
    limit = stack.settings.rate_limit_usager_per_min
    origin = stack.settings.cors_origins[0]
    headers = {"Origin": origin}
    first = post_webhook(
        rasa, client_ip, json={"sender": "e2e-fast", "message": "bonjour"}, headers=headers
    )
    assert first.status_code == 200 and GREETING in texts(first)
    for _ in range(limit - 1):  # empty messages are counted but cost Rasa nothing
        assert say(rasa, client_ip, "e2e-fast", "").status_code == 200
    refused = post_webhook(
        rasa, client_ip, json={"sender": "e2e-fast", "message": "bonjour"}, headers=headers
    )
    assert_refused(refused, 429, TOO_MANY)
    assert refused.json()["error"].startswith("Vous avez envoyé beaucoup de messages")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["access-control-allow-origin"] == origin  # the widget can read it

    other = say(rasa, client_ip, "e2e-fast-neighbour", "bonjour")  # same address, other usager
    assert other.status_code == 200 and GREETING in texts(other)


def test_one_address_sending_too_much_gets_a_429_other_addresses_do_not(stack, rasa, client_ip):
    limit = stack.settings.rate_limit_ip_per_min
    reply = say(rasa, client_ip, "e2e-ip-0", "bonjour")
    assert reply.status_code == 200 and GREETING in texts(reply)
    for i in range(1, limit):  # many usagers behind one address (empty messages: cheap)
        assert say(rasa, client_ip, f"e2e-ip-{i}", "").status_code == 200, i
    assert_refused(say(rasa, client_ip, "e2e-ip-new", "bonjour"), 429, TOO_MANY)
    assert_refused(post_webhook(rasa, client_ip, content=b"{nope"), 429, TOO_MANY)
    elsewhere = say(rasa, fresh_ip(), "e2e-ip-new", "bonjour")
    assert elsewhere.status_code == 200 and GREETING in texts(elsewhere)


# --- the portal ---------------------------------------------------------------------------------


def portal_error(reply: httpx.Response, status: int) -> str:
    assert reply.status_code == status, (reply.status_code, reply.text[:300])
    body = reply.json()
    assert set(body) == {"error", "message"} and body["message"], body
    return body["message"]


def test_portal_login_api_refuses_malformed_bodies(portal, client_ip):
    headers = {"X-Forwarded-For": client_ip, "Content-Type": "application/json"}
    cases = {
        b"{nope": "JSON mal formé",
        b'{"email": "a@b.fr", "password": "\xff\xfe"}': "UTF-8",
        b"[" * 20_000 + b"]" * 20_000: "imbriqué",
        b"[1]": "objet JSON",
        b'{"email": 42, "password": "x"}': "email",
        b'{"email": "a@b.fr", "password": "x", "admin": true}': "Champ(s) inconnu(s) : admin",
        b'{"email": "a@b.fr", "password": ' + b"9" * 10_000 + b"}": "Requête invalide",
    }
    for body, fragment in cases.items():
        message = portal_error(portal.post("/api/session", content=body, headers=headers), 400)
        assert fragment in message, (body[:40], message)
    big = b'{"email": "a@b.fr", "password": "' + b"p" * 3_000_000 + b'"}'
    message = portal_error(portal.post("/api/session", content=big, headers=headers), 413)
    assert message == "Requête trop volumineuse."


def test_portal_login_with_hostile_credentials_is_a_plain_401(portal, client_ip):
    headers = {"X-Forwarded-For": client_ip}
    for email, password in (
        ("agent\x00@caf.fr", "x"),
        ("' OR 1=1 --@caf.fr", "' OR 1=1 --"),
        ("a" * 100_000 + "@caf.fr", "x"),
        ("agent@caf.fr", "\x00\x1b" + "p" * 100_000),
    ):
        reply = portal.post(
            "/api/session", json={"email": email, "password": password}, headers=headers
        )
        assert portal_error(reply, 401) == "Identifiant ou mot de passe incorrect."


def test_portal_api_tokens_and_headers(portal):
    for token in (b"x" * 6_000, "\u00e9".encode() * 100, b"Bearer", b"' OR 1=1 --", b"\x01\x7f"):
        reply = portal.get("/api/stories", headers={"Authorization": b"Bearer " + token})
        assert portal_error(reply, 401) == "Jeton d'API invalide, expiré ou révoqué."
    reply = portal.get("/api/stories", headers={"Authorization": "Bearer " + "x" * 100_000})
    assert reply.status_code == 413  # header over Sanic's limit
    reply = portal.get("/api/stories", headers={"Cookie": "portal_session=" + "z" * 5_000})
    assert portal_error(reply, 401).startswith("Authentification requise")


def test_portal_public_routes_with_garbage_queries(portal):
    for query in ("from=%00%01", "from=2024-13-45", "to=" + "9" * 5_000, "structure=%ff%fe"):
        reply = portal.get(f"/indicateurs.json?{query}")
        assert reply.status_code in (200, 400), (query, reply.status_code)
        if reply.status_code == 400:
            assert reply.json()["message"]
    page = portal.get("/indicateurs", params={"from": "<script>alert(7)</script>"})
    assert page.status_code == 400 and "alert(7)</script>" not in page.text
    demo = portal.get("/demo", params={"accent-color": "</script><script>alert(1)</script>"})
    assert demo.status_code == 200 and "alert(1)" not in demo.text


def test_portal_vote_route_refuses_garbage(stack, portal, client_ip):
    headers = {"X-Forwarded-For": client_ip, "Origin": stack.settings.cors_origins[0]}
    for body, status, fragment in (
        (b"{nope", 400, "objet JSON"),
        (b"\xff\xfe", 400, "objet JSON"),
        (json.dumps({"sender": "a\x00b", "index": 0, "vote": "up"}).encode(), 400, "sender"),
        (json.dumps({"sender": "a", "index": "0", "vote": "up"}).encode(), 400, "index"),
        (
            json.dumps({"sender": "a", "index": 0, "vote": "up" * 1_000}).encode(),
            413,
            "volumineuse",
        ),
    ):
        reply = portal.post("/api/feedback/answer", content=body, headers=headers)
        assert reply.status_code == status and fragment in reply.json()["error"], reply.text


def test_portal_dashboard_login_form_with_garbage(portal, client_ip):
    headers = {"X-Forwarded-For": client_ip}
    reply = portal.post(
        "/login",
        data={"email": "\x00" * 10_000, "password": "x", "csrf_token": "z"},
        headers=headers,
    )
    assert reply.status_code == 403 and "text/html" in reply.headers["content-type"]
    reply = portal.post(
        "/login",
        content=b"email=%ff%fe&password=%00&csrf_token=" + b"%" * 5_000,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= reply.status_code < 500


def test_portal_survives_malformed_http_framing(stack, portal):
    for request in (
        b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
        b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    ):
        status, body = raw_status(stack.settings.portal_url, request)
        assert status == 400 and json.loads(body)["error"] == "bad_request", body
    assert portal.get("/health").json() == {"status": "ok"}


# --- after all that -----------------------------------------------------------------------------


def test_everything_still_answers_normally(stack, rasa, portal, log_window):
    reply = rasa.post(
        "/webhooks/rest/webhook",
        json={"sender": f"e2e-calm-{time.time_ns()}", "message": "bonjour"},
    )
    assert reply.status_code == 200 and GREETING in texts(reply)
    assert portal.get("/health").json() == {"status": "ok"}
    assert portal.get("/login").status_code == 200
    for name, process in stack.processes.items():
        assert process.poll() is None, f"{name} exited"
    for log, start in log_window.items():
        with log.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode("utf-8", errors="replace")
        assert "Traceback" not in text and "Internal Server Error" not in text, text[-3000:]
        assert "z" * 50 not in text and "a" * 50 not in text  # nothing the usager typed
