"""Opening-hours parsing and open-now checks at fixed datetimes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from orientation.opening_hours import (
    WeeklyHours,
    format_minutes,
    get_timezone,
    parse_day_hours,
    timezone_name_for_departement,
    to_local,
)

PARIS = get_timezone("Europe/Paris")
STANDARD = "09:00 - 12:00 / 13:30 - 17:00"


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


# --------------------------------------------------------------------------- one day


def test_standard_two_slots() -> None:
    day = parse_day_hours(STANDARD)
    assert day.status == "open"
    assert day.intervals == ((minutes("09:00"), minutes("12:00")), (minutes("13:30"), 17 * 60))
    assert day.text == STANDARD
    assert day.raw == STANDARD


@pytest.mark.parametrize(
    "raw",
    [
        "9h-12h / 13h30-17h",
        "09h00 à 12h00 et 13h30 à 17h00",
        "9:00-12:00, 13:30-17:00",
        "09.00 - 12.00 ; 13.30 - 17.00",
        "9h – 12h | 13h30 – 17h",
        "  09:00 - 12:00   /  13:30 - 17:00  ",
    ],
)
def test_other_separators_and_time_formats(raw: str) -> None:
    day = parse_day_hours(raw)
    assert day.status == "open", raw
    assert day.text == STANDARD, raw
    assert day.raw == raw.strip()


@pytest.mark.parametrize("raw", ["", None, "   "])
def test_empty_is_closed(raw: str | None) -> None:
    day = parse_day_hours(raw)
    assert day.status == "closed" and day.intervals == () and day.text == ""


@pytest.mark.parametrize("raw", ["Fermé", "fermé", "FERME", "Fermée au public", "-"])
def test_closed_words(raw: str) -> None:
    day = parse_day_hours(raw)
    assert day.status == "closed"
    assert day.raw == raw
    assert day.is_open_at_minute(10 * 60) is False


@pytest.mark.parametrize("raw", ["sur rendez-vous", "Sur RDV uniquement", "Sur rendez vous"])
def test_appointment_only_has_unknown_open_status(raw: str) -> None:
    day = parse_day_hours(raw)
    assert day.status == "by_appointment"
    assert day.appointment_mentioned is True
    assert day.text == raw
    assert day.is_open_at_minute(10 * 60) is None


def test_hours_plus_appointment_note_keep_the_hours() -> None:
    day = parse_day_hours("09:00 - 12:00 sur rendez-vous")
    assert day.status == "open"
    assert day.intervals == ((9 * 60, 12 * 60),)
    assert day.appointment_mentioned is True


@pytest.mark.parametrize(
    "raw", ["le matin", "voir mairie", "???", "25:00 - 26:00", "17:00 - 09:00"]
)
def test_unreadable_text_is_kept_raw(raw: str) -> None:
    day = parse_day_hours(raw)
    assert day.status == "unknown"
    assert day.raw == raw and day.text == raw
    assert day.is_open_at_minute(10 * 60) is None


def test_overlapping_slots_are_merged_and_sorted() -> None:
    day = parse_day_hours("13:30 - 17:00 / 08:30 - 11:30 / 08:30 - 12:00")
    assert day.intervals == ((8 * 60 + 30, 12 * 60), (13 * 60 + 30, 17 * 60))


def test_midnight_end_and_formatting() -> None:
    day = parse_day_hours("18:00 - 24:00")
    assert day.intervals == ((18 * 60, 24 * 60),)
    assert format_minutes(24 * 60) == "24:00"
    assert day.is_open_at_minute(23 * 60 + 59) is True


def test_slot_boundaries() -> None:
    day = parse_day_hours(STANDARD)
    assert day.is_open_at_minute(9 * 60) is True  # opening minute included
    assert day.is_open_at_minute(12 * 60) is False  # closing minute excluded
    assert day.is_open_at_minute(12 * 60 + 30) is False
    assert day.is_open_at_minute(16 * 60 + 59) is True


# --------------------------------------------------------------------------- week


def week() -> WeeklyHours:
    # Monday afternoon only, Tuesday-Friday standard, Saturday morning, no Sunday (as the ANCT).
    return WeeklyHours.from_texts(
        {
            0: "13:30 - 17:00",
            1: STANDARD,
            2: STANDARD,
            3: "Fermé",
            4: STANDARD,
            5: "09:00 - 12:00",
        }
    )


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2024, 9, 2, 10, 0), False),  # Monday morning: afternoon only
        (datetime(2024, 9, 2, 14, 0), True),  # Monday afternoon
        (datetime(2024, 9, 3, 12, 15), False),  # Tuesday lunch break
        (datetime(2024, 9, 3, 16, 59), True),
        (datetime(2024, 9, 5, 10, 0), False),  # Thursday "Fermé"
        (datetime(2024, 9, 7, 11, 0), True),  # Saturday morning
        (datetime(2024, 9, 8, 11, 0), False),  # Sunday: no column, closed
    ],
)
def test_is_open_at(when: datetime, expected: bool) -> None:
    assert week().is_open_at(when.replace(tzinfo=PARIS)) is expected


def test_open_until_and_next_opening() -> None:
    hours = week()
    tuesday_10 = datetime(2024, 9, 3, 10, 0, tzinfo=PARIS)
    assert hours.open_until(tuesday_10) == "12:00"
    tuesday_lunch = datetime(2024, 9, 3, 12, 30, tzinfo=PARIS)
    assert hours.open_until(tuesday_lunch) is None
    assert hours.next_opening(tuesday_lunch) == datetime(2024, 9, 3, 13, 30, tzinfo=PARIS)
    # Saturday evening -> Monday 13:30 (Sunday closed, Monday morning closed).
    saturday = datetime(2024, 9, 7, 18, 0, tzinfo=PARIS)
    assert hours.next_opening(saturday) == datetime(2024, 9, 9, 13, 30, tzinfo=PARIS)
    # Wednesday evening -> Friday 9:00 (Thursday "Fermé").
    wednesday = datetime(2024, 9, 4, 18, 0, tzinfo=PARIS)
    assert hours.next_opening(wednesday) == datetime(2024, 9, 6, 9, 0, tzinfo=PARIS)


def test_week_without_any_hours_is_unknown_not_closed() -> None:
    hours = WeeklyHours.from_texts({i: "" for i in range(6)})
    assert hours.is_known is False
    assert all(d.status == "unknown" for d in hours.days)
    assert hours.is_open_at(datetime(2024, 9, 3, 10, 0, tzinfo=PARIS)) is None
    assert hours.next_opening(datetime(2024, 9, 3, 10, 0, tzinfo=PARIS)) is None


def test_week_with_weird_strings_never_raises() -> None:
    texts = {0: "Fermé", 1: "sur rendez-vous", 2: "??", 3: "", 4: "9h-12h", 5: None}
    hours = WeeklyHours.from_texts(texts)  # type: ignore[arg-type]
    assert [d.status for d in hours.days] == [
        "closed",
        "by_appointment",
        "unknown",
        "closed",
        "open",
        "closed",
        "closed",
    ]
    assert hours.is_known is True


# --------------------------------------------------------------------------- time zones


def test_naive_now_is_paris_wall_time_and_aware_is_converted() -> None:
    naive = datetime(2024, 1, 15, 10, 0)
    assert to_local(naive).utcoffset().total_seconds() == 3600  # CET in winter
    assert to_local(naive).hour == 10
    utc = datetime(2024, 7, 15, 8, 0, tzinfo=timezone.utc)
    local = to_local(utc)
    assert (local.hour, local.utcoffset().total_seconds()) == (10, 7200)  # CEST in summer


def test_overseas_zones() -> None:
    assert timezone_name_for_departement("973") == "America/Cayenne"
    assert timezone_name_for_departement("974") == "Indian/Reunion"
    assert timezone_name_for_departement("05") == "Europe/Paris"
    assert timezone_name_for_departement("2A") == "Europe/Paris"
    noon_paris = datetime(2024, 9, 3, 12, 0, tzinfo=PARIS)
    assert to_local(noon_paris, "America/Cayenne").hour == 7
    assert to_local(noon_paris, "Indian/Reunion").hour == 14


def test_now_defaults_to_current_time() -> None:
    local = to_local(None)
    assert local.tzinfo is not None
    assert abs((local - datetime.now(timezone.utc)).total_seconds()) < 60
