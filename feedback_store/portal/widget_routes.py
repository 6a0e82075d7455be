"""Portal routes of the chat widget: the script, its configuration, the demo page, answer votes.

Register on the portal with ``app.blueprint(create_widget_blueprint())``. Routes:

- ``GET /widget.js``: the widget, with the Rasa webhook URL of the settings injected;
- ``GET /widget/config.json``: the same configuration, for a copy of widget.js hosted elsewhere;
- ``GET /demo``: a fictional partner page embedding the widget (strict CSP with a nonce); the
  query string may set the options ``storage``, ``position``, ``open`` and ``accent-color``;
- ``POST /api/feedback/answer``: thumbs up/down on a bot answer, appended to a JSON-lines file
  (``answer_votes.jsonl`` beside the SQLite story store, else ``var/``). Callable from the
  origins of ``CORS_ORIGINS`` only, validated, rate-limited per client IP.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from feedback_store.rate_limit import MemoryBackend, request_client
from settings import ROOT, Settings

WIDGET_DIR = ROOT / "widget"
CONFIG_TOKEN = "/*__ASP_CONFIG__*/ null"  # noqa: S105 - a placeholder, not a secret
FEEDBACK_PATH = "/api/feedback/answer"
VOTES_FILE = "answer_votes.jsonl"
MAX_VOTE_BODY = 1024
MAX_INDEX = 100_000
VOTES = ("up", "down")
SENDER_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
PARTNER_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SCRIPT_CACHE = "public, max-age=300, stale-while-revalidate=3600"
DEMO_OPTIONS = {
    "storage": re.compile(r"^(session|local)$"),
    "position": re.compile(r"^(left|right)$"),
    "open": re.compile(r"^(true|false)$"),
    "accent-color": re.compile(r"^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$"),
}


class VoteError(ValueError):
    """A vote body that does not have the expected form (message in French, for the client)."""


class RateLimiter:
    """Sliding-window limit of events per key (client IP), in memory, per process.

    One limit for every key, on :class:`feedback_store.rate_limit.MemoryBackend`.
    """

    def __init__(self, limit: int = 30, window_s: float = 60.0, max_keys: int = 10_000) -> None:
        self.limit = limit
        self.window = MemoryBackend(window_s, max_keys=max_keys)

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record one event for ``key`` and tell whether it is within the limit."""
        return self.window.check({key: self.limit}, now).allowed

    def retry_after(self, key: str, now: float | None = None) -> int:
        """Whole seconds until ``key`` may send again (0 if it may now)."""
        wait = self.window.retry_after(key, self.limit, now)
        return max(1, int(wait) + 1) if wait else 0


def widget_config(settings: Settings) -> dict[str, Any]:
    """Configuration the widget needs: where to send messages and votes, the message cap."""
    return {
        "webhookUrl": f"{settings.rasa_url}/webhooks/rest/webhook",
        "feedbackUrl": f"{settings.portal_url}{FEEDBACK_PATH}",
        "maxMessageChars": settings.max_message_chars,
    }


@lru_cache(maxsize=8)
def _script(config_json: str, mtime_ns: int) -> tuple[bytes, str]:
    source = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    if CONFIG_TOKEN not in source:
        raise RuntimeError(f"widget/widget.js lost its configuration token {CONFIG_TOKEN!r}")
    body = source.replace(CONFIG_TOKEN, config_json, 1).encode("utf-8")
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def widget_script(settings: Settings) -> tuple[bytes, str]:
    """Return widget.js with the configuration injected, and its ETag (cached per file version)."""
    config_json = json.dumps(widget_config(settings), separators=(",", ":"))
    return _script(config_json, (WIDGET_DIR / "widget.js").stat().st_mtime_ns)


def demo_attributes(args: Mapping[str, str]) -> str:
    """``data-*`` attributes of the demo's script tag from the query string (known values only)."""
    attributes = []
    for name, pattern in DEMO_OPTIONS.items():
        value = args.get(name)
        if isinstance(value, str) and pattern.match(value):
            attributes.append(f' data-{name}="{html.escape(value)}"')
    return "".join(attributes)


def votes_path(settings: Settings) -> Path:
    """File receiving answer votes: beside the SQLite story store, else under ``var/``."""
    url = settings.feedback_db_url
    if url.startswith("sqlite:///") and ":memory:" not in url:
        db = Path(url.split(":///", 1)[1])
        return (db if db.is_absolute() else ROOT / db).parent / VOTES_FILE
    return ROOT / "var" / VOTES_FILE


def parse_vote(body: bytes) -> dict[str, Any]:
    """Validate a vote body and return the record to store (the sender id is hashed).

    Raises:
        VoteError: The body is not a valid vote.

    """
    if len(body) > MAX_VOTE_BODY:
        raise VoteError("Requête trop volumineuse.")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise VoteError("Le corps de la requête doit être un objet JSON.") from err
    if not isinstance(data, dict):
        raise VoteError("Le corps de la requête doit être un objet JSON.")
    sender, index, vote = data.get("sender"), data.get("index"), data.get("vote")
    partner = data.get("partner")
    if not isinstance(sender, str) or not SENDER_RE.match(sender):
        raise VoteError("Le champ « sender » est invalide.")
    if type(index) is not int or not 0 <= index <= MAX_INDEX:
        raise VoteError(f"Le champ « index » doit être un entier entre 0 et {MAX_INDEX}.")
    if vote not in VOTES:
        raise VoteError("Le champ « vote » doit valoir « up » ou « down ».")
    if partner is not None and (not isinstance(partner, str) or not PARTNER_RE.match(partner)):
        raise VoteError("Le champ « partner » est invalide.")
    return {
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sender_hash": hashlib.sha256(sender.encode("utf-8")).hexdigest(),
        "index": index,
        "vote": vote,
        "partner": partner,
    }


def append_vote(path: Path, record: dict[str, Any]) -> None:
    """Append one vote as a JSON line (one small write: atomic with O_APPEND)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)


def _cors_headers(request: Request, settings: Settings) -> dict[str, str] | None:
    """CORS headers for an allowed origin, {} without Origin, None for a refused origin."""
    origin = request.headers.get("origin")
    if not origin:
        return {}
    if origin.rstrip("/") not in settings.cors_origins:
        return None
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=headers or {})


def create_widget_blueprint(limiter: RateLimiter | None = None) -> Blueprint:
    """Build the blueprint (one per app: it owns the vote rate limiter).

    Args:
        limiter: Rate limiter of the vote route (default: 30 votes per minute per IP).

    Returns:
        The blueprint; the settings are read from ``request.app.ctx.settings``.

    """
    bp = Blueprint("widget")
    votes_limiter = limiter or RateLimiter()

    @bp.route("/widget.js", methods=["GET", "HEAD"])
    async def script(request: Request) -> HTTPResponse:
        body, etag = widget_script(request.app.ctx.settings)
        headers = {
            "Cache-Control": SCRIPT_CACHE,
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        if request.headers.get("if-none-match") == etag:
            return response.empty(status=304, headers=headers)
        return response.raw(
            body, headers=headers, content_type="application/javascript; charset=utf-8"
        )

    @bp.route("/widget/config.json", methods=["GET", "HEAD"])
    async def config(request: Request) -> HTTPResponse:
        return response.json(
            widget_config(request.app.ctx.settings),
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    @bp.route("/demo", methods=["GET", "HEAD"])
    async def demo(request: Request) -> HTTPResponse:
        settings: Settings = request.app.ctx.settings
        nonce = secrets.token_urlsafe(16)
        page = (WIDGET_DIR / "demo.html").read_text(encoding="utf-8")
        connect = f"'self' {settings.rasa_url} {settings.portal_url}"
        csp = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
            f"style-src 'self' 'nonce-{nonce}'; connect-src {connect}; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
        options = demo_attributes({name: request.args.get(name) for name in DEMO_OPTIONS})
        return response.html(
            page.replace("{{nonce}}", nonce).replace("{{options}}", options),
            headers={
                "Content-Security-Policy": csp,
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "strict-origin-when-cross-origin",
            },
        )

    @bp.route(FEEDBACK_PATH, methods=["POST", "OPTIONS"])
    async def answer_vote(request: Request) -> HTTPResponse:
        settings: Settings = request.app.ctx.settings
        cors = _cors_headers(request, settings)
        if cors is None:
            return _error("Origine non autorisée.", 403, {"Vary": "Origin"})
        if request.method == "OPTIONS":
            if cors:
                cors.update(
                    {
                        "Access-Control-Allow-Methods": "POST, OPTIONS",
                        "Access-Control-Allow-Headers": "Content-Type",
                        "Access-Control-Max-Age": "600",
                    }
                )
            return response.empty(status=204, headers=cors)
        client = request_client(request)
        if not votes_limiter.allow(client):
            headers = {**cors, "Retry-After": str(votes_limiter.retry_after(client))}
            return _error("Trop d'avis envoyés : réessayez dans une minute.", 429, headers)
        try:
            record = parse_vote(request.body or b"")
        except VoteError as err:
            status = 413 if len(request.body or b"") > MAX_VOTE_BODY else 400
            return _error(str(err), status, cors)
        append_vote(votes_path(settings), record)
        return response.json({"status": "ok"}, status=201, headers=cors)

    return bp
