"""Fitting of the one-vs-rest label blocks and of their per-label decision thresholds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from feedback_store.classifier.features import FeatureConfig, FeatureSpace
from feedback_store.classifier.text import PreparedText

# ``wrap(iterable, description, total)`` → iterable; lets a CLI show a progress bar.
ProgressWrap = Callable[[Iterable, str, int], Iterable]


def no_progress(iterable: Iterable, description: str, total: int) -> Iterable:  # noqa: ARG001
    """Default progress wrapper: shows nothing."""
    return iterable


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of the story classifier.

    Attributes:
        features: Feature space configuration.
        c: Inverse L2 regularisation strength of the logistic regressions.
        class_weight: ``"balanced"`` or ``None``.
        inner_folds: Folds of the inner cross-validation used to tune thresholds.
        min_positives: Labels with fewer training positives get a constant prior model.
        threshold_bounds: Tuned thresholds are clipped to this range.
        threshold_shrinkage: Weight of the block-wide best threshold against each label's own
            (0: per-label thresholds, 1: one threshold for the whole block).
        seed: Seed of the inner fold split.
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    c: float = 16.0
    class_weight: str | None = "balanced"
    inner_folds: int = 3
    min_positives: int = 3
    threshold_bounds: tuple[float, float] = (0.15, 0.85)
    threshold_shrinkage: float = 0.5
    seed: int = 13


@dataclass
class LabelBlock:
    """Stacked binary logistic regressions: ``sigmoid(X @ weights + bias)``.

    Attributes:
        codes: Label codes, one per column.
        weights: ``(n_features, n_labels)`` float32 matrix.
        bias: ``(n_labels,)`` intercepts.
        thresholds: ``(n_labels,)`` probability thresholds above which a label is detected.
    """

    codes: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    thresholds: np.ndarray

    def probabilities(self, features: sparse.spmatrix) -> np.ndarray:
        """Return raw probabilities, shape ``(n_texts, n_labels)``."""
        logits = np.asarray(features @ self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))

    def confidences(self, features: sparse.spmatrix) -> np.ndarray:
        """Return confidences in [0, 1] rescaled so that each label's threshold maps to 0.5."""
        return rescale(self.probabilities(features), self.thresholds)


def rescale(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Piecewise-linear map sending 0 → 0, threshold → 0.5 and 1 → 1."""
    low = 0.5 * probabilities / thresholds
    high = 0.5 + 0.5 * (probabilities - thresholds) / (1.0 - thresholds)
    return np.clip(np.where(probabilities < thresholds, low, high), 0.0, 1.0)


def fit_block(
    features: sparse.spmatrix,
    targets: np.ndarray,
    codes: Sequence[str],
    config: TrainConfig,
    wrap: ProgressWrap = no_progress,
    description: str = "labels",
) -> LabelBlock:
    """Fit one logistic regression per label column of ``targets`` (thresholds left at 0.5)."""
    n_features, n_labels = features.shape[1], targets.shape[1]
    weights = np.zeros((n_features, n_labels), dtype=np.float32)
    bias = np.zeros(n_labels)
    for column in wrap(range(n_labels), description, n_labels):
        target = targets[:, column]
        positives = int(target.sum())
        if positives < config.min_positives or positives == len(target):
            prior = (positives + 0.5) / (len(target) + 1.0)
            bias[column] = np.log(prior / (1.0 - prior))
            continue
        model = LogisticRegression(
            C=config.c, class_weight=config.class_weight, solver="liblinear", max_iter=200
        )
        model.fit(features, target)
        weights[:, column] = model.coef_[0]
        bias[column] = model.intercept_[0]
    return LabelBlock(tuple(codes), weights, bias, np.full(n_labels, 0.5))


def best_threshold(probabilities: np.ndarray, target: np.ndarray, bounds: tuple[float, float]):
    """Return the threshold maximising F1 of ``probabilities >= t`` (ties: closest to 0.5)."""
    if target.sum() == 0:
        return 0.5
    best, best_f1 = 0.5, -1.0
    for threshold in np.arange(bounds[0], bounds[1] + 1e-9, 0.025):
        predicted = probabilities >= threshold
        true_positives = float(np.sum(predicted & (target == 1)))
        f1 = 2 * true_positives / (predicted.sum() + target.sum())
        if f1 > best_f1 + 1e-9 or (
            abs(f1 - best_f1) <= 1e-9 and abs(threshold - 0.5) < abs(best - 0.5)
        ):
            best, best_f1 = float(threshold), f1
    return best


def out_of_fold_probabilities(
    texts: Sequence[PreparedText],
    blocks: dict[str, np.ndarray],
    config: TrainConfig,
    wrap: ProgressWrap = no_progress,
) -> dict[str, np.ndarray]:
    """Inner cross-validation: out-of-fold probabilities for each target matrix of ``blocks``.

    The feature space is refitted inside every inner fold, so no vocabulary or IDF statistic
    of a held-out text leaks into the model that scores it.
    """
    folds = KFold(config.inner_folds, shuffle=True, random_state=config.seed)
    result = {name: np.zeros(targets.shape, dtype=float) for name, targets in blocks.items()}
    splits = list(folds.split(np.arange(len(texts))))
    for train_index, test_index in wrap(splits, "threshold tuning (inner CV)", len(splits)):
        space = FeatureSpace(config.features)
        train_x = space.fit_transform([texts[i] for i in train_index])
        test_x = space.transform([texts[i] for i in test_index])
        for name, targets in blocks.items():
            codes = [str(i) for i in range(targets.shape[1])]
            block = fit_block(train_x, targets[train_index], codes, config)
            result[name][test_index] = block.probabilities(test_x)
    return result


def tune_thresholds(
    probabilities: np.ndarray, targets: np.ndarray, config: TrainConfig
) -> np.ndarray:
    """Per-label F1-optimal thresholds from out-of-fold probabilities.

    With ``config.threshold_shrinkage`` > 0 each threshold is pulled towards the single
    threshold that maximises micro-F1 over the whole block (steadier for rare labels).
    """
    own = np.array(
        [
            best_threshold(probabilities[:, column], targets[:, column], config.threshold_bounds)
            for column in range(targets.shape[1])
        ]
    )
    if not config.threshold_shrinkage:
        return own
    shared = best_threshold(probabilities.ravel(), targets.ravel(), config.threshold_bounds)
    return (1.0 - config.threshold_shrinkage) * own + config.threshold_shrinkage * shared
