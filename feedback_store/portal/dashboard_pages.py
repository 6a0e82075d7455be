"""HTML plumbing of the agent dashboard: templates, page responses, the login-or-403 decorator.

Dashboard pages reuse the portal's authentication (:func:`~feedback_store.portal.auth.require`):
a page without a valid session redirects to ``/login``, any refusal or bad input is shown as an
HTML error page in French (never the API's JSON).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sanic import response
from sanic.request import Request

from feedback_store.portal.auth import csrf_token, require
from feedback_store.portal.errors import ApiError
from feedback_store.stories import PARIS

__all__ = [
    "PAGE_HEADERS",
    "dashboard_page",
    "error_page",
    "french_date",
    "french_month",
    "render",
    "short_month",
    "safe_next",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
ERROR_TITLES: Mapping[int, str] = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    429: "Trop de tentatives",
}
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

SHORT_MONTHS = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def french_date(value: date | datetime | None) -> str:
    """``8 janvier 2024`` (datetimes are shown in Paris time, with the hour)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(PARIS)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def french_month(value: date) -> str:
    """``janvier 2024``."""
    return f"{MONTHS[value.month - 1]} {value.year}"


def short_month(value: date) -> str:
    """``janv. 2024`` (chart labels)."""
    return f"{SHORT_MONTHS[value.month - 1]} {value.year}"


def percent(value: float | None) -> str:
    """``42 %`` (French spacing) or a dash."""
    return "–" if value is None else f"{round(value * 100)}\u00a0%"


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    environment.filters["french_date"] = french_date
    environment.filters["french_month"] = french_month
    environment.filters["percent"] = percent
    return environment


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> response.HTTPResponse:
    """Render a dashboard template (``agent``, ``csrf_token`` and ``path`` are always given)."""
    context.setdefault("agent", getattr(request.ctx, "agent", None))
    context.setdefault("csrf_token", csrf_token(request) if context["agent"] else None)
    context.setdefault("path", request.path)
    context.setdefault("error", None)
    context.setdefault("notice", None)
    body = _environment().get_template(template).render(**context)
    return response.html(body, status=status, headers={**PAGE_HEADERS, **(headers or {})})


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> response.HTTPResponse:
    """The HTML error page (403, 404, 400…) with the French message."""
    title = ERROR_TITLES.get(status, "Erreur")
    return render(
        request,
        "dashboard/error.html",
        status=status,
        headers=headers,
        title=title,
        message=message,
        status_code=status,
    )


def safe_next(value: str | None) -> str:
    """Where to go after login: a dashboard path of this site only, else ``/dashboard``."""
    if value and value.startswith("/dashboard") and "//" not in value and "\\" not in value:
        return value
    return "/dashboard"


def login_redirect(request: Request) -> response.HTTPResponse:
    """Send an unauthenticated visitor to the login page, remembering where they were going."""
    target = request.path + (f"?{request.query_string}" if request.query_string else "")
    if request.method != "GET":
        target = request.path
    return response.redirect(f"/login?{urlencode({'next': safe_next(target)})}", status=303)


def dashboard_page(permission: str | None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Protect a synchronous page handler ``(request, session, agent, **params)``.

    Like :func:`~feedback_store.portal.auth.require` (one transaction, CSRF on POST), but a
    missing session redirects to ``/login`` and refusals are rendered as HTML error pages.
    """

    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        protected = require(permission)(handler)

        @functools.wraps(handler)
        async def page(request: Request, *args: Any, **kwargs: Any) -> response.HTTPResponse:
            try:
                return await protected(request, *args, **kwargs)
            except ApiError as error:
                if error.status_code == 401:
                    return login_redirect(request)
                return error_page(request, error.status_code, error.message, error.extra_headers)
            except PermissionError as error:
                return error_page(request, 403, str(error) or "Accès refusé.")
            except (KeyError, IndexError):
                raise  # programming errors: the app's handler logs them and answers 500
            except LookupError as error:
                return error_page(request, 404, str(error) or "Page introuvable.")
            except ValueError as error:
                return error_page(request, 400, str(error) or "Requête invalide.")

        return page

    return decorator
