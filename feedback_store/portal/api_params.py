"""Parsing and validation of the JSON API's query strings and bodies, with French messages.

Everything invalid raises :class:`~feedback_store.portal.errors.ApiError` (400) naming the
parameter and the accepted values, so that no bad input ever reaches the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from sanic.request import Request

from feedback_store.models import ACTION_STATUSES, STORY_STATUSES
from feedback_store.portal.errors import ApiError
from feedback_store.stories import AGGREGATE_KEYS, MAX_PER_PAGE, REFERENCE_RE, StoryFilters
from feedback_store.taxonomy import CANAUX, ENGAGEMENTS, IRRITANTS, RESSENTIS, TAGS_GENERAUX

CODE_SPACES: Mapping[str, Mapping[str, Any]] = {
    "irritant": IRRITANTS,
    "engagement": ENGAGEMENTS,
    "tag": TAGS_GENERAUX,
    "canal": CANAUX,
    "ressenti": RESSENTIS,
}
FILTER_PARAMS: tuple[str, ...] = (
    "structure",
    "irritant",
    "engagement",
    "tag",
    "canal",
    "ressenti",
    "departement",
    "status",
    "partner",
    "date_from",
    "date_to",
    "q",
)
PAGE_PARAMS: tuple[str, ...] = ("page", "per_page")
AGGREGATE_PARAMS: tuple[str, ...] = ("by", "period")
ACTION_LIST_PARAMS: tuple[str, ...] = ("structure", "status", "irritant", "story")
PERIODS: tuple[str, ...] = ("week", "month")
MAX_PAGE = 1_000_000
MAX_ID = 2**31 - 1
Q_MAX_LENGTH = 200
DEFAULT_PER_PAGE = 20
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_DEPARTEMENT_RE = re.compile(r"^(\d{2}|2A|2B|97\d|98\d)$")


@dataclass(frozen=True)
class QueryFilters:
    """Validated story filters of a query string, before scoping.

    Attributes:
        structures: Structure codes asked for (empty: every structure the agent may see).
        values: Other filters as given (canonical strings), for echoing and building links.
        filters: The service filters (``structure_codes`` still unset).

    """

    structures: tuple[str, ...]
    values: Mapping[str, str]
    filters: StoryFilters = field(default_factory=StoryFilters)

    def scoped(self, structure_codes: Sequence[str]) -> StoryFilters:
        """The service filters restricted to ``structure_codes``."""
        return replace(self.filters, structure_codes=tuple(structure_codes))

    def stories_url(self, **overrides: str | Sequence[str] | None) -> str:
        """Address of the stories list with these filters (see :meth:`query`)."""
        query = self.query(**overrides)
        return f"/api/stories?{query}" if query else "/api/stories"

    def query(self, **overrides: str | Sequence[str] | None) -> str:
        """Query string of these filters with some parameters replaced (None removes one)."""
        params: dict[str, Any] = {}
        if self.structures:
            params["structure"] = list(self.structures)
        params.update(self.values)
        for key, value in overrides.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return urlencode(params, doseq=True)


def check_params(request: Request, allowed: Iterable[str], repeatable: Iterable[str] = ()) -> None:
    """Refuse unknown query parameters and repeated single-valued ones."""
    allowed = tuple(allowed)
    repeatable = set(repeatable)
    for name, values in request.args.items():
        if name not in allowed:
            accepted = ", ".join(allowed) if allowed else "aucun"
            raise ApiError(f"Paramètre inconnu : {name}. Paramètres acceptés : {accepted}.")
        if len(values) > 1 and name not in repeatable:
            raise ApiError(f"Le paramètre {name} ne peut être donné qu'une fois.")


def _one(request: Request, name: str) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def code_value(space: str, value: str, name: str | None = None) -> str:
    """Check ``value`` is a code of ``space`` (irritant, engagement, tag, canal, ressenti)."""
    valid = CODE_SPACES[space]
    if value not in valid:
        raise ApiError(
            f"Valeur inconnue pour {name or space} : {value!r}. Valeurs possibles : "
            f"{', '.join(valid)}."
        )
    return value


def choice(value: str, name: str, choices: Sequence[str]) -> str:
    """Check ``value`` is one of ``choices``."""
    if value not in choices:
        raise ApiError(
            f"Valeur inconnue pour {name} : {value!r}. Valeurs possibles : {', '.join(choices)}."
        )
    return value


def structure_code(value: Any, name: str = "structure") -> str:
    """Check a structure code's form (letters, digits, ``_ . : -``; 64 characters at most)."""
    if not isinstance(value, str) or not _CODE_RE.fullmatch(value.strip()):
        raise ApiError(f"Code invalide pour {name} : {value!r}.")
    return value.strip()


def iso_date(value: Any, name: str) -> date:
    """Parse a ``YYYY-MM-DD`` date."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ApiError(f"{name} doit être une date au format AAAA-MM-JJ (reçu : {value!r}).")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as error:
        raise ApiError(f"{name} n'est pas une date valide : {value!r}.") from error


def positive_int(value: str | None, name: str, default: int, maximum: int) -> int:
    """Parse a whole number in ``1..maximum``."""
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ApiError(
            f"{name} doit être un nombre entier entre 1 et {maximum} (reçu : {value!r})."
        )
    return int(value)


def structures_param(request: Request) -> tuple[str, ...]:
    """Structure codes of the (repeatable, comma-separated) ``structure`` parameter."""
    codes = []
    for raw in request.args.getlist("structure") or ():
        for part in raw.split(","):
            if part.strip():
                codes.append(structure_code(part))
    return tuple(dict.fromkeys(codes))


def parse_filters(request: Request) -> QueryFilters:
    """Validate the story filters of the query string (see :data:`FILTER_PARAMS`).

    ``date_to`` is inclusive (a UTC day); ``q`` needs all its words in the text or suggestion.
    """
    values: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    for space in CODE_SPACES:
        value = _one(request, space)
        if value is not None:
            kwargs[space] = values[space] = code_value(space, value)
    departement = _one(request, "departement")
    if departement is not None:
        departement = departement.upper()
        if not _DEPARTEMENT_RE.fullmatch(departement):
            raise ApiError(f"Valeur invalide pour departement : {departement!r} (ex. 05, 2A, 974).")
        kwargs["departement"] = values["departement"] = departement
    status = _one(request, "status")
    if status is not None:
        kwargs["status"] = values["status"] = choice(status, "status", STORY_STATUSES)
    partner = _one(request, "partner")
    if partner is not None:
        kwargs["partner"] = values["partner"] = structure_code(partner, "partner")
    date_from = _one(request, "date_from")
    date_to = _one(request, "date_to")
    start = iso_date(date_from, "date_from") if date_from is not None else None
    end = iso_date(date_to, "date_to") if date_to is not None else None
    if start is not None and end is not None and start > end:
        raise ApiError(
            f"Période inversée : date_from ({start.isoformat()}) est postérieure à date_to "
            f"({end.isoformat()})."
        )
    if start is not None:
        kwargs["date_from"] = start
        values["date_from"] = start.isoformat()
    if end is not None:
        if end < date.max:  # the last representable day has no upper bound to give
            kwargs["date_to"] = end + timedelta(days=1)
        values["date_to"] = end.isoformat()
    text = _one(request, "q")
    if text is not None:
        if len(text) > Q_MAX_LENGTH:
            raise ApiError(f"q dépasse {Q_MAX_LENGTH} caractères.")
        kwargs["text"] = values["q"] = text
    return QueryFilters(structures_param(request), values, StoryFilters(**kwargs))


def parse_period(request: Request) -> tuple[date | None, date | None]:
    """``date_from`` and ``date_to`` (inclusive UTC days, both optional); inverted: 400."""
    date_from, date_to = _one(request, "date_from"), _one(request, "date_to")
    start = iso_date(date_from, "date_from") if date_from is not None else None
    end = iso_date(date_to, "date_to") if date_to is not None else None
    if start is not None and end is not None and start > end:
        raise ApiError(
            f"Période inversée : date_from ({start.isoformat()}) est postérieure à date_to "
            f"({end.isoformat()})."
        )
    return start, end


def parse_page(request: Request) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1..200, default 20)."""
    page = positive_int(_one(request, "page"), "page", 1, MAX_PAGE)
    per_page = positive_int(_one(request, "per_page"), "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
    return page, per_page


def parse_aggregate(request: Request) -> tuple[str, str | None]:
    """``by`` (default irritant) and ``period`` (week, month or none)."""
    by = choice(_one(request, "by") or "irritant", "by", AGGREGATE_KEYS)
    period = _one(request, "period")
    return by, choice(period, "period", PERIODS) if period is not None else None


def parse_action_list(request: Request) -> dict[str, Any]:
    """Filters of ``GET /api/actions``: structure codes, status, irritant, story reference."""
    result: dict[str, Any] = {"structures": structures_param(request)}
    status = _one(request, "status")
    result["status"] = choice(status, "status", ACTION_STATUSES) if status is not None else None
    irritant = _one(request, "irritant")
    result["irritant"] = code_value("irritant", irritant) if irritant is not None else None
    story = _one(request, "story")
    if story is not None and not REFERENCE_RE.fullmatch(story.upper()):
        raise ApiError(f"Référence d'histoire invalide pour story : {story!r} (EXP-AAAA-NNNNNN).")
    result["story"] = story.upper() if story is not None else None
    return result


def reference(value: str) -> str:
    """Normalise a story reference; malformed ones are answered like unknown ones (404)."""
    normalised = value.strip().upper()
    if not REFERENCE_RE.fullmatch(normalised):
        raise ApiError(f"Aucune histoire avec la référence {value!r}.", 404)
    return normalised


def action_id(value: int) -> int:
    """Route id of an action; out-of-range ids are unknown ones (404)."""
    if not 1 <= value <= MAX_ID:
        raise ApiError(f"Aucune action d'amélioration n° {value}.", 404)
    return value


# --- JSON bodies --------------------------------------------------------------------------------


def json_body(request: Request, allowed: Iterable[str], required: Iterable[str] = ()) -> dict:
    """Parse the JSON object of the body; refuse unknown and missing fields."""
    if not request.body:
        raise ApiError("Corps de requête JSON attendu (un objet).")
    try:
        data = json.loads(request.body)
    except UnicodeDecodeError as error:
        raise ApiError("Le corps de la requête doit être du JSON encodé en UTF-8.") from error
    except json.JSONDecodeError as error:
        raise ApiError(
            f"JSON mal formé : {error.msg} (ligne {error.lineno}, colonne {error.colno})."
        ) from error
    except RecursionError as error:
        raise ApiError("JSON trop profondément imbriqué.") from error
    if not isinstance(data, dict):
        raise ApiError("Le corps de la requête doit être un objet JSON.")
    allowed = tuple(allowed)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApiError(
            f"Champ(s) inconnu(s) : {', '.join(unknown)}. Champs acceptés : {', '.join(allowed)}."
        )
    missing = [name for name in required if data.get(name) in (None, "")]
    if missing:
        raise ApiError(f"Champ(s) obligatoire(s) manquant(s) : {', '.join(missing)}.")
    return data


def string_field(data: Mapping[str, Any], name: str, *, nullable: bool = True) -> str | None:
    """A string field of a body (None when null and ``nullable``)."""
    value = data.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise ApiError(f"Le champ {name} doit être un texte.")
    return value


def code_list(data: Mapping[str, Any], name: str, space: str) -> list[str]:
    """A list of codes of ``space`` in a body field."""
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(f"Le champ {name} doit être une liste de codes.")
    return [code_value(space, item, name) for item in value]


def string_list(data: Mapping[str, Any], name: str) -> list[str]:
    """A list of strings in a body field."""
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(f"Le champ {name} doit être une liste de textes.")
    return value


def optional_date(data: Mapping[str, Any], name: str) -> date | None:
    """A ``YYYY-MM-DD`` date field, or null."""
    value = data.get(name)
    return None if value is None else iso_date(value, name)
