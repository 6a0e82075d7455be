"""Authentication and entitlement for the portal: API tokens, dashboard sessions, CSRF, login.

A request is authenticated by ``Authorization: Bearer <token>`` (an API token made by the CLI)
or by the dashboard session cookie, an HMAC-SHA256-signed ``<agent id>.<issued at>.<session id>``
(key: ``PORTAL_SECRET_KEY``). Cookie-authenticated requests that change something (POST, PUT,
PATCH, DELETE) must carry the CSRF token of the session, in the ``X-CSRF-Token`` header or the
``csrf_token`` form field; token-authenticated ones need none (no ambient credential).

Two ways to protect a route:

* ``@require("stories.read")`` on a **synchronous** handler ``(request, session, agent, **params)``:
  authentication, entitlement and the handler run in one worker thread inside one transaction
  (committed when the handler returns, rolled back when it raises);
* ``@require("exports")`` on an **async** handler ``(request, agent, **params)``: the agent is
  authenticated in a short session of its own; run further database work with :func:`run_db`.

Failures raise :class:`~feedback_store.portal.errors.ApiError`: 401 without valid credentials,
403 without the role, without CSRF token, or for another structure's data, 429 when login
attempts come too fast.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.orm import Session

from feedback_store import accounts
from feedback_store.accounts import AgentRecord, NotEntitledError
from feedback_store.portal.errors import ApiError
from feedback_store.rate_limit import MemoryBackend, request_client

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "DashboardSession",
    "RateLimiter",
    "authenticate",
    "check_csrf",
    "clear_session_cookie",
    "csrf_token",
    "csrf_token_for",
    "login",
    "read_session",
    "require",
    "run_db",
    "scope_filters",
    "set_session_cookie",
    "sign_session",
]

SESSION_COOKIE = "portal_session"
SESSION_MAX_AGE_S = 8 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_ATTEMPTS_PER_MINUTE = 5
"""Login attempts per minute for one login (a password being guessed)."""
IP_LOGIN_ATTEMPTS_PER_MINUTE = 20
"""Login attempts per minute from one client address (several people may share a proxy)."""
UNAUTHORIZED_MESSAGE = (
    "Authentification requise : fournissez un jeton d'API (en-tête Authorization: Bearer …) "
    "ou connectez-vous au tableau de bord."
)
T = TypeVar("T")


# --- signed dashboard sessions ------------------------------------------------------------------


@dataclass(frozen=True)
class DashboardSession:
    """The content of a valid session cookie."""

    agent_id: int
    issued_at: int
    session_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _mac(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, message.encode(), hashlib.sha256).digest())


def sign_session(secret: bytes, agent_id: int, *, now: float | None = None) -> str:
    """Return a new signed session cookie value for ``agent_id`` (fresh random session id)."""
    issued = int(time.time() if now is None else now)
    payload = f"{agent_id}.{issued}.{secrets.token_urlsafe(18)}"
    return f"{payload}.{_mac(secret, 'session:' + payload)}"


def read_session(
    secret: bytes,
    value: str | None,
    *,
    now: float | None = None,
    max_age_s: int = SESSION_MAX_AGE_S,
) -> DashboardSession | None:
    """Return the session of a cookie value if its signature is valid and it has not expired."""
    if not value or len(value) > 200:
        return None
    payload, _, signature = value.rpartition(".")
    if not hmac.compare_digest(signature.encode(), _mac(secret, "session:" + payload).encode()):
        return None
    try:
        agent_id, issued, session_id = payload.split(".")
        agent, issued_at = int(agent_id), int(issued)
    except ValueError:
        return None
    current = time.time() if now is None else now
    if not issued_at <= current + 60 or current - issued_at > max_age_s:
        return None
    return DashboardSession(agent, issued_at, session_id)


def csrf_token_for(secret: bytes, session_id: str) -> str:
    """CSRF token bound to one dashboard session (HMAC of its id)."""
    return _mac(secret, "csrf:" + session_id)


def csrf_token(request: Request) -> str | None:
    """CSRF token to put in the dashboard forms of this request (None without a session)."""
    session = getattr(request.ctx, "dashboard_session", None)
    if session is None:
        return None
    return csrf_token_for(request.app.ctx.secret_key, session.session_id)


def check_csrf(request: Request) -> None:
    """Refuse (403) an unsafe cookie-authenticated request without the session's CSRF token."""
    session = getattr(request.ctx, "dashboard_session", None)
    if session is None or request.method not in UNSAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if not given and request.content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        given = request.form.get(CSRF_FIELD)
    expected = csrf_token_for(request.app.ctx.secret_key, session.session_id)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            "Jeton CSRF manquant ou invalide : rechargez la page et réessayez.", 403, "csrf"
        )


def set_session_cookie(request: Request, response: HTTPResponse, value: str) -> None:
    """Attach the session cookie (HttpOnly, SameSite=Lax, Secure when served over HTTPS)."""
    response.cookies[SESSION_COOKIE] = value
    cookie = response.cookies[SESSION_COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Lax"
    cookie["path"] = "/"
    cookie["max-age"] = SESSION_MAX_AGE_S
    if request.app.ctx.settings.portal_url.startswith("https://"):
        cookie["secure"] = True


def clear_session_cookie(response: HTTPResponse) -> None:
    """Expire the session cookie in the browser."""
    response.cookies[SESSION_COOKIE] = ""
    response.cookies[SESSION_COOKIE]["max-age"] = 0
    response.cookies[SESSION_COOKIE]["path"] = "/"
    response.cookies[SESSION_COOKIE]["httponly"] = True


# --- login rate limit ---------------------------------------------------------------------------


class RateLimiter:
    """Sliding-window limit of attempts per key (per IP, per login), in memory, thread-safe.

    One limit for every key, on :class:`feedback_store.rate_limit.MemoryBackend`. Per process:
    with several workers each one counts its own attempts.
    """

    def __init__(
        self,
        max_attempts: int = LOGIN_ATTEMPTS_PER_MINUTE,
        window_s: float = 60.0,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_attempts = max_attempts
        self.window = MemoryBackend(window_s, max_keys=max_keys, clock=clock)

    def hit(self, *keys: str) -> float:
        """Count one attempt for every key, unless one is over the limit.

        Returns:
            0 when the attempt is allowed (and counted); otherwise the seconds to wait.

        """
        return self.window.check(dict.fromkeys(keys, self.max_attempts)).retry_after

    def reset(self, key: str) -> None:
        """Forget the attempts of ``key`` (e.g. a login after it succeeded)."""
        self.window.forget(key)


# --- database work off the event loop -----------------------------------------------------------


async def run_db(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Run ``work(session, *args)`` in a worker thread inside one transaction; return its result.

    The transaction commits when ``work`` returns and rolls back when it raises.
    """
    factory = request.app.ctx.session_factory

    def unit() -> T:
        with factory.begin() as session:
            return work(session, *args)

    return await asyncio.get_running_loop().run_in_executor(None, unit)


# --- authentication -----------------------------------------------------------------------------


def _authenticate(request: Request, session: Session, permission: str | None) -> AgentRecord:
    """Identify the agent of ``request`` and check ``permission`` (see :func:`authenticate`)."""
    request.ctx.dashboard_session = None
    header = request.headers.get("Authorization")
    agent = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            agent = accounts.authenticate_token(session, token.strip())
        if agent is None:
            raise ApiError(
                "Jeton d'API invalide, expiré ou révoqué.",
                401,
                "invalid_token",
                {"WWW-Authenticate": 'Bearer realm="portail", error="invalid_token"'},
            )
        request.ctx.auth_method = "token"
    else:
        cookie = read_session(request.app.ctx.secret_key, request.cookies.get(SESSION_COOKIE))
        if cookie is not None:
            agent = accounts.get_agent_by_id(session, cookie.agent_id)
        if agent is None or not agent.active:
            raise ApiError(
                UNAUTHORIZED_MESSAGE,
                401,
                "unauthorized",
                {"WWW-Authenticate": 'Bearer realm="portail"'},
            )
        request.ctx.auth_method = "session"
        request.ctx.dashboard_session = cookie
    request.ctx.agent = agent
    check_csrf(request)
    if permission is not None and not agent.may(permission):
        raise ApiError(
            f"Votre compte n'a pas le rôle requis ({accounts.PERMISSIONS[permission]}) pour "
            "cette opération.",
            403,
        )
    return agent


async def authenticate(request: Request, permission: str | None = None) -> AgentRecord:
    """Return the authenticated agent of ``request`` holding ``permission`` on some structure.

    Raises:
        ApiError: 401 (no or invalid credentials), 403 (role missing, CSRF token missing).

    """
    return await run_db(request, lambda session: _authenticate(request, session, permission))


def require(permission: str | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a route so that it needs an agent holding ``permission`` (None: any agent).

    Synchronous handlers are called as ``handler(request, session, agent, **params)`` in a worker
    thread, inside the request's single transaction; async handlers as
    ``await handler(request, agent, **params)``.
    """
    if permission is not None and permission not in accounts.PERMISSIONS:
        raise ValueError(f"Unknown permission {permission!r}.")

    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(handler):

            @functools.wraps(handler)
            async def async_route(request: Request, *args: Any, **kwargs: Any) -> Any:
                agent = await authenticate(request, permission)
                return await handler(request, agent, *args, **kwargs)

            route = async_route
        else:

            @functools.wraps(handler)
            async def sync_route(request: Request, *args: Any, **kwargs: Any) -> Any:
                def unit(session: Session) -> Any:
                    agent = _authenticate(request, session, permission)
                    return handler(request, session, agent, *args, **kwargs)

                return await run_db(request, unit)

            route = sync_route
        route.required_permission = permission  # type: ignore[attr-defined]
        return route

    return decorator


def scope_filters(
    agent: AgentRecord, requested: Iterable[str] | None, permission: str = "stories.read"
) -> tuple[str, ...]:
    """Return the structure codes a query may cover: the requested ones, or all allowed.

    Raises:
        ApiError: 403 when a requested structure is outside the agent's perimeter, or when the
            agent holds ``permission`` on no structure.

    """
    wanted = tuple(dict.fromkeys(code for code in (requested or ()) if code))
    try:
        agent.check(permission, wanted)
    except NotEntitledError as error:
        raise ApiError(str(error), 403) from error
    return tuple(sorted(wanted)) if wanted else agent.structures_for(permission)


# --- login --------------------------------------------------------------------------------------


async def login(request: Request, email: str, password: str) -> tuple[AgentRecord, str]:
    """Check a dashboard login, rate-limited per login (5/min) and per client address (20/min).

    Returns:
        The agent and the signed session cookie value to set.

    Raises:
        ApiError: 429 (too many attempts, with ``Retry-After``), 401 (wrong credentials).

    """
    login_key = f"login:{(email or '').strip().lower()}"
    wait = request.app.ctx.ip_login_limiter.hit(f"ip:{request_client(request)}")
    wait = wait or request.app.ctx.login_limiter.hit(login_key)
    if wait:
        raise ApiError(
            "Trop de tentatives de connexion : réessayez dans une minute.",
            429,
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    agent = await run_db(
        request, lambda session: accounts.verify_password(session, email, password)
    )
    if agent is None:
        raise ApiError("Identifiant ou mot de passe incorrect.", 401, "invalid_credentials")
    request.app.ctx.login_limiter.reset(login_key)
    return agent, sign_session(request.app.ctx.secret_key, agent.id)
