"""Cross-validated quality and latency of the story classifier against a TF-IDF baseline.

Usage: ``python -m bench.bench_classifier [--data tests/data/stories] [--folds 5]``

Every fold fits everything (vocabularies, IDF, models, thresholds) on its training part only;
the spaCy analysis is computed once per text beforehand (it has no fitted state).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold

from feedback_store import taxonomy
from feedback_store.classifier.corpus import DEFAULT_CORPUS_DIR, corpus_hash, load_corpus
from feedback_store.classifier.features import FeatureConfig
from feedback_store.classifier.model import ENGAGEMENT_CODES, IRRITANT_CODES, StoryClassifier
from feedback_store.classifier.text import prepare_many
from feedback_store.classifier.training import TrainConfig

TAG_CODES = tuple(taxonomy.TAGS_GENERAUX)


def _matrix(label_sets, codes) -> np.ndarray:
    return np.array([[code in labels for code in codes] for labels in label_sets], dtype=int)


def _baseline(train_texts, train_y, test_texts, class_weight) -> np.ndarray:
    vectorizer = TfidfVectorizer()
    train_x = vectorizer.fit_transform(train_texts)
    test_x = vectorizer.transform(test_texts)
    predicted = np.zeros((len(test_texts), train_y.shape[1]), dtype=int)
    for column in range(train_y.shape[1]):
        if train_y[:, column].sum() == 0:
            continue
        model = LogisticRegression(class_weight=class_weight, max_iter=1000)
        model.fit(train_x, train_y[:, column])
        predicted[:, column] = model.predict(test_x)
    return predicted


def _tags(irritant_matrix: np.ndarray) -> np.ndarray:
    sets = [
        taxonomy.derive_tags(code for code, on in zip(IRRITANT_CODES, row, strict=False) if on)
        for row in irritant_matrix
    ]
    return _matrix(sets, TAG_CODES)


def _scores(true: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    micro = f1_score(true, predicted, average="micro", zero_division=0)
    macro = f1_score(true, predicted, average="macro", zero_division=0)
    return micro, macro


def _print_latency(latencies: list[float], cpu_times: list[float]) -> None:
    p50, p95 = np.percentile(latencies, [50, 95])
    cpu50, cpu95 = np.percentile(cpu_times, [50, 95])
    print(f"latency per story (spaCy + features + models): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"  CPU time of the process per story:           p50 {cpu50:.1f} ms, p95 {cpu95:.1f} ms")
    print(f"  (load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


def _latency_only(path: str, texts: list[str]) -> None:
    model = StoryClassifier.load(path)
    model.classify("Préchauffage du pipeline spaCy.")
    latencies, cpu_times = [], []
    for text in texts:
        started, cpu_started = time.perf_counter(), time.process_time()
        model.classify(text)
        latencies.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.process_time() - cpu_started) * 1000)
    print(f"model {model.model_version}, {len(texts)} stories")
    _print_latency(latencies, cpu_times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_CORPUS_DIR), help="corpus folder")
    parser.add_argument("--folds", type=int, default=5, help="outer cross-validation folds")
    parser.add_argument("--seed", type=int, default=0, help="seed of the outer fold split")
    parser.add_argument("--c", type=float, default=None, help="override TrainConfig.c")
    parser.add_argument("--class-weight", choices=["balanced", "none"], default=None)
    parser.add_argument("--vector-weight", type=float, default=None, help="doc vector weight")
    parser.add_argument("--char-weight", type=float, default=None, help="char n-gram weight")
    parser.add_argument("--inner-folds", type=int, default=None, help="threshold-tuning folds")
    parser.add_argument("--shrink", type=float, default=None, help="threshold shrinkage")
    parser.add_argument(
        "--latency-only",
        metavar="MODEL",
        default=None,
        help="skip cross-validation; time classify() with this trained artefact",
    )
    parser.add_argument("--per-label", action="store_true", help="print per-label F1")
    args = parser.parse_args(argv)

    config = TrainConfig()
    features = config.features
    if args.vector_weight is not None:
        features = replace(features, vector_weight=args.vector_weight)
    if args.char_weight is not None:
        features = replace(features, char_weight=args.char_weight)
    config = replace(config, features=features)
    if args.c is not None:
        config = replace(config, c=args.c)
    if args.class_weight is not None:
        config = replace(config, class_weight=None if args.class_weight == "none" else "balanced")
    if args.inner_folds is not None:
        config = replace(config, inner_folds=args.inner_folds)
    if args.shrink is not None:
        config = replace(config, threshold_shrinkage=args.shrink)
    assert isinstance(config.features, FeatureConfig)

    stories = load_corpus(args.data)
    texts = [story.text for story in stories]
    if args.latency_only:
        _latency_only(args.latency_only, texts)
        return
    true_irritants = _matrix([s.irritants for s in stories], IRRITANT_CODES)
    true_engagements = _matrix([s.engagements for s in stories], ENGAGEMENT_CODES)
    print(f"corpus: {len(stories)} stories ({corpus_hash(args.data)[:12]}), {args.folds} folds")
    print(f"config: {config}")

    started = time.perf_counter()
    prepared = list(prepare_many(texts))
    print(f"spaCy analysis: {time.perf_counter() - started:.1f} s")

    ours_i = np.zeros_like(true_irritants)
    ours_e = np.zeros_like(true_engagements)
    base_i = {"default": np.zeros_like(true_irritants), "balanced": np.zeros_like(true_irritants)}
    base_e = {key: np.zeros_like(true_engagements) for key in base_i}
    latencies: list[float] = []
    cpu_times: list[float] = []
    folds = KFold(args.folds, shuffle=True, random_state=args.seed)
    for fold, (train, test) in enumerate(folds.split(texts), 1):
        started = time.perf_counter()
        model = StoryClassifier.train(
            [stories[i] for i in train],
            data_hash=f"fold{fold}",
            config=config,
            prepared=[prepared[i] for i in train],
        )
        train_seconds = time.perf_counter() - started
        for row, index in enumerate(test):
            started, cpu_started = time.perf_counter(), time.process_time()
            result = model.classify(texts[index])
            latencies.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu_started) * 1000)
            ours_i[index] = [code in result.irritants for code in IRRITANT_CODES]
            ours_e[index] = [code in result.engagements for code in ENGAGEMENT_CODES]
            del row
        train_texts = [texts[i] for i in train]
        test_texts = [texts[i] for i in test]
        for key, weight in (("default", None), ("balanced", "balanced")):
            base_i[key][test] = _baseline(train_texts, true_irritants[train], test_texts, weight)
            base_e[key][test] = _baseline(train_texts, true_engagements[train], test_texts, weight)
        print(f"fold {fold}: trained in {train_seconds:.1f} s, {len(test)} test stories")

    true_tags = _tags(true_irritants)
    rows = [("story classifier", ours_i, ours_e)]
    rows += [(f"baseline tfidf+LR ({k})", base_i[k], base_e[k]) for k in base_i]
    print()
    print(f"{'model':30s} {'irritants micro/macro':>22s} {'engagements':>14s} {'tags':>14s}")
    for name, irritants, engagements in rows:
        cells = [
            _scores(true_irritants, irritants),
            _scores(true_engagements, engagements),
            _scores(true_tags, _tags(irritants)),
        ]
        text = "  ".join(f"{micro:.3f}/{macro:.3f}" for micro, macro in cells)
        print(f"{name:30s} {text}")
    print()
    _print_latency(latencies, cpu_times)
    if args.per_label:
        print()
        for codes, true, ours, base in (
            (IRRITANT_CODES, true_irritants, ours_i, base_i["balanced"]),
            (ENGAGEMENT_CODES, true_engagements, ours_e, base_e["balanced"]),
        ):
            ours_f1 = f1_score(true, ours, average=None, zero_division=0)
            base_f1 = f1_score(true, base, average=None, zero_division=0)
            for code, support, a, b in zip(codes, true.sum(axis=0), ours_f1, base_f1, strict=False):
                print(f"  {code:32s} n={support:3d}  ours {a:.3f}  baseline {b:.3f}")


if __name__ == "__main__":
    main()
