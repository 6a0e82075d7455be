"""Opening hours of France services points: defensive parsing and open-now checks.

The ANCT file gives one text per weekday (Monday to Saturday), normally
``"09:00 - 12:00 / 13:30 - 17:00"``. Parsing never raises: unreadable text is kept in
``DayHours.raw`` with status ``"unknown"``. Times are local to the point (Europe/Paris in
metropolitan France, the local zone overseas).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

DayStatus = Literal["open", "closed", "by_appointment", "unknown"]

PARIS_TZ_NAME = "Europe/Paris"
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

# IANA zone of each overseas département / collectivité (INSEE code prefix); default Paris.
_OVERSEAS_TZ = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "975": "America/Miquelon",
    "976": "Indian/Mayotte",
    "977": "America/St_Barthelemy",
    "978": "America/Marigot",
    "986": "Pacific/Wallis",
    "987": "Pacific/Tahiti",
    "988": "Pacific/Noumea",
}

_TIME = r"(?P<{n}h>[01]?\d|2[0-4])\s*(?:[h:.]\s*(?P<{n}m>[0-5]\d)?)?"
_RANGE_RE = re.compile(
    _TIME.format(n="s") + r"\s*(?:-|–|—|à|a|au|>|jusqu'?\s*à)\s*" + _TIME.format(n="e") + r"(?!\d)"
)
_CLOSED_RE = re.compile(r"\b(ferme|fermee|fermeture|closed|non ouvert)\b")
_APPOINTMENT_RE = re.compile(r"\b(rendez[\s-]*vous|rdv|sur demande)\b")


@functools.lru_cache(maxsize=32)
def get_timezone(name: str) -> tzinfo:
    """Return the IANA time zone ``name``, from zoneinfo or, failing that, from pytz.

    Raises:
        KeyError: If neither the system tz database nor pytz knows the zone.

    """
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(name)
        except ZoneInfoNotFoundError:
            pass
    except ImportError:  # pragma: no cover - zoneinfo is in the 3.9+ stdlib
        pass
    import pytz

    try:
        return pytz.timezone(name)
    except pytz.UnknownTimeZoneError as exc:
        raise KeyError(name) from exc


def timezone_name_for_departement(code: str) -> str:
    """Return the IANA zone name for a département code (``"05"``, ``"2A"``, ``"973"``)."""
    return _OVERSEAS_TZ.get((code or "")[:3], PARIS_TZ_NAME)


def to_local(now: datetime | None, tz_name: str = PARIS_TZ_NAME) -> datetime:
    """Convert ``now`` (default: the current instant) to wall time in ``tz_name``.

    A naive ``now`` is read as Europe/Paris wall time (the bot's reference clock).
    """
    tz = get_timezone(tz_name)
    if now is None:
        return datetime.now(tz)
    if now.tzinfo is None or now.utcoffset() is None:
        now = now.replace(tzinfo=get_timezone(PARIS_TZ_NAME))
    return now.astimezone(tz)


def _fold(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def _minutes(hour: str, minute: str | None) -> int:
    return int(hour) * 60 + (int(minute) if minute else 0)


def format_minutes(minutes: int) -> str:
    """Format minutes since midnight as ``HH:MM`` (1440 gives ``24:00``)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class DayHours:
    """Opening hours of one weekday.

    Attributes:
        raw: The text as found in the source ("" when none).
        intervals: Sorted, merged ``(start, end)`` pairs in minutes since local midnight.
        status: ``open`` (intervals known), ``closed``, ``by_appointment`` (no fixed hours),
            or ``unknown`` (text present but unreadable, or no schedule at all).
        appointment_mentioned: The text mentions an appointment (rendez-vous, RDV).

    """

    raw: str
    intervals: tuple[tuple[int, int], ...] = ()
    status: DayStatus = "unknown"
    appointment_mentioned: bool = False

    @property
    def text(self) -> str:
        """Canonical ``"09:00 - 12:00 / 13:30 - 17:00"`` text, or the raw text if unparsed."""
        if self.intervals:
            return " / ".join(
                f"{format_minutes(s)} - {format_minutes(e)}" for s, e in self.intervals
            )
        if self.status == "closed":
            return ""
        return self.raw

    def is_open_at_minute(self, minute: int) -> bool | None:
        """Whether the point is open at ``minute`` past midnight (None when unknown)."""
        if self.status == "open":
            return any(start <= minute < end for start, end in self.intervals)
        if self.status == "closed":
            return False
        return None


def _merge(intervals: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


@functools.lru_cache(maxsize=4096)
def parse_day_hours(raw: str | None) -> DayHours:
    """Parse one weekday text; never raises (results are cached: the same texts recur).

    Accepts ``HH:MM``, ``HHhMM``, ``HHh``, ``H.MM`` times, ``-``/``à`` range marks and any
    separator between ranges (``/``, ``,``, ``;``, ``et``). Empty text gives ``closed``
    (the caller decides whether the whole week is unknown).
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return DayHours(raw="", status="closed")
    folded = _fold(text)
    appointment = bool(_APPOINTMENT_RE.search(folded))
    intervals: list[tuple[int, int]] = []
    for match in _RANGE_RE.finditer(folded):
        start = _minutes(match["sh"], match["sm"])
        end = _minutes(match["eh"], match["em"])
        if 0 <= start < end <= 24 * 60:
            intervals.append((start, end))
    if intervals:
        return DayHours(
            raw=text, intervals=_merge(intervals), status="open", appointment_mentioned=appointment
        )
    if _CLOSED_RE.search(folded) or folded in {"-", "--", "/", "x", "0"}:
        return DayHours(raw=text, status="closed", appointment_mentioned=appointment)
    if appointment:
        return DayHours(raw=text, status="by_appointment", appointment_mentioned=True)
    return DayHours(raw=text, status="unknown")


@dataclass(frozen=True)
class WeeklyHours:
    """Opening hours for Monday (index 0) to Sunday (index 6)."""

    days: tuple[DayHours, ...]

    @classmethod
    def from_texts(cls, texts: dict[int, str | None]) -> WeeklyHours:
        """Build from ``{weekday_index: raw_text}``; missing weekdays count as empty.

        When every day is empty the schedule is unknown (not "closed all week").
        """
        days = [parse_day_hours(texts.get(i)) for i in range(7)]
        if all(not d.raw for d in days):
            days = [DayHours(raw="", status="unknown") for _ in range(7)]
        return cls(days=tuple(days))

    @property
    def is_known(self) -> bool:
        """Whether at least one day has a readable status other than unknown."""
        return any(d.status != "unknown" for d in self.days)

    def for_date(self, day: date) -> DayHours:
        """Hours for a calendar date (public holidays are not known to the data)."""
        return self.days[day.weekday()]

    def is_open_at(self, local_dt: datetime) -> bool | None:
        """Whether open at a local wall-clock datetime; None when it cannot be told."""
        day = self.for_date(local_dt.date())
        return day.is_open_at_minute(local_dt.hour * 60 + local_dt.minute)

    def open_until(self, local_dt: datetime) -> str | None:
        """``HH:MM`` closing time of the interval containing ``local_dt``, if open then."""
        minute = local_dt.hour * 60 + local_dt.minute
        for start, end in self.for_date(local_dt.date()).intervals:
            if start <= minute < end:
                return format_minutes(end)
        return None

    def next_opening(self, local_dt: datetime, horizon_days: int = 7) -> datetime | None:
        """Start of the next opening interval strictly after ``local_dt`` (same tzinfo)."""
        midnight = local_dt.replace(hour=0, minute=0, second=0, microsecond=0)
        for offset in range(horizon_days + 1):
            day_start = midnight + timedelta(days=offset)
            for start, _end in self.for_date(day_start.date()).intervals:
                candidate = day_start + timedelta(minutes=start)
                if candidate > local_dt:
                    return candidate
        return None
