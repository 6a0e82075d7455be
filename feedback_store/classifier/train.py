r"""Train the story classifier and write its artefact.

Usage::

    python -m feedback_store.classifier.train --data tests/data/stories \
        --out var/models/story_classifier.joblib
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace

from feedback_store.classifier.corpus import DEFAULT_CORPUS_DIR
from feedback_store.classifier.registry import DEFAULT_MODEL_PATH, train_and_save
from feedback_store.classifier.training import TrainConfig


def _tqdm_wrap(iterable: Iterable, description: str, total: int) -> Iterable:
    from tqdm import tqdm

    return tqdm(iterable, desc=description, total=total, unit="step", leave=True, file=sys.stderr)


def _quiet_wrap(iterable: Iterable, description: str, total: int) -> Iterable:  # noqa: ARG001
    return iterable


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, train, save and print a summary; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m feedback_store.classifier.train",
        description="Train the experience-story classifier (irritants, engagements) "
        "on a folder of labelled YAML stories and write a joblib artefact.",
    )
    parser.add_argument(
        "--data", default=str(DEFAULT_CORPUS_DIR), help="folder of labelled *.yml stories"
    )
    parser.add_argument("--out", default=str(DEFAULT_MODEL_PATH), help="artefact to write")
    parser.add_argument(
        "--c", type=float, default=None, help="logistic-regression C (default from TrainConfig)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    config = TrainConfig() if args.c is None else replace(TrainConfig(), c=args.c)
    started = time.perf_counter()
    classifier = train_and_save(
        args.data, args.out, config, _quiet_wrap if args.quiet else _tqdm_wrap
    )
    print(
        f"Trained story classifier {classifier.model_version} "
        f"({classifier.space.size} features) in {time.perf_counter() - started:.1f} s "
        f"-> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
