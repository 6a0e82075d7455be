"""Optional online geocoding through the Base Adresse Nationale (BAN) API, with offline fallback.

Off by default: nothing leaves the machine unless a client is built with ``enabled=True``
(the project's config module decides). When enabled, the online API is asked only when it can
add something: for text that looks like a street address, or when the offline resolver found
nothing. Any error, timeout or low score falls back to the offline answer. The query is the
usager's place text: callers should pass the extracted place, not a whole message.

API: ``GET https://api-adresse.data.gouv.fr/search/?q=...&limit=1`` returns a GeoJSON
``FeatureCollection`` whose features carry ``label``, ``score``, ``type`` (``housenumber``,
``street``, ``locality``, ``municipality``), ``name``, ``postcode``, ``citycode``, ``city``
and ``context`` (``"05, Hautes-Alpes, Provence-Alpes-Côte d'Azur"``).
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import httpx

from orientation.geo import is_valid_coordinate
from orientation.places import Place, PlaceResolution, PlaceResolver, get_place_resolver

logger = logging.getLogger(__name__)

BAN_SEARCH_URL = "https://api-adresse.data.gouv.fr/search/"
DEFAULT_TIMEOUT_S = 2.0
DEFAULT_MIN_SCORE = 0.5
_MIN_QUERY_CHARS = 3  # the API rejects shorter queries
_MAX_QUERY_CHARS = 200  # ...and longer ones
_STREET_RE = re.compile(
    r"\b\d+\s*(?:bis|ter)?\s*,?\s*(?:rue|avenue|av|boulevard|bd|chemin|route|place|impasse"
    r"|all[ée]e|quai|cours|square|lotissement|r[ée]sidence|lieu[- ]dit)\b",
    re.IGNORECASE,
)


def looks_like_address(text: str) -> bool:
    """Whether ``text`` contains a house number followed by a street word (``12 rue …``)."""
    return bool(_STREET_RE.search(text or ""))


def place_from_feature(feature: dict[str, Any]) -> Place | None:
    """Convert one BAN GeoJSON feature to a :class:`Place`; None if it lacks usable data."""
    try:
        props = feature.get("properties") or {}
        lon, lat = (feature.get("geometry") or {}).get("coordinates")[:2]
        lat, lon = float(lat), float(lon)
    except (AttributeError, TypeError, ValueError):
        return None
    if not is_valid_coordinate(lat, lon):
        return None
    context = [part.strip() for part in str(props.get("context") or "").split(",")]
    citycode = str(props.get("citycode") or "") or None
    departement_code = context[0] if context and context[0] else (citycode or "")[:2]
    departement_name = context[1] if len(context) > 1 else ""
    feature_type = props.get("type")
    is_address = feature_type in {"housenumber", "street"}
    city = str(props.get("city") or props.get("name") or "")
    postcode = str(props.get("postcode") or "")
    return Place(
        name=city,
        postal_code=postcode,
        departement_code=departement_code,
        departement_name=departement_name,
        lat=lat,
        lon=lon,
        insee_code=citycode,
        kind="address" if is_address else "commune",
        postal_codes=(postcode,) if postcode else (),
        street=str(props.get("name") or "") if is_address else None,
    )


class BanClient:
    """Geocode with the BAN API when enabled; always able to answer offline.

    Args:
        enabled: Whether online calls are allowed at all (default False: offline only).
        base_url: Search endpoint.
        timeout_s: Total timeout of one call, in seconds.
        min_score: Features scored below this are ignored.
        transport: Optional ``httpx`` transport for the sync client (tests use MockTransport).
        async_transport: Optional transport for the async client.
        resolver: Offline resolver; defaults to :func:`orientation.places.get_place_resolver`.

    """

    def __init__(
        self,
        *,
        enabled: bool = False,
        base_url: str = BAN_SEARCH_URL,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        min_score: float = DEFAULT_MIN_SCORE,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        resolver: PlaceResolver | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.enabled = enabled
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.min_score = min_score
        self._transport = transport
        self._async_transport = async_transport
        self._resolver = resolver
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None

    @property
    def resolver(self) -> PlaceResolver:
        """The offline resolver (loaded on first use)."""
        if self._resolver is None:
            self._resolver = get_place_resolver()
        return self._resolver

    # ------------------------------------------------------------------ online calls

    def _params(self, query: str) -> dict[str, str] | None:
        q = " ".join((query or "").split())[:_MAX_QUERY_CHARS]
        if len(q) < _MIN_QUERY_CHARS:
            return None
        return {"q": q, "limit": "1"}

    def _parse(self, response: httpx.Response) -> Place | None:
        response.raise_for_status()
        payload = response.json()
        features = payload.get("features") if isinstance(payload, dict) else None
        if not features or not isinstance(features[0], dict):
            return None
        score = (features[0].get("properties") or {}).get("score")
        if not isinstance(score, int | float) or score < self.min_score:
            return None
        return place_from_feature(features[0])

    def search(self, query: str) -> Place | None:
        """Ask the BAN API for ``query``; None if disabled, on error/timeout, or no good match."""
        params = self._params(query)
        if not self.enabled or params is None:
            return None
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_s, transport=self._transport)
        try:
            return self._parse(self._client.get(self.base_url, params=params))
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("BAN geocoding failed (%s); using offline data", type(exc).__name__)
            return None

    async def asearch(self, query: str) -> Place | None:
        """Async variant of :meth:`search` (for the action server's event loop)."""
        params = self._params(query)
        if not self.enabled or params is None:
            return None
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(
                timeout=self.timeout_s, transport=self._async_transport
            )
        try:
            return self._parse(await self._aclient.get(self.base_url, params=params))
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("BAN geocoding failed (%s); using offline data", type(exc).__name__)
            return None

    # ------------------------------------------------------------------ online + offline

    def _wants_online(self, text: str, offline: PlaceResolution) -> bool:
        return self.enabled and (looks_like_address(text) or offline.status == "not_found")

    @staticmethod
    def _merge(offline: PlaceResolution, online: Place | None) -> PlaceResolution:
        if online is None:
            return offline
        return PlaceResolution(
            status="found", query=offline.query, place=online, match="ban", candidate_count=1
        )

    def resolve(self, text: str) -> PlaceResolution:
        """Resolve ``text`` offline, and online too when enabled and useful.

        Online is tried for street addresses and for text the offline resolver does not know;
        an ambiguous offline answer (``Saint-Denis``) is kept so the usager can choose.

        """
        offline = self.resolver.resolve(text)
        if not self._wants_online(text, offline):
            return offline
        return self._merge(offline, self.search(text))

    async def aresolve(self, text: str) -> PlaceResolution:
        """Async variant of :meth:`resolve`."""
        offline = self.resolver.resolve(text)
        if not self._wants_online(text, offline):
            return offline
        return self._merge(offline, await self.asearch(text))

    def close(self) -> None:
        """Close the sync HTTP client, if one was opened."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close both HTTP clients, if opened."""
        self.close()
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None


@functools.lru_cache(maxsize=4)
def get_ban_client(enabled: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S) -> BanClient:
    """Return a shared client for these settings (offline-only unless ``enabled``)."""
    return BanClient(enabled=enabled, timeout_s=timeout_s)
