"""Sanic application factory of the portal."""

from __future__ import annotations

import asyncio
import logging
import secrets

from sanic import Sanic, response
from sanic.request import Request

from feedback_store import http_hardening, migrate
from feedback_store.db import make_engine, make_session_factory
from feedback_store.portal.api_routes import api_bp
from feedback_store.portal.auth import (
    IP_LOGIN_ATTEMPTS_PER_MINUTE,
    LOGIN_ATTEMPTS_PER_MINUTE,
    RateLimiter,
)
from feedback_store.portal.dashboard_routes import dashboard_bp
from feedback_store.portal.errors import register_error_handlers
from feedback_store.portal.export_routes import exports_bp
from feedback_store.portal.public_routes import public_bp
from feedback_store.portal.widget_routes import create_widget_blueprint
from feedback_store.rate_limit import parse_networks
from settings import Settings

logger = logging.getLogger(__name__)

API_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(settings: Settings, name: str = "portal") -> Sanic:
    """Build the portal application.

    The story store is migrated and its engine created at server start (``before_server_start``),
    once per worker; each request then uses one short session (see ``portal/auth.py``).

    Args:
        settings: Validated configuration (see ``settings.py``).
        name: Sanic app name (must be unique per process; tests pass their own).

    Returns:
        The configured Sanic app.

    """
    app = Sanic(name)
    app.config.AUTO_EXTEND = False  # no sanic-ext: no automatic /docs, CORS or extra routes
    app.config.REQUEST_MAX_SIZE = 2_000_000
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    if settings.portal_secret_key:
        app.ctx.secret_key = settings.portal_secret_key.encode()
    else:
        logger.warning("PORTAL_SECRET_KEY is empty: dashboard sessions end when the portal stops.")
        app.ctx.secret_key = secrets.token_bytes(32)
    app.ctx.trusted_proxies = parse_networks(settings.trusted_proxies)
    app.ctx.login_limiter = RateLimiter(LOGIN_ATTEMPTS_PER_MINUTE)
    app.ctx.ip_login_limiter = RateLimiter(IP_LOGIN_ATTEMPTS_PER_MINUTE)
    register_error_handlers(app)
    http_hardening.install(app)  # a malformed Content-Length would freeze Sanic 21.12

    @app.before_server_start
    async def open_store(app: Sanic, _loop) -> None:
        url = app.ctx.settings.feedback_db_url
        await asyncio.get_running_loop().run_in_executor(None, migrate.upgrade, url)
        app.ctx.engine = make_engine(url)
        app.ctx.session_factory = make_session_factory(app.ctx.engine)

    @app.after_server_stop
    async def close_store(app: Sanic, _loop) -> None:
        engine = getattr(app.ctx, "engine", None)
        if engine is not None:
            engine.dispose()

    @app.on_response
    async def api_headers(request: Request, answer: response.HTTPResponse) -> None:
        if request.path.startswith("/api/"):
            for header, value in API_HEADERS.items():
                answer.headers.setdefault(header, value)

    @app.get("/health")
    async def health(_: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    app.blueprint(api_bp)
    app.blueprint(exports_bp)
    app.blueprint(dashboard_bp)
    app.blueprint(public_bp)
    app.blueprint(create_widget_blueprint())
    return app
