"""Benchmark the démarche ranker on the labelled requests.

Prints, for one split of ``tests/data/orientation_requests.yml`` (default: the held-out
``test`` split): top-1 / top-3 accuracy, status breakdown, out-of-scope detection accuracy,
unknown detection, and ranking latency p50/p95 (ms).

Development helpers work on the ``train`` split only (never on the held-out split):
``--calibrate`` fits the logistic confidence calibration, ``--sweep`` explores thresholds.

Usage::

    python -m bench.bench_ranking
    python -m bench.bench_ranking --split train --errors
    python -m bench.bench_ranking --split train --calibrate --sweep
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from orientation.ranking import Ranker, Thresholds

REQUESTS = Path(__file__).resolve().parents[1] / "tests" / "data" / "orientation_requests.yml"


def load_requests(split: str, path: Path = REQUESTS) -> list[dict]:
    """Return the labelled requests of a split (``train``, ``test`` or ``all``)."""
    with path.open(encoding="utf-8") as handle:
        requests = yaml.safe_load(handle)["requests"]
    return [r for r in requests if split == "all" or r["split"] == split]


def evaluate(
    ranker: Ranker, requests: list[dict], repeat: int = 1, signals: list | None = None
) -> dict:
    """Rank every request and compute accuracy figures and latencies.

    When ``signals`` (precomputed :meth:`Ranker.signals`, one per request) is given, only the
    decision step runs: used by the threshold sweep.
    """
    latencies: list[float] = []
    cpu_start = time.process_time()
    figures: Counter = Counter()
    statuses: Counter = Counter()
    errors: list[str] = []
    for index, request in enumerate(requests):
        if signals is not None:
            result = ranker.decide(signals[index])
        for _ in range(repeat if signals is None else 0):
            start = time.perf_counter()
            result = ranker.rank(request["text"])
            latencies.append((time.perf_counter() - start) * 1000)
        kind = request["kind"]
        figures[kind] += 1
        if kind == "demarche":
            codes = result.top_codes(3)
            statuses[result.status] += 1
            figures["top1"] += codes[0] == request["expected"]
            figures["top3"] += request["expected"] in codes
            figures["in_scope_flagged_oos"] += result.status == "out_of_scope"
            figures["match"] += result.status == "match"
            figures["match_correct"] += result.status == "match" and codes[0] == request["expected"]
            if result.status == "ambiguous":
                figures["ambiguous"] += 1
                figures["ambiguous_has_expected"] += request["expected"] in [
                    c.code for c in result.choices
                ]
            if codes[0] != request["expected"]:
                errors.append(f"{request['text']!r}: expected {request['expected']}, got {codes}")
        elif kind == "out_of_scope":
            ok = (
                result.status == "out_of_scope"
                and result.hors_champ is not None
                and result.hors_champ.code == request["expected"]
            )
            figures["oos_detected"] += result.status == "out_of_scope"
            figures["oos_correct"] += ok
            if not ok:
                got = result.hors_champ.code if result.hors_champ else result.top_codes(1)
                errors.append(
                    f"{request['text']!r}: expected hors champ {request['expected']}, "
                    f"got {result.status} {got}"
                )
        else:
            figures["unknown_correct"] += result.status == "unknown"
            if result.status != "unknown":
                errors.append(f"{request['text']!r}: expected unknown, got {result.status}")
    cpu_ms = (time.process_time() - cpu_start) * 1000 / max(1, len(latencies))
    return {
        "figures": figures,
        "statuses": statuses,
        "latencies": latencies,
        "errors": errors,
        "cpu_ms": cpu_ms,
    }


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:  # pragma: no cover - platform without load average
        return "n/a"


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.3f} ({num}/{den})" if den else "n/a"


def report(split: str, outcome: dict, build_s: float) -> None:
    """Print the benchmark figures."""
    f, lat = outcome["figures"], sorted(outcome["latencies"])
    n = f["demarche"]
    print(f"split={split}  requests={sum(f[k] for k in ('demarche', 'out_of_scope', 'unknown'))}")
    print(f"ranker build time: {build_s:.1f} s (spaCy model + catalogue index)")
    print(f"top-1 accuracy: {_ratio(f['top1'], n)}")
    print(f"top-3 accuracy: {_ratio(f['top3'], n)}")
    print(f"status on in-scope requests: {dict(outcome['statuses'])}")
    print(f"  'match' precision: {_ratio(f['match_correct'], f['match'])}")
    offered = _ratio(f["ambiguous_has_expected"], f["ambiguous"])
    print(f"  'ambiguous' choices contain the answer: {offered}")
    print(f"  in-scope wrongly flagged out_of_scope: {_ratio(f['in_scope_flagged_oos'], n)}")
    print(
        f"out-of-scope detection accuracy (status + right topic): "
        f"{_ratio(f['oos_correct'], f['out_of_scope'])}; status only: "
        f"{_ratio(f['oos_detected'], f['out_of_scope'])}"
    )
    print(f"unknown detection: {_ratio(f['unknown_correct'], f['unknown'])}")
    p50 = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    cpu = outcome["cpu_ms"]
    print(f"ranking latency: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {lat[-1]:.1f} ms")
    print(f"  ({len(lat)} timed calls; mean CPU time {cpu:.1f} ms per call; 1-min load {_load()})")


def calibrate(ranker: Ranker, requests: list[dict]) -> None:
    """Fit P(candidate is right | score, lead) by logistic regression on train requests."""
    from sklearn.linear_model import LogisticRegression

    features, labels = [], []
    for request in requests:
        if request["kind"] != "demarche":
            continue
        result = ranker.rank(request["text"])
        for rank, cand in enumerate(result.candidates):
            rival = result.candidates[1].score if rank == 0 else result.candidates[0].score
            features.append([cand.score, cand.score - rival])
            labels.append(cand.code == request["expected"])
    model = LogisticRegression(C=10.0).fit(np.array(features), np.array(labels))
    b0, (b1, b2) = float(model.intercept_[0]), model.coef_[0]
    print(f"CALIBRATION = ({b0:.2f}, {b1:.2f}, {b2:.2f})  # intercept, score, lead")


def sweep(ranker: Ranker, requests: list[dict]) -> None:
    """Explore decision thresholds on train requests and print the best trade-offs."""
    grid = itertools.product(
        [0.28, 0.31, 0.34, 0.37],  # unknown
        [0.40, 0.45, 0.50, 0.55],  # match
        [0.03, 0.05, 0.07, 0.09, 0.11],  # margin
        [-0.05, 0.0, 0.05, 0.10],  # out_of_scope_lead
    )
    signals = [ranker.signals(r["text"]) for r in requests]
    rows = []
    for unknown, match, margin, lead in grid:
        ranker.thresholds = Thresholds(
            unknown=unknown, match=match, margin=margin, out_of_scope_lead=lead
        )
        f = evaluate(ranker, requests, signals=signals)["figures"]
        match_precision = f["match_correct"] / max(1, f["match"])
        match_rate = f["match"] / max(1, f["demarche"])
        oos = f["oos_correct"] / max(1, f["out_of_scope"])
        false_oos = f["in_scope_flagged_oos"] / max(1, f["demarche"])
        unk = f["unknown_correct"] / max(1, f["unknown"])
        utility = match_rate + 2 * match_precision + oos - 3 * false_oos + 0.5 * unk
        rows.append((utility, unknown, match, margin, lead, match_precision, match_rate, oos, unk))
    rows.sort(reverse=True)
    print("utility unknown match margin oos_lead | match_prec match_rate oos unknown")
    for row in rows[:10]:
        print(" ".join(f"{v:.3f}" for v in row[:5]), "|", " ".join(f"{v:.3f}" for v in row[5:]))


def main() -> None:
    """Parse arguments, build the ranker, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["test", "train", "all"], default="test")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per request")
    parser.add_argument("--errors", action="store_true", help="list misranked requests")
    parser.add_argument("--calibrate", action="store_true", help="fit confidence (train only)")
    parser.add_argument("--sweep", action="store_true", help="threshold sweep (train only)")
    args = parser.parse_args()

    start = time.perf_counter()
    ranker = Ranker.load()
    build_s = time.perf_counter() - start
    ranker.rank("échauffement")  # warm-up: first call allocates caches

    if args.calibrate or args.sweep:
        train = load_requests("train")
        if args.calibrate:
            calibrate(ranker, train)
        if args.sweep:
            sweep(ranker, train)
        return

    requests = load_requests(args.split)
    outcome = evaluate(ranker, requests, repeat=max(1, args.repeat))
    report(args.split, outcome, build_s)
    if args.errors:
        print("\nerrors:")
        for line in outcome["errors"]:
            print("  " + line)


if __name__ == "__main__":
    main()
