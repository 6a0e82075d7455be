"""What the portal and the Rasa server tell a browser about the widget (HTTP only, no browser)."""

from __future__ import annotations

import gzip
import hashlib
import json

import httpx
import pytest

from feedback_store.portal.widget_routes import (
    CONFIG_TOKEN,
    MAX_VOTE_BODY,
    RateLimiter,
    VoteError,
    demo_attributes,
    parse_vote,
    votes_path,
)
from settings import ROOT
from settings import load as load_settings

EVIL = "https://evil.example"
WIDGET_JS = ROOT / "widget" / "widget.js"


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )


# ---------------------------------------------------------------- pure functions (no server)


def test_widget_source_is_small_and_safe():
    source = WIDGET_JS.read_text(encoding="utf-8")
    assert len(gzip.compress(source.encode())) < 30 * 1024
    assert CONFIG_TOKEN in source
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, sink


def test_parse_vote_accepts_a_vote_and_hashes_the_sender():
    record = parse_vote(b'{"sender":"w-abc","index":3,"vote":"down","partner":"mairie-de-gap"}')
    assert record["sender_hash"] == hashlib.sha256(b"w-abc").hexdigest()
    assert (record["index"], record["vote"], record["partner"]) == (3, "down", "mairie-de-gap")
    assert parse_vote(b'{"sender":"w-abc","index":0,"vote":"up"}')["partner"] is None


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "objet JSON"),
        (b"[1]", "objet JSON"),
        (b'{"sender":"<b>","index":1,"vote":"up"}', "sender"),
        (b'{"sender":"w-1","index":-1,"vote":"up"}', "index"),
        (b'{"sender":"w-1","index":true,"vote":"up"}', "index"),
        (b'{"sender":"w-1","index":"2","vote":"up"}', "index"),
        (b'{"sender":"w-1","index":1,"vote":"bof"}', "vote"),
        (b'{"sender":"w-1","index":1,"vote":"up","partner":"<x>"}', "partner"),
        (b"x" * (MAX_VOTE_BODY + 1), "volumineuse"),
    ],
)
def test_parse_vote_rejects_bad_input(body, fragment):
    with pytest.raises(VoteError, match=fragment):
        parse_vote(body)


def test_rate_limiter_window():
    limiter = RateLimiter(limit=3, window_s=60)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2, 3)] == [True, True, True, False]
    assert limiter.allow("b", now=3)  # per key
    assert limiter.retry_after("a", now=3) == 58
    assert limiter.allow("a", now=60.5)  # the first event left the window


def test_rate_limiter_memory_is_bounded():
    limiter = RateLimiter(limit=1, window_s=10, max_keys=100)
    for i in range(1000):
        limiter.allow(f"ip{i}", now=i * 0.001)
    assert len(limiter.window) <= 100


def test_demo_options_keep_known_values_only():
    options = {"storage": "local", "position": "left", "open": "true", "accent-color": "#18753c"}
    assert demo_attributes(options) == (
        ' data-storage="local" data-position="left" data-open="true" data-accent-color="#18753c"'
    )
    assert demo_attributes({"storage": '"><script>', "accent-color": "red", "open": None}) == ""


def test_votes_go_beside_the_sqlite_story_store(tmp_path):
    settings = load_settings({"FEEDBACK_DB_URL": f"sqlite:///{tmp_path / 'f.db'}"})
    assert votes_path(settings) == tmp_path / "answer_votes.jsonl"
    settings = load_settings({"FEEDBACK_DB_URL": "postgresql://u@127.0.0.1:5432/db"})
    assert votes_path(settings) == ROOT / "var" / "answer_votes.jsonl"


# ---------------------------------------------------------------- against the real servers


@pytest.mark.e2e
def test_widget_js_is_served_with_its_configuration(stack, portal):
    reply = httpx.get(f"{portal}/widget.js", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "max-age=300" in reply.headers["cache-control"]
    assert reply.headers["x-content-type-options"] == "nosniff"
    webhook = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
    assert f'"webhookUrl":"{webhook}"' in reply.text
    assert CONFIG_TOKEN not in reply.text
    again = httpx.get(
        f"{portal}/widget.js", headers={"If-None-Match": reply.headers["etag"]}, timeout=10
    )
    assert again.status_code == 304 and again.content == b""
    config = httpx.get(f"{portal}/widget/config.json", timeout=10).json()
    assert config["webhookUrl"] == webhook
    assert config["feedbackUrl"] == f"{portal}/api/feedback/answer"


@pytest.mark.e2e
def test_demo_page_embeds_the_widget_under_a_strict_csp(portal, stack):
    reply = httpx.get(f"{portal}/demo", timeout=10)
    assert reply.status_code == 200 and "Mairie de Gap (démo)" in reply.text
    csp = reply.headers["content-security-policy"]
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'nonce="{nonce}"' in reply.text and "unsafe-inline" not in csp
    assert f"connect-src 'self' {stack.settings.rasa_url} {portal};" in csp
    assert 'src="/widget.js" data-partner="mairie-de-gap"' in reply.text


@pytest.mark.e2e
def test_rasa_refuses_a_disallowed_origin(stack, portal):
    webhook = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
    refused = preflight(webhook, EVIL)
    assert "access-control-allow-origin" not in refused.headers
    allowed = preflight(webhook, portal)
    assert allowed.headers.get("access-control-allow-origin") == portal


@pytest.mark.e2e
def test_vote_route_cors_validation_and_storage(stack, portal):
    url = f"{portal}/api/feedback/answer"
    assert preflight(url, EVIL).status_code == 403
    assert "access-control-allow-origin" not in preflight(url, EVIL).headers
    ok = preflight(url, portal)
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == portal

    vote = {"sender": "w-route-test", "index": 7, "vote": "down", "partner": "mairie-de-gap"}
    refused = httpx.post(url, json=vote, headers={"Origin": EVIL}, timeout=10)
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    bad = httpx.post(url, json={**vote, "vote": "<b>"}, headers={"Origin": portal}, timeout=10)
    assert bad.status_code == 400 and "vote" in bad.json()["error"]
    too_big = httpx.post(url, content=b"{" + b" " * 2000 + b"}", timeout=10)
    assert too_big.status_code == 413

    stored = httpx.post(url, json=vote, headers={"Origin": portal}, timeout=10)
    assert stored.status_code == 201
    assert stored.headers["access-control-allow-origin"] == portal
    lines = votes_path(stack.settings).read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[-1])
    assert record["sender_hash"] == hashlib.sha256(b"w-route-test").hexdigest()
    assert (record["index"], record["vote"], record["partner"]) == (7, "down", "mairie-de-gap")
    assert "w-route-test" not in "\n".join(lines)


@pytest.mark.e2e
def test_vote_route_is_rate_limited_per_ip(portal):
    # Another loopback address, so that the other tests (from 127.0.0.1) are not limited.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    url, vote = f"{portal}/api/feedback/answer", {"sender": "w-rate", "index": 1, "vote": "up"}
    with httpx.Client(transport=transport, timeout=10) as client:
        codes = [client.post(url, json=vote).status_code for _ in range(31)]
        assert codes[:30] == [201] * 30 and codes[30] == 429
        limited = client.post(url, json=vote)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "réessayez" in limited.json()["error"]
