"""Benchmark: loading, place resolution and nearest France services search.

Run with ``python -m bench.bench_nearest``. Prints load times and p50/p95/max latencies for
(1) nearest search from random points over metropolitan France and the overseas départements,
(2) place resolution over a list of varied inputs (names, typos, postal codes, arrondissements,
filler words, ambiguous names, unknown text).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from datetime import datetime

from orientation.france_services import get_directory
from orientation.opening_hours import get_timezone
from orientation.places import get_place_resolver

PLACE_INPUTS = [
    "Briançon",
    "briancon",
    "Brianson",
    "le puy en velay",
    "Puy-en-Velay",
    "St Etienne",
    "saint etiene",
    "75015",
    "Paris 15",
    "Paris XV",
    "Lyon 3e",
    "j'habite à Lyon 3e",
    "Marseille 13ème",
    "13013",
    "près de Gap",
    "à côté de Briançon",
    "Cayenne",
    "97300",
    "Saint-Denis 97400",
    "Saint-Denis 93200",
    "Saint-Denis",
    "Saint-Martin",
    "Saint-Martin 65",
    "05100",
    "Grenoble",
    "grenobel",
    "tulouse",
    "Marseile",
    "Montpelier",
    "Bordeaux",
    "La France services la plus proche de Gap svp",
    "12 rue Carnot 05000 Gap",
    "Mamoudzou",
    "Pointe-à-Pitre",
    "Fort de France",
    "Bellegarde-sur-Valserine",
    "Sainte-Clotilde",
    "Lyom",
    "xqzwv",
    "Hautes-Alpes",
]

# Bounding boxes (lat_min, lat_max, lon_min, lon_max) for random query points.
REGIONS = {
    "metropole": (42.3, 51.1, -4.8, 8.3),
    "guadeloupe": (15.9, 16.5, -61.8, -61.0),
    "guyane": (3.0, 5.8, -54.5, -51.7),
    "reunion": (-21.4, -20.9, 55.2, 55.8),
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, samples_ms: list[float]) -> str:
    return (
        f"{name:<22} n={len(samples_ms):>6}  p50={percentile(samples_ms, 50):.3f} ms  "
        f"p95={percentile(samples_ms, 95):.3f} ms  max={max(samples_ms):.3f} ms  "
        f"mean={statistics.fmean(samples_ms):.3f} ms"
    )


def found_codes(result) -> set[str | None]:
    if result.place is not None:
        return {result.place.insee_code}
    return {s.insee_code for s in result.suggestions}


def accuracy(resolver, typos: int, seed: int) -> None:
    """Coverage of every display name, and one-character-deletion typos on a sample."""
    places = [resolver.get(code) for code in resolver.insee_codes()]
    covered = 0
    for place in places:
        result = resolver.resolve(place.name)
        covered += place.insee_code in found_codes(result) or result.candidate_count > 5
    print(
        f"exact names: {covered}/{len(places)} resolve to the commune "
        f"(found, or among the suggestions, or one of more than 5 homonyms)"
    )
    rng = random.Random(seed)
    pool = [p for p in places if p.kind == "commune" and len(p.name) >= 6]
    outcomes: Counter[str] = Counter()
    for place in rng.sample(pool, min(typos, len(pool))):
        cut = rng.randrange(1, len(place.name) - 1)
        result = resolver.resolve(place.name[:cut] + place.name[cut + 1 :])
        hit = place.insee_code in found_codes(result)
        outcomes[f"{result.status}/{'right' if hit else 'wrong'}"] += 1
    total = sum(outcomes.values())
    shares = ", ".join(f"{k} {v / total:.1%}" for k, v in sorted(outcomes.items()))
    print(f"one-letter-deletion typos (n={total}): {shares}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5000, help="random nearest queries")
    parser.add_argument("--k", type=int, default=3, help="points returned per query")
    parser.add_argument("--rounds", type=int, default=50, help="passes over the place inputs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--typos", type=int, default=1000, help="typo sample size for the accuracy check (0: skip)"
    )
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    directory = get_directory()
    t1 = time.perf_counter()
    resolver = get_place_resolver()
    t2 = time.perf_counter()
    print(f"load France services directory: {(t1 - t0) * 1000:.0f} ms ({len(directory)} points)")
    print(f"load place resolver:            {(t2 - t1) * 1000:.0f} ms ({len(resolver)} places)")

    rng = random.Random(args.seed)
    now = datetime(2024, 9, 3, 10, 15, tzinfo=get_timezone("Europe/Paris"))
    regions = list(REGIONS.values())
    weights = [0.85, 0.05, 0.05, 0.05]
    queries = []
    for _ in range(args.points):
        lat_min, lat_max, lon_min, lon_max = rng.choices(regions, weights)[0]
        queries.append((rng.uniform(lat_min, lat_max), rng.uniform(lon_min, lon_max)))
    for lat, lon in queries[:50]:  # warm-up
        directory.nearest(lat, lon, k=args.k, now=now)
    nearest_ms = []
    for lat, lon in queries:
        start = time.perf_counter()
        directory.nearest(lat, lon, k=args.k, now=now)
        nearest_ms.append((time.perf_counter() - start) * 1000)

    for text in PLACE_INPUTS:  # warm-up
        resolver.resolve(text)
    place_ms = []
    statuses: Counter[str] = Counter()
    for _ in range(args.rounds):
        for text in PLACE_INPUTS:
            start = time.perf_counter()
            result = resolver.resolve(text)
            place_ms.append((time.perf_counter() - start) * 1000)
            statuses[result.status] += 1

    end_to_end_ms = []
    for _ in range(max(1, args.rounds // 5)):
        for text in PLACE_INPUTS:
            start = time.perf_counter()
            result = resolver.resolve(text)
            if result.place is not None:
                directory.nearest(result.place.lat, result.place.lon, k=args.k, now=now)
            end_to_end_ms.append((time.perf_counter() - start) * 1000)

    print(summary(f"nearest (k={args.k})", nearest_ms))
    print(summary("place resolution", place_ms))
    print(summary("resolve + nearest", end_to_end_ms))
    per_round = {s: c // args.rounds for s, c in statuses.items()}
    print(
        f"place inputs: {len(PLACE_INPUTS)} per round, statuses {dict(sorted(per_round.items()))}"
    )
    if args.typos:
        accuracy(resolver, args.typos, args.seed)


if __name__ == "__main__":
    main()
