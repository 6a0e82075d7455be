"""REST input channel hardened for public use.

Same URL and JSON as Rasa's stock REST channel (``POST /webhooks/rest/webhook`` with
``{"sender": ..., "message": ..., "metadata": {...}}``), plus:

- the body is capped (``WEBHOOK_MAX_BYTES``, 413), must be a UTF-8 JSON object (400), and
  messages are rate-limited per conversation and per client address (429): see
  :mod:`bot.rest_guard`;
- the message is capped before NLU (``MAX_MESSAGE_CHARS``); a longer one is not parsed nor
  stored, and is answered with the domain response ``utter_message_too_long``;
- control characters (and lone surrogates) are removed and the sender id is validated (400
  with a clear message); a malformed ``Content-Length`` gets a 400 on every route of the server
  (:mod:`feedback_store.http_hardening`);
- only known metadata keys travel on (``partner``), with a strict format;
- the usager's text is never written to the logs, even on failure.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import log_privacy, rasa_speedups, turn_errors
from bot.rest_guard import WebhookGuard, error, too_large
from feedback_store import http_hardening

logger = logging.getLogger(__name__)

rasa_speedups.install()  # Rasa hot-path fix, see bot/rasa_speedups.py
log_privacy.install()  # no usager text in Rasa's structured logs

TOO_LONG_RESPONSE = "utter_message_too_long"
UNAVAILABLE_RESPONSE = "utter_service_unavailable"
_SENDER_RE = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
_PARTNER_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CONTROL = {c for c in map(chr, range(32)) if c not in "\n\t"} | {"\x7f"}


def clean_text(text: str) -> str:
    """Normalise to NFC, drop control characters (keeps newlines and tabs) and lone surrogates."""
    text = unicodedata.normalize("NFC", text)
    return "".join(
        ch for ch in text if ch not in _CONTROL and not "\ud800" <= ch <= "\udfff"
    ).strip()


def clean_metadata(raw: Any) -> dict[str, str]:
    """Keep only the metadata keys the assistant knows, in a strict format."""
    if not isinstance(raw, dict):
        return {}
    partner = raw.get("partner")
    if isinstance(partner, str) and _PARTNER_RE.match(partner):
        return {"partner": partner}
    return {}


def _domain_text(request: Request, name: str) -> str:
    """Text of a domain response, read from the loaded model's domain."""
    agent = getattr(request.app.ctx, "agent", None)
    domain = getattr(agent, "domain", None)
    variants = domain.responses.get(name, []) if domain is not None else []
    return variants[0].get("text", "") if variants else ""


class RestInput(InputChannel):
    """Rasa REST channel with input limits and metadata pass-through."""

    def __init__(self, max_chars: int = 2000, guard: WebhookGuard | None = None) -> None:
        self.max_chars = max_chars
        self.guard = guard or WebhookGuard()

    @classmethod
    def name(cls) -> str:
        """Keep the stock URL: ``/webhooks/rest/webhook``."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel; caps and rate limits come from ``settings``."""
        import settings

        config = settings.load()
        return cls(max_chars=config.max_message_chars, guard=WebhookGuard.from_settings(config))

    @staticmethod
    def _sender(body: dict[str, Any] | HTTPResponse) -> str | None:
        """The body's sender id when well formed (the stock default: ``default``)."""
        if isinstance(body, HTTPResponse):
            return None
        sender = body.get("sender", "default")
        return sender if isinstance(sender, str) and _SENDER_RE.match(sender) else None

    def _validate(self, body: dict[str, Any]) -> tuple[str, str, dict[str, str]] | HTTPResponse:
        sender = self._sender(body)
        if sender is None:
            return error(
                "Le champ « sender » doit faire 1 à 128 caractères (lettres, chiffres, _.:@-).",
                400,
            )
        message = body.get("message")
        if not isinstance(message, str):
            return error("Le champ « message » doit être un texte.", 400)
        return sender, clean_text(message), clean_metadata(body.get("metadata"))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Return the Sanic blueprint serving the webhook."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        http_hardening.install(webhook)  # a malformed Content-Length would freeze Sanic 21.12

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.exception(PayloadTooLarge)
        async def body_too_large(_: Request, __: Exception) -> HTTPResponse:
            return too_large(self.guard.max_bytes)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = self.guard.parse(request)
            refused = await self.guard.admit(request, self._sender(body))
            if refused is not None:
                return refused
            if isinstance(body, HTTPResponse):
                return body
            checked = self._validate(body)
            if isinstance(checked, HTTPResponse):
                return checked
            sender, text, metadata = checked
            if not text:
                return response.json([])
            if len(text) > self.max_chars:
                return response.json(
                    [{"recipient_id": sender, "text": _domain_text(request, TOO_LONG_RESPONSE)}]
                )
            collector = CollectingOutputChannel()
            with turn_errors.watch() as failures:
                try:
                    await on_new_message(
                        UserMessage(
                            text, collector, sender, input_channel=self.name(), metadata=metadata
                        )
                    )
                except CancelledError:
                    logger.error("REST message processing timed out (sender hidden).")
                    failures.append("timeout")
                except Exception as err:  # noqa: BLE001 - never leak the text, keep serving
                    logger.error("REST message processing failed: %s", type(err).__name__)
                    failures.append("exception")
            if failures or not collector.messages:
                # A part of the assistant failed during this turn (action server or database
                # down) and Rasa carried on with a partial or wrong answer, or none: say so
                # plainly. Rasa has logged the cause; the conversation goes on afterwards.
                return response.json(
                    [{"recipient_id": sender, "text": _domain_text(request, UNAVAILABLE_RESPONSE)}]
                )
            return response.json(collector.messages)

        return webhook
