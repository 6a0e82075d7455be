"""Great-circle distances and a vectorised nearest-point index (WGS84 degrees, kilometres)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # IUGG mean Earth radius


def is_valid_coordinate(lat: float | None, lon: float | None) -> bool:
    """Return True when ``lat``/``lon`` are finite WGS84 degrees and not the (0, 0) placeholder."""
    if lat is None or lon is None:
        return False
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        return False
    if lat_f == 0.0 and lon_f == 0.0:
        return False
    return -90.0 <= lat_f <= 90.0 and -180.0 <= lon_f <= 180.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_km_many(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Vectorised great-circle distances (km) from one point to arrays of points (degrees)."""
    phi1 = math.radians(lat)
    phi2 = np.radians(lats)
    dphi = phi2 - phi1
    dlmb = np.radians(lons) - math.radians(lon)
    a = np.sin(dphi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


class PointIndex:
    """Exact k-nearest search over a fixed set of points.

    Points are stored as unit vectors; a query is one ``(n, 3) @ (3,)`` product followed by
    ``argpartition``. For a few thousand points (the France services list has about 2,800)
    this brute-force pass takes tens of microseconds, faster in CPython than walking a tree.
    """

    def __init__(self, lats: Sequence[float], lons: Sequence[float]) -> None:
        lat_r = np.radians(np.asarray(lats, dtype=np.float64))
        lon_r = np.radians(np.asarray(lons, dtype=np.float64))
        if lat_r.shape != lon_r.shape or lat_r.ndim != 1:
            raise ValueError("lats and lons must be 1-D sequences of the same length")
        cos_lat = np.cos(lat_r)
        self._xyz = np.ascontiguousarray(
            np.stack([cos_lat * np.cos(lon_r), cos_lat * np.sin(lon_r), np.sin(lat_r)], axis=1)
        )

    def __len__(self) -> int:
        return int(self._xyz.shape[0])

    def nearest(
        self, lat: float, lon: float, k: int = 3, max_distance_km: float | None = None
    ) -> list[tuple[int, float]]:
        """Return up to ``k`` ``(position, distance_km)`` pairs, nearest first.

        Args:
            lat: Query latitude in degrees.
            lon: Query longitude in degrees.
            k: Number of neighbours wanted.
            max_distance_km: Drop neighbours farther than this, if given.

        Raises:
            ValueError: If the coordinates are not valid WGS84 degrees.

        """
        if not is_valid_coordinate(lat, lon):
            raise ValueError(f"invalid coordinates: {lat!r}, {lon!r}")
        n = len(self)
        if k <= 0 or n == 0:
            return []
        lat_r, lon_r = math.radians(lat), math.radians(lon)
        cos_lat = math.cos(lat_r)
        query = np.array([cos_lat * math.cos(lon_r), cos_lat * math.sin(lon_r), math.sin(lat_r)])
        # Squared chord length on the unit sphere: larger dot product means nearer.
        dots = self._xyz @ query
        k = min(k, n)
        part = np.argpartition(-dots, k - 1)[:k] if k < n else np.arange(n)
        order = part[np.argsort(-dots[part], kind="stable")]
        chords = np.sqrt(np.clip(2.0 - 2.0 * dots[order], 0.0, 4.0))
        distances = 2.0 * np.arcsin(np.minimum(chords / 2.0, 1.0)) * EARTH_RADIUS_KM
        result = [(int(i), float(d)) for i, d in zip(order, distances, strict=True)]
        if max_distance_km is not None:
            result = [(i, d) for i, d in result if d <= max_distance_km]
        return result
