"""Inline SVG bar charts of the dashboard, drawn server-side (no JavaScript chart library).

The charts are decorative duplicates of a data table shown next to them: the SVG is hidden from
assistive technologies and its bar links are out of the tab order, the table carries the
accessible names and the keyboard-reachable links.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = ["Bar", "column_chart_svg", "horizontal_bar_chart_svg"]

BAR_COLOR = "#000091"  # DSFR blue-france-sun-113
TEXT_COLOR = "#161616"  # DSFR grey-50
AXIS_COLOR = "#929292"
FONT = 'font-family="Marianne, arial, sans-serif"'


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value and the address it links to (None: no link)."""

    label: str
    value: int
    href: str | None = None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _linked(bar: Bar, inner: str) -> str:
    if bar.href is None:
        return inner
    return f'<a href="{escape(bar.href)}" tabindex="-1">{inner}</a>'


def _open_svg(width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dashboard-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-hidden="true" focusable="false" {FONT}>'
    )


def horizontal_bar_chart_svg(
    bars: Sequence[Bar], *, width: int = 760, label_width: int = 340, row_height: int = 30
) -> Markup:
    """Horizontal bars, one row per item, labels on the left and values at the bar ends."""
    if not bars:
        return Markup("")
    peak = max(bar.value for bar in bars) or 1
    room = width - label_width - 60
    height = row_height * len(bars) + 10
    parts = [_open_svg(width, height)]
    for index, bar in enumerate(bars):
        top = 5 + index * row_height
        middle = top + row_height / 2
        length = max(round(room * bar.value / peak), 1 if bar.value else 0)
        label = escape(_shorten(bar.label, 42))
        parts.append(
            _linked(
                bar,
                f'<g><text x="{label_width - 8}" y="{middle:.1f}" text-anchor="end" '
                f'dominant-baseline="middle" font-size="12" fill="{TEXT_COLOR}">{label}</text>'
                f'<rect x="{label_width}" y="{top + 5}" width="{length}" '
                f'height="{row_height - 10}" fill="{BAR_COLOR}"/>'
                f'<text x="{label_width + length + 6}" y="{middle:.1f}" '
                f'dominant-baseline="middle" font-size="13" fill="{TEXT_COLOR}">'
                f"{bar.value}</text></g>",
            )
        )
    parts.append(
        f'<line x1="{label_width}" y1="3" x2="{label_width}" y2="{height - 3}" '
        f'stroke="{AXIS_COLOR}"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above


def column_chart_svg(bars: Sequence[Bar], *, height: int = 220, column_width: int = 84) -> Markup:
    """Vertical columns (e.g. one per month), labels below and values above each column."""
    if not bars:
        return Markup("")
    peak = max(bar.value for bar in bars) or 1
    top_margin, bottom_margin = 24, 30
    room = height - top_margin - bottom_margin
    width = max(column_width * len(bars) + 20, 200)
    baseline = height - bottom_margin
    parts = [_open_svg(width, height)]
    for index, bar in enumerate(bars):
        left = 10 + index * column_width
        centre = left + column_width / 2
        size = max(round(room * bar.value / peak), 1 if bar.value else 0)
        parts.append(
            _linked(
                bar,
                f'<g><rect x="{left + 8}" y="{baseline - size}" width="{column_width - 16}" '
                f'height="{size}" fill="{BAR_COLOR}"/>'
                f'<text x="{centre:.1f}" y="{baseline - size - 6}" text-anchor="middle" '
                f'font-size="13" fill="{TEXT_COLOR}">{bar.value}</text>'
                f'<text x="{centre:.1f}" y="{baseline + 18}" text-anchor="middle" '
                f'font-size="12" fill="{TEXT_COLOR}">{escape(_shorten(bar.label, 12))}</text></g>',
            )
        )
    parts.append(
        f'<line x1="6" y1="{baseline}" x2="{width - 6}" y2="{baseline}" '
        f'stroke="{AXIS_COLOR}"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every label is escaped above
