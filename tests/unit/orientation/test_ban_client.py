"""BAN client: recorded responses replayed through httpx.MockTransport (no network).

The JSON files under tests/data/ban/ were written by hand in the documented BAN ``/search/``
response format (GeoJSON FeatureCollection, ``limit=1``); they are not live captures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from orientation.ban_client import (
    BAN_SEARCH_URL,
    BanClient,
    get_ban_client,
    looks_like_address,
    place_from_feature,
)
from orientation.places import PlaceResolver, get_place_resolver

DATA = Path(__file__).resolve().parents[2] / "data" / "ban"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class Recorder:
    """A MockTransport handler that replays one file (or raises) and keeps the requests."""

    def __init__(self, body: dict | None = None, *, error: Exception | None = None, status=200):
        self.body = body
        self.error = error
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return httpx.Response(self.status, json=self.body)


@pytest.fixture(scope="module")
def resolver() -> PlaceResolver:
    return get_place_resolver()


@pytest.fixture
def make_client(resolver: PlaceResolver) -> Callable[..., tuple[BanClient, Recorder]]:
    clients: list[BanClient] = []

    def make(recorder: Recorder, **kwargs) -> tuple[BanClient, Recorder]:
        transport = httpx.MockTransport(recorder)
        client = BanClient(
            transport=transport, async_transport=transport, resolver=resolver, **kwargs
        )
        clients.append(client)
        return client, recorder

    yield make
    for client in clients:
        client.close()


ADDRESS = "12 rue Carnot 05000 Gap"


# --------------------------------------------------------------------------- offline default


def test_disabled_by_default_never_calls_the_network(make_client) -> None:
    client, recorder = make_client(Recorder(recorded("housenumber_gap.json")))
    assert client.enabled is False
    result = client.resolve(ADDRESS)
    assert result.status == "found" and result.match == "name+postal_code"
    assert result.place is not None and result.place.insee_code == "05061"
    assert client.search("Briançon") is None
    assert recorder.requests == []


def test_shared_factory_is_offline() -> None:
    client = get_ban_client()
    assert client.enabled is False
    assert get_ban_client() is client
    assert client.search("Briançon") is None


# --------------------------------------------------------------------------- online success


def test_address_is_geocoded_online(make_client) -> None:
    client, recorder = make_client(Recorder(recorded("housenumber_gap.json")), enabled=True)
    result = client.resolve(ADDRESS)
    assert result.status == "found" and result.match == "ban"
    place = result.place
    assert place is not None
    assert place.kind == "address"
    assert place.street == "12 Rue Carnot"
    assert (place.name, place.postal_code, place.insee_code) == ("Gap", "05000", "05061")
    assert (place.departement_code, place.departement_name) == ("05", "Hautes-Alpes")
    assert (place.lat, place.lon) == (44.559213, 6.078714)  # GeoJSON order is [lon, lat]
    (request,) = recorder.requests
    assert str(request.url).startswith(BAN_SEARCH_URL)
    assert request.url.params["q"] == ADDRESS
    assert request.url.params["limit"] == "1"


def test_commune_found_offline_is_not_sent_online(make_client) -> None:
    client, recorder = make_client(Recorder(recorded("municipality_briancon.json")), enabled=True)
    result = client.resolve("Briançon")
    assert result.match == "name"
    assert recorder.requests == []


def test_ambiguous_offline_answer_is_kept(make_client) -> None:
    client, recorder = make_client(Recorder(recorded("municipality_briancon.json")), enabled=True)
    assert client.resolve("Saint-Martin").status == "ambiguous"
    assert recorder.requests == []


def test_unknown_offline_place_is_asked_online(make_client) -> None:
    client, recorder = make_client(Recorder(recorded("locality_remire.json")), enabled=True)
    result = client.resolve("Lotissement les Ames Claires")
    assert result.status == "found" and result.match == "ban"
    assert result.place is not None
    assert result.place.kind == "commune"
    assert result.place.departement_code == "973"
    assert result.place.departement_name == "Guyane"
    assert len(recorder.requests) == 1


def test_search_parses_a_municipality(make_client) -> None:
    client, _ = make_client(Recorder(recorded("municipality_briancon.json")), enabled=True)
    place = client.search("Briançon")
    assert place is not None
    assert (place.name, place.insee_code, place.kind) == ("Briançon", "05023", "commune")
    assert place.street is None


# --------------------------------------------------------------------------- fallbacks


@pytest.mark.parametrize(
    "recorder",
    [
        Recorder(error=httpx.ReadTimeout("timed out")),
        Recorder(error=httpx.ConnectError("no route to host")),
        Recorder({"detail": "server error"}, status=500),
        Recorder(recorded("empty.json")),
        Recorder(recorded("low_score.json")),
    ],
    ids=["timeout", "connect-error", "http-500", "no-feature", "low-score"],
)
def test_failures_fall_back_to_offline(make_client, recorder: Recorder) -> None:
    client, recorder = make_client(recorder, enabled=True)
    result = client.resolve(ADDRESS)
    assert len(recorder.requests) == 1
    assert result.status == "found" and result.match == "name+postal_code"
    assert result.place is not None and result.place.name == "Gap"
    assert result.place.kind == "commune"


def test_invalid_json_falls_back(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>maintenance</html>")

    client = BanClient(enabled=True, transport=httpx.MockTransport(handler))
    assert client.search(ADDRESS) is None
    client.close()


def test_not_found_stays_not_found_when_online_fails(make_client) -> None:
    client, recorder = make_client(Recorder(error=httpx.ReadTimeout("slow")), enabled=True)
    result = client.resolve("xqzwv zzkt")
    assert result.status == "not_found"
    assert len(recorder.requests) == 1


def test_too_short_query_is_not_sent(make_client) -> None:
    client, recorder = make_client(Recorder(recorded("empty.json")), enabled=True)
    assert client.search("ab") is None
    assert recorder.requests == []


def test_timeout_setting_is_validated() -> None:
    with pytest.raises(ValueError):
        BanClient(timeout_s=0)


# --------------------------------------------------------------------------- async


async def test_async_success_and_timeout(make_client) -> None:
    client, _ = make_client(Recorder(recorded("housenumber_gap.json")), enabled=True)
    result = await client.aresolve(ADDRESS)
    assert result.match == "ban" and result.place is not None
    assert result.place.street == "12 Rue Carnot"
    await client.aclose()

    slow, recorder = make_client(Recorder(error=httpx.ReadTimeout("slow")), enabled=True)
    fallback = await slow.aresolve(ADDRESS)
    assert fallback.match == "name+postal_code"
    assert len(recorder.requests) == 1
    await slow.aclose()


# --------------------------------------------------------------------------- helpers


def test_looks_like_address() -> None:
    assert looks_like_address("12 rue Carnot 05000 Gap")
    assert looks_like_address("3 bis, avenue de la République")
    assert not looks_like_address("Briançon")
    assert not looks_like_address("75015")
    assert not looks_like_address("Paris 15")


def test_place_from_feature_rejects_bad_geometry() -> None:
    assert place_from_feature({"properties": {}, "geometry": None}) is None
    assert place_from_feature({"properties": {}, "geometry": {"coordinates": ["x", 1]}}) is None
    assert place_from_feature({"properties": {}, "geometry": {"coordinates": [0, 0]}}) is None
