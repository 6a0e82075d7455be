"""Exports for quality committees: stories as CSV / XLSX, the committee report as PDF / HTML.

Register with ``app.blueprint(exports_bp)`` (blueprint name ``exports``). Routes:

* ``GET /api/exports/stories.csv`` and ``GET /api/exports/stories.xlsx``: streamed downloads;
* ``GET /api/reports/committee.pdf``: the committee report as a PDF download;
* ``GET /reports/committee``: the same report as a printable HTML page.

Query parameters: ``from`` and ``to`` (``YYYY-MM-DD``, Paris days, ``to`` inclusive; both
required) and ``structure`` (repeatable or comma-separated; default: every structure on which the
agent may export). Every route needs the ``exports`` permission (role ``qualite`` or ``admin`` on
the structures concerned; 403 for any other structure) and writes the export to the audit log
before sending anything.

Stories are read in a dedicated worker thread (one per download, so the SQLite connection and the
session stay in one thread) and sent chunk by chunk while the query runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy.orm import Session

from feedback_store import audit
from feedback_store.accounts import AgentRecord
from feedback_store.exports import (
    CONTENT_TYPES,
    MAX_DAY,
    MAX_PERIOD_DAYS,
    MIN_DAY,
    ExportScope,
    export_filename,
    iter_csv,
    iter_story_rows,
    iter_xlsx,
)
from feedback_store.portal import api_params as params
from feedback_store.portal.auth import require, run_db, scope_filters
from feedback_store.portal.errors import ApiError

logger = logging.getLogger(__name__)

exports_bp = Blueprint("exports")

PERMISSION = "exports"
PARAMS: tuple[str, ...] = ("from", "to", "structure")
DOWNLOAD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# The report page has no script at all; styles and charts are inline.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


def parse_scope(request: Request, agent: AgentRecord) -> ExportScope:
    """Period and perimeter of an export request, scoped to the agent's structures.

    Raises:
        ApiError: 400 on a missing, malformed or inverted period or an unknown parameter,
            403 on a structure outside the agent's export perimeter.

    """
    params.check_params(request, PARAMS, repeatable=("structure",))
    days = []
    for name in ("from", "to"):
        value = request.args.get(name)
        if value is None or not value.strip():
            raise ApiError(f"Paramètre obligatoire manquant : {name} (date AAAA-MM-JJ).")
        days.append(params.iso_date(value, name))
    start, end = days
    for name, day in (("from", start), ("to", end)):
        if not MIN_DAY <= day <= MAX_DAY:
            raise ApiError(
                f"{name} doit être comprise entre le {MIN_DAY.strftime('%d/%m/%Y')} et le "
                f"{MAX_DAY.strftime('%d/%m/%Y')} (reçu : {day.isoformat()})."
            )
    if end < start:
        raise ApiError(
            f"Période inversée : from ({start.isoformat()}) est postérieure à to "
            f"({end.isoformat()})."
        )
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ApiError(f"La période ne peut pas dépasser {MAX_PERIOD_DAYS} jours.")
    structures = scope_filters(agent, params.structures_param(request), PERMISSION)
    return ExportScope(start, end, structures)


def _disposition(filename: str, inline: bool = False) -> str:
    return f'{"inline" if inline else "attachment"}; filename="{filename}"'


async def _audit(request: Request, agent: AgentRecord, kind: str, scope: ExportScope) -> None:
    def write(session: Session) -> None:
        audit.record_export(session, actor=agent.email, kind=kind, filters=scope.to_dict())

    await run_db(request, write)


async def _stream(
    request: Request,
    produce: Callable[[], Iterator[bytes]],
    content_type: str,
    filename: str,
) -> None:
    """Send the chunks of ``produce()`` (run in its own thread) as a streamed response."""
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")
    chunks = produce()
    try:
        first = await loop.run_in_executor(executor, next, chunks, None)
        answer = await request.respond(
            content_type=content_type,
            headers={**DOWNLOAD_HEADERS, "Content-Disposition": _disposition(filename)},
        )
        chunk = first
        while chunk is not None:
            if chunk:
                await answer.send(chunk)
            chunk = await loop.run_in_executor(executor, next, chunks, None)
        await answer.eof()
    finally:
        await loop.run_in_executor(executor, chunks.close)  # closes the session in its thread
        executor.shutdown(wait=False)


def _story_chunks(request: Request, scope: ExportScope, fmt: str) -> Iterator[bytes]:
    factory = request.app.ctx.session_factory
    with factory() as session:
        rows = iter_story_rows(session, scope.filters())
        yield from (iter_csv(rows) if fmt == "csv" else iter_xlsx(rows))


async def _stories(request: Request, agent: AgentRecord, fmt: str) -> None:
    scope = parse_scope(request, agent)
    await _audit(request, agent, f"stories.{fmt}", scope)
    await _stream(
        request,
        lambda: _story_chunks(request, scope, fmt),
        CONTENT_TYPES[fmt],
        export_filename(scope, fmt),
    )


@exports_bp.get("/api/exports/stories.csv")
@require(PERMISSION)
async def stories_csv(request: Request, agent: AgentRecord) -> None:
    """Stories of the period and perimeter as CSV (``;``, UTF-8 with BOM), streamed."""
    await _stories(request, agent, "csv")


@exports_bp.get("/api/exports/stories.xlsx")
@require(PERMISSION)
async def stories_xlsx(request: Request, agent: AgentRecord) -> None:
    """Stories of the period and perimeter as XLSX, streamed."""
    await _stories(request, agent, "xlsx")


@exports_bp.get("/api/reports/committee.pdf")
@require(PERMISSION)
async def committee_pdf(request: Request, agent: AgentRecord) -> response.HTTPResponse:
    """The committee report of the period and perimeter as a PDF download."""
    import io

    from feedback_store.report import build_committee_report, render_pdf

    scope = parse_scope(request, agent)

    def work(session: Session) -> bytes:
        report = build_committee_report(session, scope)
        audit.record_export(
            session, actor=agent.email, kind="committee_report.pdf", filters=scope.to_dict()
        )
        buffer = io.BytesIO()
        render_pdf(report, buffer)
        return buffer.getvalue()

    pdf = await run_db(request, work)
    filename = f"rapport_comite_{scope.date_from.isoformat()}_{scope.date_to.isoformat()}.pdf"
    return response.raw(
        pdf,
        content_type="application/pdf",
        headers={**DOWNLOAD_HEADERS, "Content-Disposition": _disposition(filename)},
    )


@exports_bp.get("/reports/committee")
@require(PERMISSION)
async def committee_html(request: Request, agent: AgentRecord) -> response.HTTPResponse:
    """The committee report of the period and perimeter as a printable HTML page."""
    from feedback_store.report import build_committee_report, render_html

    scope = parse_scope(request, agent)

    def work(session: Session) -> str:
        report = build_committee_report(session, scope)
        audit.record_export(
            session, actor=agent.email, kind="committee_report.html", filters=scope.to_dict()
        )
        return render_html(report)

    page = await run_db(request, work)
    return response.html(
        page,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": REPORT_CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )
