"""JSON errors of the portal: one shape, French messages, no traceback ever sent to clients.

Every error answer is ``{"error": <code>, "message": <French sentence>}`` with the HTTP status.
Validation errors (``ValueError``) become 400, missing things (``LookupError``) 404,
entitlement errors (``PermissionError``) 403, anything unexpected a generic 500 (logged here).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

logger = logging.getLogger(__name__)

_STATUS_MESSAGES: Mapping[int, tuple[str, str]] = {
    400: ("bad_request", "Requête invalide."),
    401: ("unauthorized", "Authentification requise."),
    403: ("forbidden", "Accès refusé."),
    404: ("not_found", "Ressource introuvable."),
    405: ("method_not_allowed", "Méthode non autorisée pour cette adresse."),
    408: ("timeout", "La requête a pris trop de temps."),
    413: ("payload_too_large", "Requête trop volumineuse."),
    416: ("range_not_satisfiable", "Plage demandée invalide."),
    429: ("too_many_requests", "Trop de tentatives : réessayez dans un instant."),
    503: ("unavailable", "Service momentanément indisponible."),
}
INTERNAL_MESSAGE = "Erreur interne du serveur. L'incident a été enregistré ; réessayez plus tard."


class ApiError(SanicException):
    """An error answered as JSON with a French ``message`` and a machine ``code``."""

    def __init__(
        self,
        message: str,
        status: int = 400,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, status_code=status)
        self.status_code = status
        self.message = message
        self.code = code or _STATUS_MESSAGES.get(status, ("error", ""))[0]
        self.extra_headers = dict(headers or {})


def json_error(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> response.HTTPResponse:
    """Build the JSON error answer."""
    code = code or _STATUS_MESSAGES.get(status, ("error", ""))[0]
    return response.json(
        {"error": code, "message": message}, status=status, headers=dict(headers or {})
    )


def error_response(request: Request, exception: BaseException) -> response.HTTPResponse:
    """Map any exception to the JSON error answer (see module docstring)."""
    if isinstance(exception, ApiError):
        return json_error(
            exception.status_code, exception.message, exception.code, exception.extra_headers
        )
    if isinstance(exception, SanicException):
        status = getattr(exception, "status_code", 500) or 500
        if status >= 500:
            logger.error("Server error on %s %s", request.method, request.path, exc_info=exception)
            return json_error(status, INTERNAL_MESSAGE, "internal")
        code, message = _STATUS_MESSAGES.get(status, ("error", "Requête refusée."))
        if status == 404:
            message = f"Ressource introuvable : {request.path}"
        elif status == 405:
            message = f"Méthode {request.method} non autorisée sur {request.path}."
        headers = {k: v for k, v in (getattr(exception, "headers", None) or {}).items()}
        return json_error(status, message, code, headers)
    if isinstance(exception, PermissionError):
        return json_error(403, str(exception) or "Accès refusé.", "forbidden")
    if isinstance(exception, LookupError) and not isinstance(exception, KeyError | IndexError):
        return json_error(404, str(exception) or "Ressource introuvable.", "not_found")
    if isinstance(exception, ValueError) and not isinstance(exception, UnicodeError):
        return json_error(400, f"Requête invalide : {exception}", "bad_request")
    logger.error("Unexpected error on %s %s", request.method, request.path, exc_info=exception)
    return json_error(500, INTERNAL_MESSAGE, "internal")


def register_error_handlers(app: Sanic) -> None:
    """Route every exception of ``app`` through :func:`error_response`."""
    app.error_handler.add(Exception, error_response)
