"""The one place that reads the environment.

Every variable is documented in ``VARIABLES`` (the README table is generated from it with
``python -m settings --markdown``). ``load()`` validates everything and raises
``SettingsError`` with a message naming the variable and the expected form.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent


class SettingsError(ValueError):
    """Raised when an environment variable holds an invalid value."""


@dataclass(frozen=True)
class Variable:
    """One documented environment variable."""

    name: str
    default: str
    help: str


VARIABLES: tuple[Variable, ...] = (
    Variable("ASSISTANT_HOST", "127.0.0.1", "Interface the three servers listen on."),
    Variable("RASA_PORT", "5005", "Port of the Rasa server (REST webhook and socket.io)."),
    Variable("ACTIONS_PORT", "5055", "Port of the action server (internal only)."),
    Variable("PORTAL_PORT", "8000", "Port of the portal (agent API, dashboard, widget, /demo)."),
    Variable(
        "PUBLIC_BASE_URL",
        "",
        "Public URL of the portal as partners see it (default: http://HOST:PORTAL_PORT).",
    ),
    Variable(
        "TRACKER_DB_URL",
        "sqlite:///var/tracker.db",
        "SQLAlchemy URL of the Rasa tracker store (sqlite:/// or postgresql://).",
    ),
    Variable(
        "FEEDBACK_DB_URL",
        "sqlite:///var/feedback.db",
        "SQLAlchemy URL of the story store (sqlite:/// or postgresql://).",
    ),
    Variable(
        "CORS_ORIGINS",
        "http://127.0.0.1:8000,http://localhost:8000",
        "Comma-separated origins allowed to call the servers from a browser.",
    ),
    Variable(
        "RASA_API_TOKEN",
        "",
        "Token of Rasa's HTTP API. Empty: the HTTP API is off (only the webhooks answer).",
    ),
    Variable(
        "PORTAL_SECRET_KEY",
        "",
        "Secret signing dashboard sessions and CSRF tokens. Required when CI/prod; "
        "a random one is generated per start otherwise.",
    ),
    Variable(
        "MAX_MESSAGE_CHARS",
        "6000",
        "Longest usager message accepted by the webhook; longer ones get a clear answer.",
    ),
    Variable(
        "WEBHOOK_MAX_BYTES",
        "65536",
        "Largest request body of the REST webhook, in bytes; a larger one gets a 413.",
    ),
    Variable(
        "RATE_LIMIT_USAGER_PER_MIN",
        "30",
        "Messages per minute one conversation (sender id) may send to the webhook; then 429.",
    ),
    Variable(
        "RATE_LIMIT_IP_PER_MIN",
        "120",
        "Messages per minute one client address may send to the webhook; then 429.",
    ),
    Variable(
        "RATE_LIMIT_REDIS_URL",
        "",
        "redis://host:port/db shared by every Rasa worker and replica for the rate limits. "
        "Empty: LOCK_STORE_URL if set, else counted in memory per process.",
    ),
    Variable(
        "TRUSTED_PROXIES",
        "",
        "Comma-separated addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For "
        "gives the client address. Empty: the peer address is the client.",
    ),
    Variable(
        "BAN_ENABLED",
        "false",
        "Use the BAN API (api-adresse.data.gouv.fr) to geocode full street addresses.",
    ),
    Variable("BAN_TIMEOUT_S", "2.0", "Timeout of a BAN API call, in seconds."),
    Variable(
        "LOCK_STORE_URL",
        "",
        "redis://host:port/db for the Redis lock store. Empty: in-memory lock store.",
    ),
    Variable(
        "EVENT_BROKER_URL",
        "",
        "amqp://user:password@host:port/ for the RabbitMQ event broker. Empty: no broker.",
    ),
    Variable(
        "EVENT_BROKER_QUEUE",
        "rasa_events",
        "RabbitMQ queue Rasa publishes its events to and the analytics consumer reads.",
    ),
    Variable(
        "STORY_OUTBOX_PATH",
        "var/story_outbox.jsonl",
        "File keeping stories whose database write failed until the database is back.",
    ),
    Variable(
        "OUTBOX_FLUSH_INTERVAL_S",
        "15",
        "Seconds between two attempts of the action server to write queued stories.",
    ),
    Variable(
        "RASA_REPLICAS",
        "1",
        "Rasa servers to start, on RASA_PORT, RASA_PORT+1, ... (more than 1 needs LOCK_STORE_URL).",
    ),
    Variable(
        "RASA_WORKERS",
        "1",
        "Sanic worker processes per Rasa server (more than 1 needs LOCK_STORE_URL).",
    ),
    Variable("LOG_LEVEL", "INFO", "Log level of the three servers (DEBUG, INFO, WARNING, ERROR)."),
    Variable(
        "RETENTION_DAYS",
        "365",
        "Days conversations and stories are kept; `python -m feedback_store.cli purge` "
        "deletes older ones.",
    ),
)

_DEFAULTS = {v.name: v.default for v in VARIABLES}
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Validated configuration of the whole assistant."""

    host: str
    rasa_port: int
    actions_port: int
    portal_port: int
    public_base_url: str
    tracker_db_url: str
    feedback_db_url: str
    cors_origins: tuple[str, ...]
    rasa_api_token: str
    portal_secret_key: str
    max_message_chars: int
    ban_enabled: bool
    ban_timeout_s: float
    lock_store_url: str
    event_broker_url: str
    log_level: str
    retention_days: int = 365
    rasa_replicas: int = 1
    rasa_workers: int = 1
    event_broker_queue: str = "rasa_events"
    story_outbox_path: str = "var/story_outbox.jsonl"
    outbox_flush_interval_s: float = 15.0
    webhook_max_bytes: int = 65536
    rate_limit_usager_per_min: int = 30
    rate_limit_ip_per_min: int = 120
    rate_limit_redis_url: str = ""
    trusted_proxies: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def rasa_urls(self) -> tuple[str, ...]:
        """Base URL of every Rasa replica (the first one is ``rasa_url``)."""
        return tuple(f"http://{self.host}:{self.rasa_port + i}" for i in range(self.rasa_replicas))

    @property
    def actions_url(self) -> str:
        """Webhook URL of the action server."""
        return f"http://{self.host}:{self.actions_port}/webhook"

    @property
    def portal_url(self) -> str:
        """Base URL of the portal."""
        return self.public_base_url or f"http://{self.host}:{self.portal_port}"


def _port(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, _DEFAULTS[name]).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{name}={raw!r}: expected a port number between 1 and 65535.")
    return int(raw)


def _positive_int(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, _DEFAULTS[name]).strip()
    if not raw.isdigit() or int(raw) <= 0:
        raise SettingsError(f"{name}={raw!r}: expected a positive whole number.")
    return int(raw)


def _positive_float(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name, _DEFAULTS[name]).strip()
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise SettingsError(f"{name}={raw!r}: expected a positive number of seconds.")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, _DEFAULTS[name]).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r}: expected true or false.")


def _db_url(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, _DEFAULTS[name]).strip()
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise SettingsError(
            f"{name}={raw!r}: expected sqlite:///path/to/file.db or "
            "postgresql://user@host:port/database."
        )
    return raw


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(name, _DEFAULTS[name]).strip()
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise SettingsError(
            f"{name}={raw!r}: expected a URL starting with {' or '.join(schemes)}://"
        )
    return raw


def _origins(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("CORS_ORIGINS", _DEFAULTS["CORS_ORIGINS"])
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        parsed = urlparse(origin)
        if origin == "*" or parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise SettingsError(
                f"CORS_ORIGINS: {origin!r} is not an origin like https://www.example.fr "
                "(a wildcard is refused on purpose)."
            )
    return origins


def _queue_name(env: Mapping[str, str]) -> str:
    raw = env.get("EVENT_BROKER_QUEUE", _DEFAULTS["EVENT_BROKER_QUEUE"]).strip()
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,200}", raw):
        raise SettingsError(
            f"EVENT_BROKER_QUEUE={raw!r}: expected a queue name (letters, digits, _.:-)."
        )
    return raw


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, _DEFAULTS[name])
    networks = []
    for value in (v.strip() for v in raw.split(",")):
        if not value:
            continue
        try:
            networks.append(str(ipaddress.ip_network(value, strict=False)))
        except ValueError:
            raise SettingsError(
                f"{name}: {value!r} is not an IP address or a network like 10.0.0.0/8."
            ) from None
    return tuple(networks)


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the configuration.

    Args:
        env: Variables to read (defaults to ``os.environ``).

    Returns:
        The validated settings.

    Raises:
        SettingsError: A variable holds an invalid value.

    """
    env = os.environ if env is None else env
    level = env.get("LOG_LEVEL", _DEFAULTS["LOG_LEVEL"]).strip().upper()
    if level not in _LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL={level!r}: expected one of {sorted(_LOG_LEVELS)}.")
    public = _url(env, "PUBLIC_BASE_URL", ("http", "https")).rstrip("/")
    ports = {n: _port(env, n) for n in ("RASA_PORT", "ACTIONS_PORT", "PORTAL_PORT")}
    if len(set(ports.values())) != len(ports):
        raise SettingsError(f"RASA_PORT, ACTIONS_PORT and PORTAL_PORT must differ: {ports}.")
    scale = {n: _positive_int(env, n) for n in ("RASA_REPLICAS", "RASA_WORKERS")}
    lock_store_url = _url(env, "LOCK_STORE_URL", ("redis",))
    if max(scale.values()) > 1 and not lock_store_url:
        raise SettingsError(
            f"RASA_REPLICAS={scale['RASA_REPLICAS']} and RASA_WORKERS={scale['RASA_WORKERS']}: "
            "more than one Rasa process needs a shared lock store; set LOCK_STORE_URL=redis://..."
        )
    rasa_ports = range(ports["RASA_PORT"], ports["RASA_PORT"] + scale["RASA_REPLICAS"])
    if any(ports[n] in rasa_ports for n in ("ACTIONS_PORT", "PORTAL_PORT")):
        raise SettingsError(
            f"The Rasa replicas use ports {rasa_ports.start}-{rasa_ports.stop - 1}: "
            "ACTIONS_PORT and PORTAL_PORT must be outside that range."
        )
    return Settings(
        host=env.get("ASSISTANT_HOST", _DEFAULTS["ASSISTANT_HOST"]).strip(),
        rasa_port=ports["RASA_PORT"],
        actions_port=ports["ACTIONS_PORT"],
        portal_port=ports["PORTAL_PORT"],
        public_base_url=public,
        tracker_db_url=_db_url(env, "TRACKER_DB_URL"),
        feedback_db_url=_db_url(env, "FEEDBACK_DB_URL"),
        cors_origins=_origins(env),
        rasa_api_token=env.get("RASA_API_TOKEN", "").strip(),
        portal_secret_key=env.get("PORTAL_SECRET_KEY", "").strip(),
        max_message_chars=_positive_int(env, "MAX_MESSAGE_CHARS"),
        ban_enabled=_bool(env, "BAN_ENABLED"),
        ban_timeout_s=_positive_float(env, "BAN_TIMEOUT_S"),
        lock_store_url=lock_store_url,
        event_broker_url=_url(env, "EVENT_BROKER_URL", ("amqp", "amqps")),
        log_level=level,
        retention_days=_positive_int(env, "RETENTION_DAYS"),
        rasa_replicas=scale["RASA_REPLICAS"],
        rasa_workers=scale["RASA_WORKERS"],
        event_broker_queue=_queue_name(env),
        story_outbox_path=env.get("STORY_OUTBOX_PATH", _DEFAULTS["STORY_OUTBOX_PATH"]).strip()
        or _DEFAULTS["STORY_OUTBOX_PATH"],
        outbox_flush_interval_s=_positive_float(env, "OUTBOX_FLUSH_INTERVAL_S"),
        webhook_max_bytes=_positive_int(env, "WEBHOOK_MAX_BYTES"),
        rate_limit_usager_per_min=_positive_int(env, "RATE_LIMIT_USAGER_PER_MIN"),
        rate_limit_ip_per_min=_positive_int(env, "RATE_LIMIT_IP_PER_MIN"),
        rate_limit_redis_url=_url(env, "RATE_LIMIT_REDIS_URL", ("redis", "rediss")),
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
    )


def markdown_table() -> str:
    """Return the README table documenting every variable."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for var in VARIABLES:
        default = f"`{var.default}`" if var.default else "(empty)"
        lines.append(f"| `{var.name}` | {default} | {var.help} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Validate the environment (``--check``) or print the documentation (``--markdown``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m settings",
        description="Check the configuration read from the environment, or print its docs.",
    )
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    args = parser.parse_args(argv)
    if args.markdown:
        print(markdown_table())
        return 0
    try:
        settings = load()
    except SettingsError as err:
        print(f"Invalid configuration: {err}", file=sys.stderr)
        return 2
    for name in Settings.__dataclass_fields__:
        if name == "extra":
            continue
        value = getattr(settings, name)
        if name in ("rasa_api_token", "portal_secret_key") and value:
            value = "***"
        print(f"{name} = {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
