"""Irritant overview: counts by a key, share of positive stories, and the trend per period.

Built on :func:`feedback_store.stories.aggregate_irritants`; used by the JSON API, the dashboard
and the committee report. Takes the caller's session, returns plain records.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy.orm import Session

from feedback_store.stories import StoryFilters, aggregate_irritants

__all__ = ["Overview", "PeriodOverview", "irritant_overview", "period_end"]


@dataclass(frozen=True)
class PeriodOverview:
    """Counts of one week or month: ``start`` included, ``end`` excluded (UTC days)."""

    start: date
    end: date
    total: int
    positive: int
    counts: tuple[tuple[str | None, int], ...]

    @property
    def positive_share(self) -> float | None:
        """Share of positive stories (None without stories)."""
        return self.positive / self.total if self.total else None


@dataclass(frozen=True)
class Overview:
    """Counts of matching stories by ``by``, with the positive share and an optional trend.

    Attributes:
        by: The aggregation key (irritant, engagement, tag, structure, canal, ressenti…).
        total: Number of matching stories.
        positive: Number of matching stories whose ressenti is ``positif``.
        counts: (key, number of stories) sorted by count descending; with label keys a story
            counts once per code it carries, so counts may add up to more than ``total``.
        period: ``week``, ``month`` or None.
        trend: One entry per period from the first to the last with stories (gaps filled).

    """

    by: str
    total: int
    positive: int
    counts: tuple[tuple[str | None, int], ...]
    period: str | None = None
    trend: tuple[PeriodOverview, ...] = ()

    @property
    def positive_share(self) -> float | None:
        """Share of positive stories (None without stories)."""
        return self.positive / self.total if self.total else None


def period_end(start: date, period: str) -> date:
    """First day after the week (Monday start) or month beginning at ``start``."""
    if period == "week":
        return start + timedelta(days=7)
    if start.month == 12:
        return date(start.year + 1, 1, 1)
    return date(start.year, start.month + 1, 1)


def _key_order(key: str | None) -> tuple[bool, str]:
    """Same tie order as :func:`aggregate_irritants`: by key, None last."""
    return key is None, key or ""


def irritant_overview(
    session: Session, filters: StoryFilters, *, by: str = "irritant", period: str | None = None
) -> Overview:
    """Count matching stories by ``by`` (and per ``period``), with the share of positive ones.

    Raises:
        ValueError: Unknown ``by`` or ``period``; unknown codes in ``filters``.

    """
    if period is None:
        counts = aggregate_irritants(session, filters, by=by)
        by_ressenti = {
            row.key: row.count for row in aggregate_irritants(session, filters, by="ressenti")
        }
        total = sum(by_ressenti.values())
        return Overview(
            by=by,
            total=total,
            positive=by_ressenti.get("positif", 0),
            counts=tuple((row.key, row.count) for row in counts),
        )
    # A story lies in exactly one period: overall counts are the sums of the per-period ones,
    # so two grouped queries give both the totals and the trend.
    totals: dict[date, int] = defaultdict(int)
    positives: dict[date, int] = defaultdict(int)
    for row in aggregate_irritants(session, filters, by="ressenti", period=period):
        totals[row.period] += row.count
        if row.key == "positif":
            positives[row.period] += row.count
    keyed: dict[date, list[tuple[str | None, int]]] = defaultdict(list)
    overall: dict[str | None, int] = defaultdict(int)
    for row in aggregate_irritants(session, filters, by=by, period=period):
        keyed[row.period].append((row.key, row.count))
        overall[row.key] += row.count
    overview = Overview(
        by=by,
        total=sum(totals.values()),
        positive=sum(positives.values()),
        counts=tuple(sorted(overall.items(), key=lambda item: (-item[1], *_key_order(item[0])))),
        period=period,
    )
    trend = []
    if totals:
        start, last = min(totals), max(totals)
        while start <= last:
            end = period_end(start, period)
            trend.append(
                PeriodOverview(
                    start=start,
                    end=end,
                    total=totals.get(start, 0),
                    positive=positives.get(start, 0),
                    counts=tuple(keyed.get(start, ())),
                )
            )
            start = end
    return replace(overview, trend=tuple(trend))
