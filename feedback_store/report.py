"""Committee report: one section per engagement (E1–E8) for a period and a perimeter.

:func:`build_committee_report` computes plain data (counts, trend against the previous period of
the same length, top irritants, representative verbatims, improvement actions);
:func:`render_html` (Jinja2 template ``portal/templates/committee_report.html``, charts as inline
SVG) and :func:`render_pdf` (matplotlib ``PdfPages``, one page or more per engagement) render it.
Every label comes from :mod:`feedback_store.taxonomy`, in French. matplotlib is imported only when
a chart is drawn.
"""

from __future__ import annotations

import functools
import io
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, case, exists, func, not_, or_, select, true
from sqlalchemy.orm import Session, aliased, selectinload

from feedback_store.exports import PARIS, ExportScope
from feedback_store.models import (
    ImprovementAction,
    ImprovementActionStory,
    Story,
    StoryLabel,
    Structure,
)
from feedback_store.stories import _conditions, aggregate_irritants
from feedback_store.taxonomy import CANAUX, ENGAGEMENTS, IRRITANTS, RESSENTIS

ACTION_STATUS_LABELS: dict[str, str] = {
    "proposee": "Proposée",
    "engagee": "Engagée",
    "realisee": "Réalisée",
    "abandonnee": "Abandonnée",
}
ACTION_STATUS_PLURALS: dict[str, str] = {
    "proposee": "proposées",
    "engagee": "engagées",
    "realisee": "réalisées",
    "abandonnee": "abandonnées",
}
LABEL_SOURCE_TEXT: dict[str, str] = {
    "agent": "thème confirmé par un agent",
    "usager": "thème confirmé par l'usager",
    "model": "thème détecté automatiquement",
}
TOP_IRRITANTS = 5
VERBATIMS_PER_ENGAGEMENT = 3
VERBATIM_MAX_CHARS = 500
TEMPLATES_DIR = Path(__file__).resolve().parent / "portal" / "templates"
HTML_TEMPLATE = "committee_report.html"
REPORT_TITLE = "Rapport du comité qualité"
BLUE, GREY = "#000091", "#929292"  # DSFR "bleu France" and a neutral grey
CHART_CAPTION = "En bleu la période, en gris la période précédente."


# --- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """A count this period and in the previous period of the same length."""

    current: int
    previous: int

    @property
    def percent(self) -> int | None:
        """Change in percent, rounded; None when the previous count is zero."""
        if self.previous == 0:
            return None
        return round(100 * (self.current - self.previous) / self.previous)

    @property
    def direction(self) -> str:
        """``hausse``, ``baisse``, ``stable`` or ``nouveau``."""
        if self.current == self.previous:
            return "stable"
        if self.previous == 0:
            return "nouveau"
        return "hausse" if self.current > self.previous else "baisse"

    @property
    def label(self) -> str:
        """French wording, e.g. ``en hausse de 25 %``."""
        if self.direction == "stable":
            return "stable"
        if self.direction == "nouveau":
            return "aucune sur la période précédente"
        if self.percent == 0:
            return "quasi stable"
        return f"en {self.direction} de {abs(self.percent or 0)}\u00a0%"


@dataclass(frozen=True)
class IrritantCount:
    """An irritant of an engagement with its story counts."""

    code: str
    label: str
    trend: Trend


@dataclass(frozen=True)
class Verbatim:
    """A representative anonymised story."""

    reference: str
    day: date
    ressenti: str
    canal: str
    structure: str | None
    text: str
    source: str
    confidence: float | None

    @property
    def provenance(self) -> str:
        """How the engagement label was set, in French."""
        text = LABEL_SOURCE_TEXT.get(self.source, self.source)
        if self.source == "model" and self.confidence is not None:
            text += f" (confiance {round(100 * self.confidence)}\u00a0%)"
        return text


@dataclass(frozen=True)
class ActionLine:
    """An improvement action as shown to the committee."""

    title: str
    status: str
    owner: str | None
    due_date: date | None
    done_text: str | None
    structure: str | None
    irritants: tuple[str, ...]
    engagements: tuple[str, ...]

    @property
    def status_label(self) -> str:
        """French status."""
        return ACTION_STATUS_LABELS.get(self.status, self.status)


@dataclass(frozen=True)
class EngagementSection:
    """What the report says about one engagement."""

    code: str
    label: str
    stories: Trend
    share_of_total: int | None
    irritants: tuple[IrritantCount, ...]
    verbatims: tuple[Verbatim, ...]
    actions: tuple[ActionLine, ...]

    @property
    def action_summary(self) -> str:
        """E.g. ``2 engagées, 1 réalisée``; empty without actions."""
        counts = Counter(action.status for action in self.actions)
        return _status_summary(counts)


@dataclass(frozen=True)
class CommitteeReport:
    """Everything a committee report shows, ready to render."""

    scope: ExportScope
    previous_scope: ExportScope
    perimeter: tuple[str, ...]
    generated_at: datetime
    stories: Trend
    positive: Trend
    sections: tuple[EngagementSection, ...]
    other_actions: tuple[ActionLine, ...]

    @property
    def perimeter_label(self) -> str:
        """The structures covered, "Toutes les structures" or "Aucune structure"."""
        if self.scope.structure_codes is None:
            return "Toutes les structures"
        return ", ".join(self.perimeter) or "Aucune structure"

    @property
    def share_positive(self) -> int | None:
        """Percent of positive stories this period (None without stories)."""
        return _percent(self.positive.current, self.stories.current)

    @property
    def previous_share_positive(self) -> int | None:
        """Percent of positive stories in the previous period."""
        return _percent(self.positive.previous, self.stories.previous)

    @property
    def action_summary(self) -> str:
        """Status counts of every action in the report."""
        seen: dict[tuple[str, str | None], ActionLine] = {}
        for action in (*self.other_actions, *(a for s in self.sections for a in s.actions)):
            seen[(action.title, action.owner)] = action
        return _status_summary(Counter(action.status for action in seen.values()))


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _status_summary(counts: Counter) -> str:
    parts = []
    for status, plural in ACTION_STATUS_PLURALS.items():
        if counts.get(status):
            word = plural if counts[status] > 1 else plural[:-1]
            parts.append(f"{counts[status]} {word}")
    return ", ".join(parts)


def french_date(day: date) -> str:
    """``dd/mm/yyyy``."""
    return day.strftime("%d/%m/%Y")


def _truncate(text: str, limit: int = VERBATIM_MAX_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def _counts(session: Session, scope: ExportScope, by: str) -> dict[str | None, int]:
    return {row.key: row.count for row in aggregate_irritants(session, scope.filters(), by=by)}


def _verbatims(session: Session, scope: ExportScope, code: str, limit: int) -> list[Verbatim]:
    """Stories of the engagement: confirmed labels first, then the highest model confidence."""
    active = aliased(StoryLabel)
    model = aliased(StoryLabel)
    confirmed = case((active.source == "model", 0), else_=1)
    stmt = (
        select(
            Story.reference,
            Story.created_at,
            Story.ressenti,
            Story.canal,
            Structure.name,
            Story.structure_label,
            Story.text_anonymised,
            active.source,
            model.confidence,
        )
        .select_from(Story)
        .join(
            active,
            and_(
                active.story_id == Story.id,
                active.space == "engagement",
                active.code == code,
                active.active == true(),
            ),
        )
        .outerjoin(
            model,
            and_(
                model.story_id == Story.id,
                model.space == "engagement",
                model.code == code,
                model.source == "model",
            ),
        )
        .outerjoin(Structure, Story.structure_id == Structure.id)
        .where(*_conditions(scope.filters()))
        .order_by(
            confirmed.desc(),
            func.coalesce(model.confidence, 0.0).desc(),
            Story.created_at.desc(),
            Story.id.desc(),
        )
        .limit(limit)
    )
    return [
        Verbatim(
            reference=row.reference,
            day=row.created_at.astimezone(PARIS).date(),
            ressenti=RESSENTIS.get(row.ressenti, row.ressenti),
            canal=CANAUX.get(row.canal, row.canal),
            structure=row.name or row.structure_label,
            text=_truncate(row.text_anonymised),
            source=row.source,
            confidence=row.confidence,
        )
        for row in session.execute(stmt)
    ]


def _actions(session: Session, scope: ExportScope) -> list[ActionLine]:
    """Actions of the perimeter, with their current status, unless closed before the period.

    Actions created after the period are kept: they often answer what the period revealed.
    """
    filters = scope.filters()
    stmt = (
        select(ImprovementAction)
        .options(selectinload(ImprovementAction.irritants))
        .where(
            not_(
                and_(
                    ImprovementAction.status.in_(("realisee", "abandonnee")),
                    ImprovementAction.updated_at < filters.date_from,
                )
            )
        )
    )
    if scope.structure_codes is not None:
        ids = select(Structure.id).where(Structure.code.in_(scope.structure_codes))
        linked = exists().where(
            ImprovementActionStory.action_id == ImprovementAction.id,
            ImprovementActionStory.story_id == Story.id,
            Story.structure_id.in_(ids),
        )
        stmt = stmt.where(
            or_(
                ImprovementAction.structure_id.in_(ids),
                and_(ImprovementAction.structure_id.is_(None), linked),
            )
        )
    actions = session.execute(stmt).scalars().all()
    names = dict(session.execute(select(Structure.id, Structure.name)).all()) if actions else {}
    order = list(ACTION_STATUS_LABELS)
    lines = []
    for action in actions:
        irritants = tuple(
            sorted(
                (link.irritant for link in action.irritants if link.irritant in IRRITANTS),
                key=list(IRRITANTS).index,
            )
        )
        engagements = sorted(
            {e for code in irritants for e in IRRITANTS[code].engagements},
            key=list(ENGAGEMENTS).index,
        )
        lines.append(
            ActionLine(
                title=action.title,
                status=action.status,
                owner=action.owner,
                due_date=action.due_date,
                done_text=action.done_text,
                structure=names.get(action.structure_id),
                irritants=tuple(IRRITANTS[code].label for code in irritants),
                engagements=tuple(engagements),
            )
        )
    lines.sort(
        key=lambda a: (
            order.index(a.status) if a.status in order else len(order),
            a.due_date or date.max,
            a.title,
        )
    )
    return lines


def build_committee_report(
    session: Session,
    scope: ExportScope,
    *,
    verbatims: int = VERBATIMS_PER_ENGAGEMENT,
    top_irritants: int = TOP_IRRITANTS,
) -> CommitteeReport:
    """Compute the committee report of a period and a perimeter.

    Args:
        session: The caller's session (read only).
        scope: Period (inclusive Paris days) and perimeter (structure codes, None for all).
        verbatims: Representative verbatims per engagement.
        top_irritants: Irritants shown per engagement.

    Returns:
        The report data; render it with :func:`render_html` or :func:`render_pdf`.

    """
    previous = scope.previous()
    ressenti_now, ressenti_before = (
        _counts(session, scope, "ressenti"),
        _counts(session, previous, "ressenti"),
    )
    stories = Trend(sum(ressenti_now.values()), sum(ressenti_before.values()))
    positive = Trend(ressenti_now.get("positif", 0), ressenti_before.get("positif", 0))
    engagements_now, engagements_before = (
        _counts(session, scope, "engagement"),
        _counts(session, previous, "engagement"),
    )
    irritants_now, irritants_before = (
        _counts(session, scope, "irritant"),
        _counts(session, previous, "irritant"),
    )
    actions = _actions(session, scope)
    sections = []
    for code, engagement in ENGAGEMENTS.items():
        irritants = [
            IrritantCount(
                irritant.code,
                irritant.label,
                Trend(irritants_now.get(irritant.code, 0), irritants_before.get(irritant.code, 0)),
            )
            for irritant in IRRITANTS.values()
            if code in irritant.engagements
        ]
        irritants = [item for item in irritants if item.trend.current or item.trend.previous]
        irritants.sort(key=lambda item: (-item.trend.current, -item.trend.previous, item.label))
        count = engagements_now.get(code, 0)
        sections.append(
            EngagementSection(
                code=code,
                label=engagement.label,
                stories=Trend(count, engagements_before.get(code, 0)),
                share_of_total=_percent(count, stories.current),
                irritants=tuple(irritants[:top_irritants]),
                verbatims=tuple(_verbatims(session, scope, code, verbatims)) if count else (),
                actions=tuple(action for action in actions if code in action.engagements),
            )
        )
    perimeter: tuple[str, ...] = ()
    if scope.structure_codes is not None:
        rows = session.execute(
            select(Structure.code, Structure.name)
            .where(Structure.code.in_(scope.structure_codes))
            .order_by(Structure.name)
        ).all()
        known = {code for code, _ in rows}
        perimeter = tuple(f"{name} ({code})" for code, name in rows) + tuple(
            sorted(set(scope.structure_codes) - known)
        )
    return CommitteeReport(
        scope=scope,
        previous_scope=previous,
        perimeter=perimeter,
        generated_at=datetime.now(PARIS),
        stories=stories,
        positive=positive,
        sections=tuple(sections),
        other_actions=tuple(action for action in actions if not action.engagements),
    )


# --- charts -------------------------------------------------------------------------------------


def _draw_irritants(ax: Any, section: EngagementSection) -> None:
    items = list(section.irritants)
    labels = ["\n".join(textwrap.wrap(item.label, 28)) for item in items]
    positions = range(len(items))
    height = 0.38
    ax.barh(
        [p - height / 2 for p in positions],
        [item.trend.current for item in items],
        height=height,
        color=BLUE,
        label="Période",
    )
    ax.barh(
        [p + height / 2 for p in positions],
        [item.trend.previous for item in items],
        height=height,
        color=GREY,
        label="Période précédente",
    )
    for position, item in zip(positions, items, strict=True):
        for offset, value, color in (
            (-height / 2, item.trend.current, "black"),
            (height / 2, item.trend.previous, "#555555"),
        ):
            ax.text(value, position + offset, f" {value}", va="center", fontsize=7, color=color)
    ax.set_yticks(list(positions))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def _chart_height(section: EngagementSection) -> float:
    return 0.6 + 0.45 * len(section.irritants)


def irritant_chart_svg(section: EngagementSection) -> str | None:
    """SVG bar chart of the section's top irritants (this period vs the previous one)."""
    if not section.irritants:
        return None
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, _chart_height(section)))
    ax = figure.add_axes([0.34, 0.12, 0.62, 0.85])
    _draw_irritants(ax, section)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


# --- HTML ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["french_date"] = french_date
    return environment


def render_html(report: CommitteeReport) -> str:
    """Render the printable HTML page of a committee report (charts as inline SVG)."""
    from markupsafe import Markup

    charts = {}
    for section in report.sections:
        svg = irritant_chart_svg(section)
        if svg is not None:
            charts[section.code] = Markup(svg)  # noqa: S704 - SVG drawn by matplotlib from our labels
    return (
        _environment()
        .get_template(HTML_TEMPLATE)
        .render(report=report, charts=charts, title=REPORT_TITLE, chart_caption=CHART_CAPTION)
    )


# --- PDF ----------------------------------------------------------------------------------------

_PAGE_WIDTH, _PAGE_HEIGHT = 8.27, 11.69  # A4, inches
_LEFT, _TOP, _BOTTOM = 0.08, 0.95, 0.06
_TEXT_WIDTH_PT = (1 - 2 * _LEFT) * _PAGE_WIDTH * 72


class _PdfWriter:
    """Flows wrapped text and charts down A4 pages, starting a new page when one is full."""

    def __init__(self, pdf: Any, footer: str) -> None:
        self._pdf = pdf
        self._footer = footer
        self._figure: Any = None
        self._y = _TOP
        self.pages = 0

    def new_page(self) -> None:
        from matplotlib.figure import Figure

        self._flush()
        self._figure = Figure(figsize=(_PAGE_WIDTH, _PAGE_HEIGHT))
        self.pages += 1
        self._figure.text(
            _LEFT,
            0.03,
            f"{self._footer} · page {self.pages}",
            fontsize=7,
            color="#666666",
            parse_math=False,
        )
        self._y = _TOP

    def _flush(self) -> None:
        if self._figure is not None:
            self._pdf.savefig(self._figure)
            self._figure = None

    def text(
        self,
        text: str,
        *,
        size: float = 10,
        bold: bool = False,
        indent: float = 0.0,
        color: str = "black",
        after: float = 0.35,
    ) -> None:
        line_height = size * 1.4 / 72 / _PAGE_HEIGHT
        width = int((_TEXT_WIDTH_PT - indent * _PAGE_WIDTH * 72) / (0.53 * size))
        for line in textwrap.wrap(text, width) or [""]:
            if self._figure is None or self._y - line_height < _BOTTOM:
                self.new_page()
            self._figure.text(
                _LEFT + indent,
                self._y,
                line,
                fontsize=size,
                weight="bold" if bold else "normal",
                color=color,
                va="top",
                parse_math=False,
            )
            self._y -= line_height
        self._y -= after * line_height

    def chart(self, height_in: float, draw: Callable[[Any], None]) -> None:
        height = height_in / _PAGE_HEIGHT
        if self._figure is None or self._y - height < _BOTTOM:
            self.new_page()
        ax = self._figure.add_axes([0.36, self._y - height + 0.01, 0.56, height - 0.015])
        draw(ax)
        self._y -= height + 0.01

    def close(self) -> None:
        self._flush()


def _trend_sentence(trend: Trend) -> str:
    return f"période précédente : {trend.previous}, {trend.label}"


def _pdf_section(writer: _PdfWriter, section: EngagementSection) -> None:
    writer.new_page()
    writer.text(f"Engagement {section.code}", size=11, color=BLUE, after=0.1)
    writer.text(section.label, size=15, bold=True, after=0.8)
    share = (
        f", soit {section.share_of_total}\u00a0% des expériences de la période"
        if section.share_of_total is not None
        else ""
    )
    writer.text(
        f"Expériences rattachées : {section.stories.current}{share} "
        f"({_trend_sentence(section.stories)}).",
        after=1.0,
    )
    writer.text("Principaux irritants", size=12, bold=True)
    if section.irritants:
        writer.chart(_chart_height(section), lambda ax: _draw_irritants(ax, section))
        writer.text(CHART_CAPTION, size=7.5, color="#555555", after=0.6)
        for item in section.irritants:
            writer.text(
                f"{item.label} : {item.trend.current} ({_trend_sentence(item.trend)})",
                size=9,
                indent=0.02,
                after=0.1,
            )
    else:
        writer.text("Aucun irritant relevé sur ces deux périodes.", size=9, indent=0.02)
    writer.text("", after=0.5)
    writer.text("Verbatims représentatifs (anonymisés)", size=12, bold=True)
    if not section.verbatims:
        writer.text("Aucune expérience sur la période.", size=9, indent=0.02)
    for verbatim in section.verbatims:
        writer.text(f"« {verbatim.text} »", size=9, indent=0.02, after=0.1)
        writer.text(_verbatim_meta(verbatim), size=7.5, indent=0.02, color="#555555", after=0.8)
    writer.text("Actions d'amélioration", size=12, bold=True)
    _pdf_actions(writer, section.actions, "Aucune action d'amélioration pour cet engagement.")


def _verbatim_meta(verbatim: Verbatim) -> str:
    parts = [verbatim.reference, french_date(verbatim.day), verbatim.ressenti, verbatim.canal]
    if verbatim.structure:
        parts.append(verbatim.structure)
    parts.append(verbatim.provenance)
    return " · ".join(parts)


def _action_meta(action: ActionLine) -> str:
    parts = []
    if action.owner:
        parts.append(f"responsable : {action.owner}")
    if action.due_date:
        parts.append(f"échéance : {french_date(action.due_date)}")
    if action.structure:
        parts.append(action.structure)
    if action.irritants:
        parts.append("irritants : " + ", ".join(action.irritants))
    return " · ".join(parts)


def _pdf_actions(writer: _PdfWriter, actions: Iterable[ActionLine], empty: str) -> None:
    actions = list(actions)
    if not actions:
        writer.text(empty, size=9, indent=0.02)
        return
    writer.text(_status_summary(Counter(a.status for a in actions)).capitalize() + ".", size=9)
    for action in actions:
        writer.text(f"[{action.status_label}] {action.title}", size=9, bold=True, indent=0.02)
        meta = _action_meta(action)
        if meta:
            writer.text(meta, size=8, indent=0.04, color="#555555", after=0.1)
        if action.done_text:
            writer.text(f"Ce qui a été fait : {action.done_text}", size=8, indent=0.04)
        writer.text("", size=4)


def _draw_engagements(ax: Any, report: CommitteeReport) -> None:
    codes = [section.code for section in report.sections]
    positions = range(len(codes))
    width = 0.38
    ax.bar(
        [p - width / 2 for p in positions],
        [s.stories.current for s in report.sections],
        width=width,
        color=BLUE,
        label="Période",
    )
    ax.bar(
        [p + width / 2 for p in positions],
        [s.stories.previous for s in report.sections],
        width=width,
        color=GREY,
        label="Période précédente",
    )
    ax.set_xticks(list(positions))
    ax.set_xticklabels(codes, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def _period_line(scope: ExportScope) -> str:
    return f"du {french_date(scope.date_from)} au {french_date(scope.date_to)} ({scope.days} jours)"


def render_pdf(report: CommitteeReport, out: IO[bytes] | str | Path) -> int:
    """Write the committee report as a PDF (cover page, then one section per engagement).

    Args:
        report: The report data.
        out: A binary file object or a path.

    Returns:
        The number of pages written.

    """
    from matplotlib.backends.backend_pdf import PdfPages

    scope = report.scope
    footer = f"{REPORT_TITLE} · période {_period_line(scope)}"
    metadata = {
        "Title": f"{REPORT_TITLE} ({french_date(scope.date_from)} – {french_date(scope.date_to)})",
        "Subject": f"Services Publics+ · {report.perimeter_label}",
        "Creator": "feedback_store.report",
        "CreationDate": None,
    }
    with PdfPages(out, metadata=metadata) as pdf:
        writer = _PdfWriter(pdf, footer)
        writer.new_page()
        writer.text(REPORT_TITLE, size=22, bold=True, after=0.3)
        writer.text("Services Publics+ · expériences des usagers", size=12, color=BLUE, after=1.5)
        writer.text(f"Période : {_period_line(scope)}", size=10, after=0.2)
        writer.text(f"Période de comparaison : {_period_line(report.previous_scope)}", after=0.2)
        writer.text(f"Périmètre : {report.perimeter_label}", after=1.2)
        writer.text(
            f"Expériences reçues : {report.stories.current} ({_trend_sentence(report.stories)}).",
            size=11,
            bold=True,
        )
        if report.share_positive is not None:
            previous = (
                f" (période précédente : {report.previous_share_positive}\u00a0%)"
                if report.previous_share_positive is not None
                else ""
            )
            writer.text(f"Part d'expériences positives : {report.share_positive}\u00a0%{previous}.")
        summary = report.action_summary
        writer.text(f"Actions d'amélioration suivies : {summary or 'aucune'}.", after=1.2)
        writer.text("Expériences par engagement", size=12, bold=True)
        writer.chart(2.6, lambda ax: _draw_engagements(ax, report))
        writer.text(CHART_CAPTION, size=7.5, color="#555555", after=0.6)
        for section in report.sections:
            writer.text(
                f"{section.code} · {section.label} : {section.stories.current} "
                f"({_trend_sentence(section.stories)})",
                size=8.5,
                indent=0.02,
                after=0.25,
            )
        writer.text("", after=0.5)
        writer.text(
            "Une expérience peut relever de plusieurs engagements et de plusieurs irritants. "
            "Les verbatims sont anonymisés : les données personnelles sont remplacées par des "
            "marqueurs comme [NOM] ou [TELEPHONE].",
            size=8,
            color="#555555",
        )
        for section in report.sections:
            _pdf_section(writer, section)
        if report.other_actions:
            writer.new_page()
            writer.text("Autres actions d'amélioration", size=15, bold=True, after=0.8)
            _pdf_actions(writer, report.other_actions, "")
        writer.close()
        return writer.pages
