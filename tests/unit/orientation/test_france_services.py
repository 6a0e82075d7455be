"""France services directory: loading, nearest search, opening status (real ANCT file)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone

import numpy as np
import pytest

from orientation.france_services import (
    FranceServicesDirectory,
    get_directory,
    service_from_row,
)
from orientation.geo import PointIndex, haversine_km, haversine_km_many
from orientation.opening_hours import get_timezone
from orientation.places import get_place_resolver

PARIS = get_timezone("Europe/Paris")
TUESDAY_10_15 = datetime(2024, 9, 3, 10, 15, tzinfo=PARIS)
TUESDAY_15_00 = datetime(2024, 9, 3, 15, 0, tzinfo=PARIS)


@pytest.fixture(scope="module")
def directory() -> FranceServicesDirectory:
    return get_directory()


def row(**overrides: str) -> dict[str, str]:
    base = {
        "id_fs": "9001",
        "insee_dep": "05",
        "lib_fs": "France services de test",
        "adresse": "1 Place de la Mairie",
        "complement_adresse": "",
        "insee_com": "05061",
        "code_postal": "05000",
        "lib_com": "Gap",
        "latitude": "44.56",
        "longitude": "6.08",
        "mail": "test@example.org",
        "telephone": "04 00 00 00 00",
        "h_lundi": "09:00 - 12:00",
        "h_mardi": "",
        "h_mercredi": "",
        "h_jeudi": "",
        "h_vendredi": "",
        "h_samedi": "",
        "prise_rdv": "Non",
        "commentaire": "",
        "type_fs": "Principal",
        "format_fs": "Fixe",
        "groupe_fs": "",
        "labellisation_fs": "",
    }
    base.update(overrides)
    return base


# --------------------------------------------------------------------------- loading


def test_loads_the_whole_anct_list(directory: FranceServicesDirectory) -> None:
    assert len(directory) == 2845
    assert directory.located_count == 2845
    assert get_directory() is directory


def test_itinerant_flag_follows_format_and_name(directory: FranceServicesDirectory) -> None:
    formats = {s.format for s in directory.services}
    assert formats == {"Fixe", "Multisites", "Bus_équivalent", "Fixe_antenne(s)", "Itinérante"}
    for s in directory.services:
        if s.format in {"Bus_équivalent", "Itinérante"}:
            assert s.is_itinerant, s.name
    pirogue = next(s for s in directory.services if s.name.startswith("Pirogue"))
    assert pirogue.is_itinerant
    # "Aubusson" contains "bus" but is a fixed point.
    aubusson = next(s for s in directory.services if s.name == "France services Aubusson")
    assert not aubusson.is_itinerant


def test_row_with_missing_or_odd_values_never_crashes() -> None:
    s = service_from_row(
        row(
            latitude="",
            longitude="abc",
            prise_rdv="",
            h_lundi="Fermé",
            h_mardi="sur rendez-vous",
            h_mercredi="9h-12h",
            telephone="",
            complement_adresse="Bâtiment B",
        )
    )
    assert s.lat is None and s.lon is None
    assert s.appointment_required is None
    assert [d.status for d in s.hours.days[:3]] == ["closed", "by_appointment", "open"]
    assert s.address == "1 Place de la Mairie, Bâtiment B, 05000 Gap"
    assert s.phone == ""


def test_points_without_coordinates_are_listed_but_not_searched() -> None:
    services = [
        service_from_row(row(id_fs="1", latitude="", longitude="")),
        service_from_row(row(id_fs="2", latitude="0", longitude="0")),
        service_from_row(row(id_fs="3", latitude="44.56", longitude="6.08")),
    ]
    directory = FranceServicesDirectory(services)
    assert len(directory) == 3 and directory.located_count == 1
    hits = directory.nearest(44.9, 6.6, k=3, now=TUESDAY_10_15)
    assert [h.service.id for h in hits] == ["3"]
    assert directory.get("1") is services[0]


def test_empty_directory_returns_nothing() -> None:
    assert FranceServicesDirectory([]).nearest(45.0, 5.0) == []


# --------------------------------------------------------------------------- nearest


def test_briancon_nearest_points(directory: FranceServicesDirectory) -> None:
    place = get_place_resolver().resolve("Briançon").place
    assert place is not None
    hits = directory.nearest(place.lat, place.lon, k=3, now=TUESDAY_10_15)
    assert len(hits) == 3
    first = hits[0]
    assert first.service.name == "France services Briançonnais"
    assert first.service.commune == "Briançon"
    assert 0 < first.distance_km < 3
    assert [h.distance_km for h in hits] == sorted(h.distance_km for h in hits)
    assert all(h.service.departement_code == "05" for h in hits)
    assert all(h.distance_km < 40 for h in hits)
    for h in hits:
        assert h.distance_km == round(h.distance_km, 1)
        expected = haversine_km(place.lat, place.lon, h.service.lat, h.service.lon)
        assert abs(h.distance_km - expected) <= 0.051
        assert h.service.phone and h.service.street and h.service.postal_code.startswith("05")


def test_briancon_opening_status_on_a_fixed_tuesday(directory: FranceServicesDirectory) -> None:
    place = get_place_resolver().resolve("Briançon").place
    assert place is not None
    morning = directory.nearest(place.lat, place.lon, k=1, now=TUESDAY_10_15)[0]
    tuesday = morning.service.hours.days[1]
    assert morning.today_hours == tuesday.text == "14:00 - 16:30"
    assert morning.today_status == "open"
    assert morning.is_open_now is False
    assert morning.next_opening == datetime(2024, 9, 3, 14, 0, tzinfo=PARIS)
    assert morning.service.appointment_required is True
    afternoon = directory.nearest(place.lat, place.lon, k=1, now=TUESDAY_15_00)[0]
    assert afternoon.is_open_now is True
    assert afternoon.open_until == "16:30"
    assert afternoon.next_opening is None
    sunday = directory.nearest(place.lat, place.lon, k=1, now=datetime(2024, 9, 8, 11, 0))[0]
    assert sunday.is_open_now is False and sunday.today_hours == ""
    assert sunday.next_opening == datetime(2024, 9, 9, 9, 0, tzinfo=PARIS)


def test_paris_15_nearest(directory: FranceServicesDirectory) -> None:
    place = get_place_resolver().resolve("75015").place
    assert place is not None
    hits = directory.nearest(place.lat, place.lon, k=3, now=TUESDAY_10_15)
    assert hits[0].service.postal_code == "75015"
    assert hits[0].distance_km < 2


def test_overseas_hours_use_the_local_zone(directory: FranceServicesDirectory) -> None:
    place = get_place_resolver().resolve("Cayenne").place
    assert place is not None
    # 12:00 in Paris is 07:00 in Cayenne: the Cayenne point (08:00 - 13:00) is still closed.
    noon_paris = datetime(2024, 9, 3, 12, 0, tzinfo=PARIS)
    hits = directory.nearest(place.lat, place.lon, k=3, now=noon_paris)
    cayenne = next(h for h in hits if h.service.name == "France services de Cayenne")
    assert cayenne.distance_km < 3
    assert cayenne.today_hours == "08:00 - 13:00"
    assert cayenne.is_open_now is False
    assert cayenne.next_opening is not None
    assert cayenne.next_opening.utcoffset().total_seconds() == -3 * 3600
    assert cayenne.next_opening.hour == 8
    # 15:00 in Paris is 10:00 in Cayenne: open.
    later = directory.nearest(place.lat, place.lon, k=3, now=datetime(2024, 9, 3, 15, 0))
    assert next(h for h in later if h.service.id == cayenne.service.id).is_open_now is True


def test_filters(directory: FranceServicesDirectory) -> None:
    place = get_place_resolver().resolve("Saint-Denis 97400").place
    assert place is not None
    all_hits = directory.nearest(place.lat, place.lon, k=10, now=TUESDAY_10_15)
    assert any(h.service.is_itinerant for h in all_hits)
    fixed = directory.nearest(place.lat, place.lon, k=3, now=TUESDAY_10_15, include_itinerant=False)
    assert len(fixed) == 3 and not any(h.service.is_itinerant for h in fixed)
    near = directory.nearest(place.lat, place.lon, k=50, max_distance_km=5, now=TUESDAY_10_15)
    assert near and all(h.distance_km <= 5 for h in near)
    assert directory.nearest(place.lat, place.lon, k=0) == []


def test_invalid_coordinates_raise(directory: FranceServicesDirectory) -> None:
    with pytest.raises(ValueError):
        directory.nearest(float("nan"), 2.0)
    with pytest.raises(ValueError):
        directory.nearest(95.0, 2.0)


def test_nearest_matches_brute_force(directory: FranceServicesDirectory) -> None:
    rng = random.Random(7)
    located = [s for s in directory.services if s.lat is not None]
    lats = np.array([s.lat for s in located])
    lons = np.array([s.lon for s in located])
    for _ in range(50):
        lat, lon = rng.uniform(42.3, 51.0), rng.uniform(-4.7, 8.2)
        expected = np.sort(haversine_km_many(lat, lon, lats, lons))[:3]
        got = [h.distance_km for h in directory.nearest(lat, lon, k=3, now=TUESDAY_10_15)]
        assert got == [round(float(d), 1) for d in expected]


def test_point_index_and_haversine_agree() -> None:
    index = PointIndex([48.8566, 45.764, 43.2965], [2.3522, 4.8357, 5.3698])
    hits = index.nearest(45.75, 4.85, k=2)
    assert [i for i, _ in hits] == [1, 2]
    assert abs(hits[0][1] - haversine_km(45.75, 4.85, 45.764, 4.8357)) < 1e-6
    # Paris - Marseille is about 660 km.
    assert 655 < haversine_km(48.8566, 2.3522, 43.2965, 5.3698) < 665
    assert index.nearest(45.75, 4.85, k=10)[-1][0] == 0


def test_nearby_service_serialises_to_json(directory: FranceServicesDirectory) -> None:
    hit = directory.nearest(44.8986, 6.6388, k=1, now=TUESDAY_10_15)[0]
    data = json.loads(json.dumps(hit.to_dict()))
    assert data["name"] == "France services Briançonnais"
    assert data["address"] == hit.service.address
    assert data["next_opening"] == "2024-09-03T14:00:00+02:00"
    assert set(data) >= {
        "distance_km",
        "today_hours",
        "is_open_now",
        "appointment_required",
        "phone",
        "email",
        "is_itinerant",
    }


def test_now_in_utc_is_converted(directory: FranceServicesDirectory) -> None:
    utc = datetime(2024, 9, 3, 13, 0, tzinfo=timezone.utc)  # 15:00 in Paris
    hit = directory.nearest(44.8986, 6.6388, k=1, now=utc)[0]
    assert hit.is_open_now is True


def test_nearest_to_place_passes_options(directory: FranceServicesDirectory) -> None:
    place = get_place_resolver().resolve("Lyon 3e").place
    assert place is not None
    hits = directory.nearest_to_place(place, k=3, now=TUESDAY_10_15, include_itinerant=False)
    assert len(hits) == 3
    assert not any(h.service.is_itinerant for h in hits)
    assert all(h.service.departement_code == "69" for h in hits)


def test_default_now_is_the_current_time(directory: FranceServicesDirectory) -> None:
    hit = directory.nearest(44.8986, 6.6388, k=1)[0]
    assert hit.is_open_now in (True, False)
    assert hit.today_status in {"open", "closed"}
