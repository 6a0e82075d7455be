"""Public transparency page of engagement 6: ``/indicateurs`` (HTML) and ``/indicateurs.json``.

No authentication and no personal data (see :mod:`feedback_store.public_indicators`). Query
parameters: ``from`` and ``to`` (``AAAA-MM-JJ``, both included; default the last 12 months) and
``structure`` (a structure code). Bad input gets a 400 in French.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict
from datetime import date, datetime, timezone
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request

from feedback_store.portal.dashboard_charts import Bar, horizontal_bar_chart_svg
from feedback_store.portal.dashboard_pages import PAGE_HEADERS, render
from feedback_store.portal.errors import json_error
from feedback_store.public_indicators import (
    MIN_CELL,
    PublicIndicators,
    default_period,
    public_indicators,
    public_structures,
)

__all__ = ["public_bp"]

public_bp = Blueprint("public")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STRUCTURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def _parse_date(value: str, name: str) -> date:
    value = value.strip()
    try:
        if not _DATE_RE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"La date « {name} » n'est pas valide : attendu le format AAAA-MM-JJ."
        ) from None


def _query(request: Request) -> tuple[date, date, str | None]:
    """Period and structure of the query string (raises ValueError with a French message)."""
    unknown = set(request.args) - {"from", "to", "structure"}
    if unknown:
        raise ValueError(f"Paramètre inconnu : {', '.join(sorted(unknown))}.")
    start, end = default_period(datetime.now(timezone.utc).date())
    raw_from, raw_to = request.args.get("from"), request.args.get("to")
    if raw_to:
        end = _parse_date(raw_to, "to")
        if not raw_from:
            start = default_period(end)[0]
    if raw_from:
        start = _parse_date(raw_from, "from")
    if start > end:
        raise ValueError("La date de début doit précéder la date de fin.")
    structure = (request.args.get("structure") or "").strip() or None
    if structure is not None and not _STRUCTURE_RE.fullmatch(structure):
        raise ValueError("Le code de structure n'est pas valide.")
    return start, end, structure


async def _compute(
    request: Request, start: date, end: date, structure: str | None
) -> tuple[PublicIndicators, list[tuple[str, str]]]:
    def unit() -> tuple[PublicIndicators, list[tuple[str, str]]]:
        with request.app.ctx.session_factory() as session:
            return public_indicators(session, start, end, structure), public_structures(session)

    return await asyncio.get_running_loop().run_in_executor(None, unit)


def _error_page(request: Request, message: str) -> response.HTTPResponse:
    return render(
        request,
        "public/error.html",
        status=400,
        agent=None,
        csrf_token=None,
        title="Requête invalide",
        message=message,
    )


@public_bp.get("/indicateurs")
async def indicators_page(request: Request) -> response.HTTPResponse:
    """The public indicators page (DSFR)."""
    try:
        start, end, structure = _query(request)
        figures, structures = await _compute(request, start, end, structure)
    except ValueError as error:
        return _error_page(request, str(error))
    chart = horizontal_bar_chart_svg(
        [Bar(cell.label, cell.count) for cell in figures.top_irritants if cell.count is not None]
    )
    return render(
        request,
        "public/indicateurs.html",
        agent=None,
        csrf_token=None,
        title="Indicateurs de transparence",
        figures=figures,
        structures=structures,
        chart=chart,
        min_cell=MIN_CELL,
        query={"from": start.isoformat(), "to": end.isoformat(), "structure": structure or ""},
    )


def _as_json(figures: PublicIndicators) -> dict[str, Any]:
    data = asdict(figures)
    data["date_from"] = figures.date_from.isoformat()
    data["date_to"] = figures.date_to.isoformat()
    for key in ("top_irritants", "engagements"):
        for cell in data[key]:
            cell["suppressed"] = cell["count"] is None
    data["min_cell"] = MIN_CELL
    return data


@public_bp.get("/indicateurs.json")
async def indicators_json(request: Request) -> response.HTTPResponse:
    """The same figures as JSON (suppressed counts are null with ``suppressed: true``)."""
    try:
        start, end, structure = _query(request)
        figures, _ = await _compute(request, start, end, structure)
    except ValueError as error:
        return json_error(400, str(error), "bad_request")
    return response.json(_as_json(figures), headers={**PAGE_HEADERS}, ensure_ascii=False)
