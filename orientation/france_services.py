"""Directory of France services points (ANCT list) and nearest-point search."""

from __future__ import annotations

import csv
import functools
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from orientation.geo import PointIndex, is_valid_coordinate
from orientation.opening_hours import (
    WEEKDAYS,
    WeeklyHours,
    timezone_name_for_departement,
    to_local,
)

_LOAD_LOCK = threading.Lock()
FRANCE_SERVICES_CSV = (
    Path(__file__).parent / "data" / "france_services" / "france_services_structures_20240801.csv"
)

# ``format_fs`` values that mean the point moves (bus, pirogue, itinerant counter).
ITINERANT_FORMATS = frozenset({"Itinérante", "Bus_équivalent"})
_ITINERANT_NAME_RE = re.compile(r"\bbus\b|itin[ée]ran", re.IGNORECASE)
_HOUR_COLUMNS = {i: f"h_{day}" for i, day in enumerate(WEEKDAYS[:6])}  # no Sunday column


@dataclass(frozen=True)
class FranceService:
    """One France services structure as listed by the ANCT.

    Attributes:
        id: ``id_fs`` of the source file.
        name: Structure name (``lib_fs``).
        street: Street line, with the complement when given.
        postal_code: Postal code.
        commune: Commune name.
        insee_code: INSEE code of the commune.
        departement_code: Département code (``"05"``, ``"973"``).
        lat: Latitude, or None when missing/invalid in the source.
        lon: Longitude, or None.
        phone: Phone number as written in the source ("" if none).
        email: Contact e-mail ("" if none).
        hours: Parsed weekly opening hours.
        appointment_required: ``prise_rdv`` (True for "Oui", False for "Non", None otherwise).
        is_itinerant: Bus, pirogue or itinerant counter (from ``format_fs`` and the name).
        format: Raw ``format_fs`` value (``Fixe``, ``Multisites``, ``Bus_équivalent``, …).
        structure_type: ``Principal`` or ``Antenne``.
        comment: Free text from the source (itinerant schedules, appointment notes).

    """

    id: str
    name: str
    street: str
    postal_code: str
    commune: str
    insee_code: str
    departement_code: str
    lat: float | None
    lon: float | None
    phone: str
    email: str
    hours: WeeklyHours
    appointment_required: bool | None
    is_itinerant: bool
    format: str
    structure_type: str
    comment: str

    @property
    def address(self) -> str:
        """One-line postal address: ``"5-9 Rue des Papetiers, 01200 Valserhône"``."""
        town = " ".join(p for p in (self.postal_code, self.commune) if p)
        return ", ".join(p for p in (self.street, town) if p)

    @property
    def timezone_name(self) -> str:
        """IANA zone in which the opening hours are expressed."""
        return timezone_name_for_departement(self.departement_code)


@dataclass(frozen=True)
class NearbyService:
    """A France services point with its distance and today's opening status.

    Attributes:
        service: The point.
        distance_km: Great-circle distance from the query point, rounded to 0.1 km.
        today_hours: Today's hours as text (``"09:00 - 12:00 / 13:30 - 17:00"``), the raw text
            when unreadable, "" when closed today or not given.
        today_status: ``open`` (hours listed today), ``closed``, ``by_appointment``, ``unknown``.
        is_open_now: True/False, or None when the data cannot tell (no hours, "sur rendez-vous").
        open_until: Closing time of the current slot (``"17:00"``) when open now.
        next_opening: Next opening (local time of the point) when closed now, within a week.

    """

    service: FranceService
    distance_km: float
    today_hours: str
    today_status: str
    is_open_now: bool | None
    open_until: str | None
    next_opening: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-friendly dict for Rasa slots / response variables."""
        s = self.service
        return {
            "id": s.id,
            "name": s.name,
            "street": s.street,
            "postal_code": s.postal_code,
            "commune": s.commune,
            "address": s.address,
            "departement_code": s.departement_code,
            "lat": s.lat,
            "lon": s.lon,
            "distance_km": self.distance_km,
            "today_hours": self.today_hours,
            "today_status": self.today_status,
            "is_open_now": self.is_open_now,
            "open_until": self.open_until,
            "next_opening": self.next_opening.isoformat() if self.next_opening else None,
            "appointment_required": s.appointment_required,
            "phone": s.phone,
            "email": s.email,
            "is_itinerant": s.is_itinerant,
            "format": s.format,
            "comment": s.comment,
        }


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def _parse_float(value: str | None) -> float | None:
    try:
        return float((value or "").strip().replace(",", "."))
    except ValueError:
        return None


def _parse_yes_no(value: str | None) -> bool | None:
    folded = _clean(value).lower()
    if folded in {"oui", "o", "yes", "true", "1"}:
        return True
    if folded in {"non", "n", "no", "false", "0"}:
        return False
    return None


def service_from_row(row: dict[str, str]) -> FranceService:
    """Build a :class:`FranceService` from one CSV row; tolerant of missing or odd values."""
    lat, lon = _parse_float(row.get("latitude")), _parse_float(row.get("longitude"))
    if not is_valid_coordinate(lat, lon):
        lat = lon = None
    street = ", ".join(
        p for p in (_clean(row.get("adresse")), _clean(row.get("complement_adresse"))) if p
    )
    name = _clean(row.get("lib_fs"))
    fmt = _clean(row.get("format_fs"))
    return FranceService(
        id=_clean(row.get("id_fs")),
        name=name,
        street=street,
        postal_code=_clean(row.get("code_postal")),
        commune=_clean(row.get("lib_com")),
        insee_code=_clean(row.get("insee_com")),
        departement_code=_clean(row.get("insee_dep")),
        lat=lat,
        lon=lon,
        phone=_clean(row.get("telephone")),
        email=_clean(row.get("mail")),
        hours=WeeklyHours.from_texts({i: row.get(col) for i, col in _HOUR_COLUMNS.items()}),
        appointment_required=_parse_yes_no(row.get("prise_rdv")),
        is_itinerant=fmt in ITINERANT_FORMATS or bool(_ITINERANT_NAME_RE.search(name)),
        format=fmt,
        structure_type=_clean(row.get("type_fs")),
        comment=(row.get("commentaire") or "").strip(),
    )


class FranceServicesDirectory:
    """All France services points, with a nearest-point index over those having coordinates."""

    def __init__(self, services: list[FranceService]) -> None:
        """Index ``services`` (points without valid coordinates are listed but not searchable)."""
        self.services = tuple(services)
        self._by_id = {s.id: s for s in self.services}
        self._located = [s for s in self.services if s.lat is not None and s.lon is not None]
        self._index = PointIndex(
            [float(s.lat) for s in self._located if s.lat is not None],
            [float(s.lon) for s in self._located if s.lon is not None],
        )

    @classmethod
    def from_csv(cls, path: Path | str = FRANCE_SERVICES_CSV) -> FranceServicesDirectory:
        """Load the ANCT CSV (see ``data/france_services/README.md``)."""
        with open(path, encoding="utf-8", newline="") as fh:
            services = [service_from_row(row) for row in csv.DictReader(fh)]
        return cls([s for s in services if s.name])

    def __len__(self) -> int:
        return len(self.services)

    @property
    def located_count(self) -> int:
        """Number of points that have usable coordinates."""
        return len(self._located)

    def get(self, service_id: str) -> FranceService | None:
        """Return a point by its ``id_fs``."""
        return self._by_id.get(service_id)

    def nearest(
        self,
        lat: float,
        lon: float,
        k: int = 3,
        now: datetime | None = None,
        *,
        max_distance_km: float | None = None,
        include_itinerant: bool = True,
    ) -> list[NearbyService]:
        """Return the ``k`` nearest points, nearest first, with today's hours and open-now.

        Args:
            lat: Latitude of the usager's place (WGS84 degrees).
            lon: Longitude.
            k: How many points.
            now: Reference instant; aware datetimes are converted to each point's zone, naive
                ones are read as Europe/Paris wall time. Defaults to the current time.
            max_distance_km: Leave out points farther than this.
            include_itinerant: Set False to leave out buses and itinerant points.

        Raises:
            ValueError: If ``lat``/``lon`` are not valid coordinates.

        """
        if k <= 0:
            return []
        if now is None:
            now = datetime.now(timezone.utc)
        want = k if include_itinerant else len(self._located)
        hits = self._index.nearest(lat, lon, want, max_distance_km)
        results: list[NearbyService] = []
        for position, distance in hits:
            service = self._located[position]
            if not include_itinerant and service.is_itinerant:
                continue
            results.append(describe(service, distance, now))
            if len(results) == k:
                break
        return results

    def nearest_to_place(
        self, place: Any, k: int = 3, now: datetime | None = None, **options: Any
    ) -> list[NearbyService]:
        """Run :meth:`nearest` from any object with ``lat`` and ``lon`` (e.g. a ``Place``)."""
        return self.nearest(place.lat, place.lon, k=k, now=now, **options)


def describe(
    service: FranceService, distance_km: float, now: datetime | None = None
) -> NearbyService:
    """Attach the distance and the opening status at ``now`` to a point.

    See :meth:`FranceServicesDirectory.nearest` for how ``now`` is read.

    """
    local = to_local(now, service.timezone_name)
    today = service.hours.for_date(local.date())
    is_open = service.hours.is_open_at(local)
    return NearbyService(
        service=service,
        distance_km=round(distance_km, 1),
        today_hours=today.text,
        today_status=today.status,
        is_open_now=is_open,
        open_until=service.hours.open_until(local) if is_open else None,
        next_opening=service.hours.next_opening(local) if is_open is False else None,
    )


@functools.lru_cache(maxsize=1)
def _load_directory() -> FranceServicesDirectory:
    return FranceServicesDirectory.from_csv(FRANCE_SERVICES_CSV)


def get_directory() -> FranceServicesDirectory:
    """Return the process-wide directory, loading the ANCT file on first call (thread-safe)."""
    with _LOAD_LOCK:
        return _load_directory()
