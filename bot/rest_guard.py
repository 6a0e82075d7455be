"""What the REST webhook checks before Rasa sees a request: body size, JSON, rate limits.

- The body is capped (``WEBHOOK_MAX_BYTES``): Sanic refuses a larger one while reading it when
  the Rasa process runs with ``SANIC_REQUEST_MAX_SIZE`` (413, answered by the channel's error
  handler), and the guard checks again in case it does not.
- The body must be UTF-8 JSON holding an object; anything else is a 400 with a French message
  (stock Rasa answers invalid JSON with an English Sanic error page).
- Messages are rate-limited per conversation (sender id, ``RATE_LIMIT_USAGER_PER_MIN``) and per
  client address (``RATE_LIMIT_IP_PER_MIN``), over a sliding minute: the next one gets a 429
  with ``Retry-After``. Malformed requests count against the address. The counters live in Redis
  (``RATE_LIMIT_REDIS_URL``, else ``LOCK_STORE_URL``) so that every worker and replica share
  them, else in this process. The client address is the peer's, or the one that the proxies
  listed in ``TRUSTED_PROXIES`` (nginx) wrote in ``X-Forwarded-For``.

No Rasa import here; nothing the usager typed is logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from feedback_store.rate_limit import (
    Backend,
    MemoryBackend,
    client_address,
    make_backend,
    parse_networks,
)

logger = logging.getLogger(__name__)

TOO_LARGE = "Requête trop volumineuse : un message doit faire moins de {size} Ko."
NOT_JSON = "Le corps de la requête doit être un objet JSON encodé en UTF-8."
TOO_MANY = (
    "Vous avez envoyé beaucoup de messages en peu de temps. "
    "Patientez une minute, puis réessayez."
)


def error(message: str, status: int, headers: dict[str, str] | None = None) -> HTTPResponse:
    """The webhook's error answer: ``{"error": <French sentence>}``."""
    return response.json({"error": message}, status=status, headers=headers or {})


def too_large(max_bytes: int) -> HTTPResponse:
    """413 answer for a body over ``max_bytes``."""
    return error(TOO_LARGE.format(size=max(1, max_bytes // 1024)), 413)


def parse_body(body: bytes, max_bytes: int) -> dict[str, Any] | HTTPResponse:
    """Return the JSON object of ``body``, or the 413/400 answer refusing it."""
    if len(body) > max_bytes:
        return too_large(max_bytes)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return error(NOT_JSON, 400)
    if not isinstance(data, dict):
        return error(NOT_JSON, 400)
    return data


class WebhookGuard:
    """Body cap and per-usager / per-address rate limits of the webhook."""

    def __init__(
        self,
        *,
        max_bytes: int = 65536,
        usager_per_min: int = 30,
        ip_per_min: int = 120,
        backend: Backend | None = None,
        trusted_proxies: tuple[str, ...] = (),
    ) -> None:
        self.max_bytes = max_bytes
        self.usager_per_min = usager_per_min
        self.ip_per_min = ip_per_min
        self.backend = backend or MemoryBackend()
        self.trusted = parse_networks(trusted_proxies)

    @classmethod
    def from_settings(cls, settings: Any) -> WebhookGuard:
        """Build the guard from validated settings (see ``settings.py``)."""
        return cls(
            max_bytes=settings.webhook_max_bytes,
            usager_per_min=settings.rate_limit_usager_per_min,
            ip_per_min=settings.rate_limit_ip_per_min,
            backend=make_backend(
                settings.rate_limit_redis_url or settings.lock_store_url,
                prefix="assistant:ratelimit:webhook:",
            ),
            trusted_proxies=settings.trusted_proxies,
        )

    def parse(self, request: Request) -> dict[str, Any] | HTTPResponse:
        """The request's JSON object, or the answer refusing it."""
        return parse_body(request.body or b"", self.max_bytes)

    def client(self, request: Request) -> str:
        """Client address of ``request`` (see :func:`feedback_store.rate_limit.client_address`)."""
        return client_address(request.ip, request.headers.get("x-forwarded-for"), self.trusted)

    async def admit(self, request: Request, sender: str | None) -> HTTPResponse | None:
        """Count the request; return the 429 answer when a limit is reached, else None."""
        limits = {f"ip:{self.client(request)}": self.ip_per_min}
        if sender is not None:
            digest = hashlib.sha256(sender.encode("utf-8")).hexdigest()[:32]
            limits[f"usager:{digest}"] = self.usager_per_min
        decision = await self.backend.hit(limits)
        if decision.allowed:
            return None
        kind = (decision.key or "").split(":", 1)[0]
        logger.info("REST webhook: %s rate limit reached.", kind)
        return error(TOO_MANY, 429, {"Retry-After": str(math.ceil(decision.retry_after))})
