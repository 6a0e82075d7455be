"""Public transparency indicators (engagement 6): volumes, positive share, irritants, actions.

Figures only, never personal data: no story text, reference, partner id or agent name. Any
breakdown count from 1 to 4 stories is suppressed (``count`` is None, shown as "moins de 5"),
and so is the positive share when it would reveal such a count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback_store.improvement_actions import list_actions
from feedback_store.irritant_overview import irritant_overview
from feedback_store.models import Structure
from feedback_store.stories import StoryFilters, aggregate_irritants
from feedback_store.taxonomy import ENGAGEMENTS, IRRITANTS

__all__ = [
    "MIN_CELL",
    "TOP_IRRITANTS",
    "CountCell",
    "PublicAction",
    "PublicIndicators",
    "default_period",
    "public_indicators",
    "public_structures",
    "suppress",
]

MIN_CELL = 5
TOP_IRRITANTS = 5


@dataclass(frozen=True)
class CountCell:
    """One breakdown cell: ``count`` is None when it lies between 1 and ``MIN_CELL - 1``."""

    code: str
    label: str
    count: int | None

    @property
    def suppressed(self) -> bool:
        """Whether the count is hidden (fewer than ``MIN_CELL`` stories)."""
        return self.count is None


@dataclass(frozen=True)
class PublicAction:
    """A realised improvement action as published: title and what was done."""

    title: str
    done_text: str
    structure_name: str | None


@dataclass(frozen=True)
class PublicIndicators:
    """Figures of one period (``date_from`` to ``date_to``, both included) and perimeter.

    Attributes:
        total: Number of stories (None when from 1 to 4).
        positive_share: Share of positive stories (None without stories or when suppressed).
        top_irritants: The most frequent irritants (at most ``TOP_IRRITANTS``), count descending.
        engagements: One cell per engagement, E1 to E8.
        actions_engaged: Actions currently engagées in the perimeter.
        actions_done: Actions réalisées in the perimeter.
        realised: The réalisées actions (newest first), title and what was done.

    """

    date_from: date
    date_to: date
    structure_code: str | None
    structure_name: str | None
    total: int | None
    positive_share: float | None
    top_irritants: tuple[CountCell, ...]
    engagements: tuple[CountCell, ...]
    actions_engaged: int
    actions_done: int
    realised: tuple[PublicAction, ...]


def suppress(count: int) -> int | None:
    """Return ``count``, or None when it is from 1 to ``MIN_CELL - 1`` (re-identification risk)."""
    return None if 0 < count < MIN_CELL else count


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months: from the day after ``today`` one year ago to ``today``."""
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + timedelta(days=1), today


def public_structures(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every structure, sorted by name."""
    rows = session.execute(select(Structure.code, Structure.name).order_by(Structure.name))
    return [(code, name) for code, name in rows]


def public_indicators(
    session: Session, date_from: date, date_to: date, structure_code: str | None = None
) -> PublicIndicators:
    """Compute the public indicators of a period and an optional structure.

    Args:
        session: The caller's session.
        date_from: First day (UTC) of the period.
        date_to: Last day (UTC) of the period, included.
        structure_code: Only this structure (None: all structures).

    Raises:
        ValueError: Inverted period or unknown structure (French messages).

    """
    if date_from > date_to:
        raise ValueError("La date de début doit précéder la date de fin.")
    structure_name = None
    if structure_code is not None:
        structure_name = session.execute(
            select(Structure.name).where(Structure.code == structure_code)
        ).scalar_one_or_none()
        if structure_name is None:
            raise ValueError(f"Structure inconnue : {structure_code}.")
    filters = StoryFilters(
        structure_codes=(structure_code,) if structure_code else None,
        date_from=date_from,
        date_to=date_to + timedelta(days=1),
    )
    overview = irritant_overview(session, filters, by="irritant")
    total, positive = overview.total, overview.positive
    share_hidden = suppress(positive) is None or suppress(total - positive) is None
    top = [
        CountCell(code, IRRITANTS[code].label, suppress(count))
        for code, count in overview.counts
        if code in IRRITANTS and count > 0
    ][:TOP_IRRITANTS]
    by_engagement = {
        row.key: row.count for row in aggregate_irritants(session, filters, by="engagement")
    }
    engagements = tuple(
        CountCell(code, engagement.label, suppress(by_engagement.get(code, 0)))
        for code, engagement in ENGAGEMENTS.items()
    )
    actions = list_actions(session, structure_codes=[structure_code] if structure_code else None)
    done = [action for action in actions if action.status == "realisee"]
    return PublicIndicators(
        date_from=date_from,
        date_to=date_to,
        structure_code=structure_code,
        structure_name=structure_name,
        total=suppress(total),
        positive_share=None if share_hidden or not total else positive / total,
        top_irritants=tuple(top),
        engagements=engagements,
        actions_engaged=sum(action.status == "engagee" for action in actions),
        actions_done=len(done),
        realised=tuple(
            PublicAction(action.title, action.done_text or "", action.structure_name)
            for action in done
        ),
    )
