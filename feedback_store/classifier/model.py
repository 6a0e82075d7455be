"""The story classifier: irritants and engagements with a confidence each, tags derived."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np

from feedback_store import taxonomy
from feedback_store.classifier.corpus import LabelledStory
from feedback_store.classifier.features import FeatureSpace
from feedback_store.classifier.text import PreparedText, prepare, prepare_many
from feedback_store.classifier.training import (
    LabelBlock,
    ProgressWrap,
    TrainConfig,
    fit_block,
    no_progress,
    out_of_fold_probabilities,
    tune_thresholds,
)

ARTEFACT_FORMAT = 1
IRRITANT_CODES: tuple[str, ...] = tuple(taxonomy.IRRITANTS)
ENGAGEMENT_CODES: tuple[str, ...] = tuple(taxonomy.ENGAGEMENTS)
# A label is detected when its confidence reaches this value (thresholds are rescaled to it).
DETECTION_CONFIDENCE = 0.5


class ModelVersionError(ValueError):
    """The artefact was built for another taxonomy or artefact format."""


@dataclass(frozen=True)
class Classification:
    """What the classifier understood of one story.

    Attributes:
        irritants: Detected irritant codes → confidence (≥ 0.5), highest first.
        engagements: Detected engagement codes → confidence (≥ 0.5), highest first.
        tags: Tags généraux derived from the detected irritants.
        model_version: Version of the model that produced it (taxonomy + data hash).
        irritant_scores: Confidence of every irritant code, in taxonomy order.
        engagement_scores: Confidence of every engagement code, in taxonomy order.
    """

    irritants: Mapping[str, float]
    engagements: Mapping[str, float]
    tags: frozenset[str]
    model_version: str
    irritant_scores: Mapping[str, float] = field(default_factory=dict)
    engagement_scores: Mapping[str, float] = field(default_factory=dict)

    def top_irritants(self, n: int = 3) -> list[tuple[str, float]]:
        """Return the ``n`` irritants with the highest confidence, detected or not."""
        ranked = sorted(self.irritant_scores.items(), key=lambda item: -item[1])
        return ranked[:n]


def _detected(scores: Mapping[str, float]) -> Mapping[str, float]:
    kept = [(code, score) for code, score in scores.items() if score >= DETECTION_CONFIDENCE]
    return MappingProxyType(dict(sorted(kept, key=lambda item: -item[1])))


def _targets(stories: Sequence[LabelledStory], attribute: str, codes: Sequence[str]) -> np.ndarray:
    return np.array(
        [[code in getattr(story, attribute) for code in codes] for story in stories], dtype=int
    )


# Irritant → engagement incidence matrix: engagement confidence is at least that of any
# detected irritant implying it (labels are defined that way in TAXONOMY.md).
_IMPLIES = np.array(
    [
        [code in taxonomy.IRRITANTS[irritant].engagements for code in ENGAGEMENT_CODES]
        for irritant in IRRITANT_CODES
    ],
    dtype=float,
)


class StoryClassifier:
    """Multi-label classifier of experience stories (build with :meth:`train` or :meth:`load`)."""

    def __init__(
        self,
        space: FeatureSpace,
        irritant_block: LabelBlock,
        engagement_block: LabelBlock,
        data_hash: str,
        config: TrainConfig,
        trained_at: str,
        taxonomy_version: str = taxonomy.TAXONOMY_VERSION,
    ) -> None:
        self.space = space
        self.irritant_block = irritant_block
        self.engagement_block = engagement_block
        self.data_hash = data_hash
        self.config = config
        self.trained_at = trained_at
        self.taxonomy_version = taxonomy_version

    @property
    def model_version(self) -> str:
        """Taxonomy version plus a short hash of the training data."""
        return f"{self.taxonomy_version}+{self.data_hash[:12]}"

    @classmethod
    def train(
        cls,
        stories: Sequence[LabelledStory],
        data_hash: str,
        config: TrainConfig | None = None,
        wrap: ProgressWrap = no_progress,
        prepared: Sequence[PreparedText] | None = None,
    ) -> StoryClassifier:
        """Train on labelled stories.

        Args:
            stories: Training stories.
            data_hash: Fingerprint of the training data, carried by the artefact.
            config: Hyper-parameters (defaults otherwise).
            wrap: Progress wrapper ``wrap(iterable, description, total)``.
            prepared: The stories already analysed by :func:`prepare_many` (same order), to
                skip the spaCy pass (benchmarks).

        Returns:
            The trained classifier.
        """
        config = config or TrainConfig()
        if prepared is None:
            texts = [story.text for story in stories]
            prepared = list(wrap(prepare_many(texts), "spaCy analysis", len(texts)))
        irritant_targets = _targets(stories, "irritants", IRRITANT_CODES)
        engagement_targets = _targets(stories, "engagements", ENGAGEMENT_CODES)
        oof = out_of_fold_probabilities(
            prepared,
            {"irritants": irritant_targets, "engagements": engagement_targets},
            config,
            wrap,
        )
        space = FeatureSpace(config.features)
        features = space.fit_transform(prepared)
        irritants = fit_block(
            features, irritant_targets, IRRITANT_CODES, config, wrap, "irritant models"
        )
        engagements = fit_block(
            features, engagement_targets, ENGAGEMENT_CODES, config, wrap, "engagement models"
        )
        irritants.thresholds = tune_thresholds(oof["irritants"], irritant_targets, config)
        engagements.thresholds = tune_thresholds(oof["engagements"], engagement_targets, config)
        trained_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return cls(space, irritants, engagements, data_hash, config, trained_at)

    def classify_prepared(self, texts: Sequence[PreparedText]) -> list[Classification]:
        """Classify texts already analysed by :func:`prepare` / :func:`prepare_many`."""
        if not texts:
            return []
        features = self.space.transform(texts)
        irritant_conf = self.irritant_block.confidences(features)
        direct = self.engagement_block.confidences(features)
        implied = np.max(irritant_conf[:, :, None] * _IMPLIES[None, :, :], axis=1)
        engagement_conf = np.maximum(direct, implied)
        results = []
        for irritant_row, engagement_row in zip(irritant_conf, engagement_conf, strict=False):
            irritant_scores = {
                c: round(float(s), 4) for c, s in zip(IRRITANT_CODES, irritant_row, strict=False)
            }
            engagement_scores = {
                c: round(float(s), 4)
                for c, s in zip(ENGAGEMENT_CODES, engagement_row, strict=False)
            }
            detected = _detected(irritant_scores)
            results.append(
                Classification(
                    irritants=detected,
                    engagements=_detected(engagement_scores),
                    tags=frozenset(taxonomy.derive_tags(detected)),
                    model_version=self.model_version,
                    irritant_scores=MappingProxyType(irritant_scores),
                    engagement_scores=MappingProxyType(engagement_scores),
                )
            )
        return results

    def classify(self, text: str) -> Classification:
        """Classify one story text (blank text → nothing detected)."""
        if not text or not text.strip():
            return Classification(
                MappingProxyType({}),
                MappingProxyType({}),
                frozenset(),
                self.model_version,
                MappingProxyType(dict.fromkeys(IRRITANT_CODES, 0.0)),
                MappingProxyType(dict.fromkeys(ENGAGEMENT_CODES, 0.0)),
            )
        return self.classify_prepared([prepare(text)])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """Classify several texts (one batched spaCy pass)."""
        return [
            result if text.strip() else self.classify(text)
            for text, result in zip(
                texts, self.classify_prepared(list(prepare_many(texts))), strict=False
            )
        ]

    def save(self, path: str | Path) -> Path:
        """Write the artefact with joblib (parent folders created); returns the path."""
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        artefact = {
            "format": ARTEFACT_FORMAT,
            "taxonomy_version": self.taxonomy_version,
            "data_hash": self.data_hash,
            "trained_at": self.trained_at,
            "config": self.config,
            "space": self.space,
            "irritants": self.irritant_block,
            "engagements": self.engagement_block,
        }
        temporary = path.with_suffix(path.suffix + ".tmp")
        joblib.dump(artefact, temporary, compress=3)
        temporary.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> StoryClassifier:
        """Load an artefact written by :meth:`save`.

        Raises:
            FileNotFoundError: If the file does not exist.
            ModelVersionError: If it was built for another taxonomy version or format, or is
                not a story classifier artefact.
        """
        import joblib

        artefact = joblib.load(Path(path))
        if not isinstance(artefact, dict) or artefact.get("format") != ARTEFACT_FORMAT:
            raise ModelVersionError(f"{path} is not a story classifier artefact (format 1).")
        if artefact["taxonomy_version"] != taxonomy.TAXONOMY_VERSION:
            raise ModelVersionError(
                f"{path} was trained for taxonomy {artefact['taxonomy_version']}, "
                f"this code uses {taxonomy.TAXONOMY_VERSION}: retrain it."
            )
        if artefact["irritants"].codes != IRRITANT_CODES or (
            artefact["engagements"].codes != ENGAGEMENT_CODES
        ):
            raise ModelVersionError(f"{path} does not cover the current label codes: retrain it.")
        return cls(
            artefact["space"],
            artefact["irritants"],
            artefact["engagements"],
            artefact["data_hash"],
            artefact["config"],
            artefact["trained_at"],
            artefact["taxonomy_version"],
        )
