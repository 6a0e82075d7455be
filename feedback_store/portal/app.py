"""Sanic application factory of the portal."""

from __future__ import annotations

from sanic import Sanic, response
from sanic.request import Request

from settings import Settings


def create_app(settings: Settings, name: str = "portal") -> Sanic:
    """Build the portal application.

    Args:
        settings: Validated configuration (see ``settings.py``).
        name: Sanic app name (must be unique per process; tests pass their own).

    Returns:
        The configured Sanic app.

    """
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 2_000_000
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings

    @app.get("/health")
    async def health(_: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    return app
