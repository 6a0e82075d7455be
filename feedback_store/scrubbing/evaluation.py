"""Score a scrubber on a labelled set of sentences (used by the benchmark and the regression test).

Definitions (counted on planted values, see ``tests/data/pii_sentences.yml``):

- recall: share of planted values that no longer appear in the scrubbed text;
- coverage: stricter, share of planted values whose every non-space character lies inside a
  replaced span (catches "Jean [NOM]" where "Jean Dupont" was planted);
- precision: share of replaced spans that overlap a planted value;
- look-alikes removed: "keep" values that no longer appear in the scrubbed text.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .result import Kind, Replacement
from .scrubber import Scrubber


@dataclass(frozen=True)
class LabelledSentence:
    """One labelled sentence: text, planted personal data and look-alikes to keep."""

    id: str
    split: str
    text: str
    pii: tuple[tuple[Kind, str], ...]
    keep: tuple[str, ...]


def load_labelled(path: str | Path) -> list[LabelledSentence]:
    """Load and check a labelled YAML file.

    Raises:
        ValueError: If a planted or kept value does not occur in its sentence.
    """
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    sentences = []
    for item in raw["sentences"]:
        pii = tuple((Kind(kind), str(value)) for kind, value in item.get("pii") or [])
        keep = tuple(str(value) for value in item.get("keep") or [])
        for value in [value for _, value in pii] + list(keep):
            if value not in item["text"]:
                raise ValueError(f"{item['id']}: {value!r} is not in the text")
        sentences.append(LabelledSentence(item["id"], item["split"], item["text"], pii, keep))
    return sentences


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    spans, start = [], text.find(value)
    while start >= 0:
        spans.append((start, start + len(value)))
        start = text.find(value, start + len(value))
    return spans


@dataclass
class KindScore:
    """Counts for one kind of personal data."""

    planted: int = 0
    removed: int = 0
    covered: int = 0
    scrubbed: int = 0
    scrubbed_on_planted: int = 0

    @property
    def recall(self) -> float:
        """Planted values absent from the output / planted values."""
        return self.removed / self.planted if self.planted else 1.0

    @property
    def coverage(self) -> float:
        """Planted values fully inside replaced spans / planted values."""
        return self.covered / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        """Replaced spans overlapping a planted value / replaced spans."""
        return self.scrubbed_on_planted / self.scrubbed if self.scrubbed else 1.0


@dataclass
class Evaluation:
    """Scores of one run over a set of sentences."""

    sentences: int = 0
    per_kind: dict[str, KindScore] = field(default_factory=lambda: defaultdict(KindScore))
    overall: KindScore = field(default_factory=KindScore)
    per_split: dict[str, KindScore] = field(default_factory=lambda: defaultdict(KindScore))
    outputs: dict[str, str] = field(default_factory=dict)
    lookalikes: int = 0
    lookalikes_removed: list[tuple[str, str]] = field(default_factory=list)
    missed: list[tuple[str, str, str]] = field(default_factory=list)
    false_positives: list[tuple[str, str, str]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def latency_percentile(self, percent: int) -> float:
        """Latency percentile in milliseconds (p50, p95...)."""
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[percent - 1]


def _covered(replacements: list[Replacement], text: str, start: int, end: int) -> bool:
    return all(
        text[offset].isspace() or any(r.start <= offset < r.end for r in replacements)
        for offset in range(start, end)
    )


def evaluate(scrubber: Scrubber, sentences: list[LabelledSentence]) -> Evaluation:
    """Scrub every sentence and count recall, coverage, precision, look-alikes and latency."""
    result = Evaluation()
    for sentence in sentences:
        started = time.perf_counter()
        scrubbed = scrubber.scrub(sentence.text)
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        result.sentences += 1
        result.outputs[sentence.id] = scrubbed.text
        planted_spans: list[tuple[int, int]] = []
        for kind, value in sentence.pii:
            occurrences = _occurrences(sentence.text, value)
            planted_spans.extend(occurrences)
            removed = value not in scrubbed.text
            covered = all(
                _covered(scrubbed.replacements, sentence.text, *span) for span in occurrences
            )
            for score in (
                result.per_kind[kind.value],
                result.overall,
                result.per_split[sentence.split],
            ):
                score.planted += 1
                score.removed += removed
                score.covered += covered
            if not removed or not covered:
                result.missed.append((sentence.id, kind.value, value))
        for replacement in scrubbed.replacements:
            hit = any(
                replacement.start < end and start < replacement.end for start, end in planted_spans
            )
            for score in (
                result.per_kind[replacement.kind.value],
                result.overall,
                result.per_split[sentence.split],
            ):
                score.scrubbed += 1
                score.scrubbed_on_planted += hit
            if not hit:
                value = sentence.text[replacement.start : replacement.end]
                result.false_positives.append((sentence.id, replacement.kind.value, value))
        for value in sentence.keep:
            result.lookalikes += 1
            if value not in scrubbed.text:
                result.lookalikes_removed.append((sentence.id, value))
    return result
