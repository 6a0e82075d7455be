"""Benchmark the personal-data scrubber on the labelled French sentences.

Prints recall, span coverage and precision per kind and overall, the look-alikes wrongly removed,
and the scrubbing latency per sentence (p50/p95). Run: ``python -m bench.bench_scrub``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from feedback_store.scrubbing import Kind, Scrubber
from feedback_store.scrubbing.evaluation import Evaluation, evaluate, load_labelled

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "pii_sentences.yml"


def _print_table(title: str, evaluation: Evaluation) -> None:
    print(f"\n== {title}: {evaluation.sentences} sentences")
    print(
        f"{'kind':<24}{'planted':>8}{'recall':>9}{'coverage':>10}{'scrubbed':>10}{'precision':>11}"
    )
    for kind in Kind:
        score = evaluation.per_kind.get(kind.value)
        if score is None or (score.planted == 0 and score.scrubbed == 0):
            continue
        print(
            f"{kind.value:<24}{score.planted:>8}{score.recall:>9.3f}{score.coverage:>10.3f}"
            f"{score.scrubbed:>10}{score.precision:>11.3f}"
        )
    total = evaluation.overall
    print(
        f"{'OVERALL':<24}{total.planted:>8}{total.recall:>9.3f}{total.coverage:>10.3f}"
        f"{total.scrubbed:>10}{total.precision:>11.3f}"
    )
    removed = len(evaluation.lookalikes_removed)
    print(f"look-alikes wrongly removed: {removed} / {evaluation.lookalikes}")
    print(
        f"latency per sentence: p50 {evaluation.latency_percentile(50):.2f} ms, "
        f"p95 {evaluation.latency_percentile(95):.2f} ms"
    )


def _print_errors(evaluation: Evaluation) -> None:
    for sentence_id, kind, value in evaluation.missed:
        print(f"  MISSED   {sentence_id} {kind}: {value!r}")
    for sentence_id, kind, value in evaluation.false_positives:
        print(f"  FALSE+   {sentence_id} {kind}: {value!r}")
    for sentence_id, value in evaluation.lookalikes_removed:
        print(f"  REMOVED  {sentence_id} look-alike {value!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled YAML file")
    parser.add_argument(
        "--split",
        choices=("dev", "heldout", "challenge", "all"),
        default="all",
        help="which sentences to score (default: all, with a table per split)",
    )
    parser.add_argument("--no-ner", action="store_true", help="rules only, without spaCy NER")
    parser.add_argument("--errors", action="store_true", help="list misses and false positives")
    parser.add_argument(
        "--repeat", type=int, default=3, help="passes over the set for latency (best run is kept)"
    )
    args = parser.parse_args(argv)

    sentences = load_labelled(args.data)
    started = time.perf_counter()
    scrubber = Scrubber() if args.no_ner else Scrubber.load()
    scrubber.scrub("Chargement du modèle, M. Dupont.")
    print(f"scrubber ready in {time.perf_counter() - started:.1f} s (NER: {scrubber.uses_ner})")

    splits = ("dev", "heldout", "challenge") if args.split == "all" else (args.split,)
    for split in splits:
        chosen = [sentence for sentence in sentences if sentence.split == split]
        runs = [evaluate(scrubber, chosen) for _ in range(max(1, args.repeat))]
        best = min(runs, key=lambda run: run.latency_percentile(50))
        _print_table(split, best)
        if args.errors:
            _print_errors(best)
    if args.split == "all":
        _print_table("all", evaluate(scrubber, sentences))

    idempotence_failures = [
        sentence.id
        for sentence in sentences
        if scrubber.scrub(scrubber.scrub(sentence.text).text).text
        != scrubber.scrub(sentence.text).text
    ]
    print(f"\nidempotence failures: {len(idempotence_failures)} {idempotence_failures[:10]}")


if __name__ == "__main__":
    main()
