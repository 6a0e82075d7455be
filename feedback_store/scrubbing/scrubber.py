"""The scrubber: runs every detector, merges overlapping spans, writes placeholders."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from .addresses import detect_addresses
from .identifiers import detect_identifiers
from .names import (
    components_not_needed,
    detect_name_rules,
    detect_person_entities,
    expand_names,
    french_lexicon,
)
from .patterns import fold
from .result import PLACEHOLDER_RE, PRIORITY, Kind, Replacement, ScrubResult

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

DEFAULT_CHUNK_CHARS = 5_000
DETECT_CACHE_SIZE = 2048
DETECT_CACHE_MAX_CHARS = 2_000  # longer texts (stories) are rarely repeated: not kept


def _chunks(text: str, size: int) -> list[tuple[int, str]]:
    """Cut ``text`` into pieces of at most ``size`` characters at line, sentence or word ends."""
    pieces: list[tuple[int, str]] = []
    position = 0
    while position < len(text):
        stop = position + size
        if stop >= len(text):
            pieces.append((position, text[position:]))
            break
        window = text[position:stop]
        cut = max(window.rfind("\n"), window.rfind(". "), window.rfind(" "))
        if cut <= 0:
            cut = size - 1
        pieces.append((position, text[position : position + cut + 1]))
        position += cut + 1
    return pieces


def _trim(text: str, span: Replacement) -> Replacement | None:
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;"):
        end -= 1
    return Replacement(span.kind, start, end) if end > start else None


def merge_spans(spans: list[Replacement]) -> list[Replacement]:
    """Merge overlapping spans into one span each, keeping the highest-priority kind.

    Args:
        spans: Detected spans, in any order, possibly overlapping.

    Returns:
        Disjoint spans sorted by start.
    """
    merged: list[Replacement] = []
    best_length = 0
    for span in sorted(spans, key=lambda item: (item.start, -item.end)):
        if merged and span.start < merged[-1].end:
            current = merged[-1]
            kind = current.kind
            rank = (PRIORITY[span.kind], span.end - span.start)
            if rank > (PRIORITY[kind], best_length):
                kind, best_length = span.kind, span.end - span.start
            merged[-1] = Replacement(kind, current.start, max(current.end, span.end))
        else:
            merged.append(span)
            best_length = span.end - span.start
    return merged


class Scrubber:
    """Replaces personal data in French text by placeholders such as ``[TELEPHONE]``.

    Deterministic and idempotent: placeholders are never detected again. Build one per process
    (see :func:`get_scrubber`); it is stateless between calls and thread-safe as far as spaCy is.

    Args:
        nlp: A French spaCy pipeline with an ``ner`` component for person names; None runs the
            rules only (names after titles, introductions, signatures...), without statistical NER.
        chunk_chars: Texts longer than this are fed to spaCy in pieces of this size.
    """

    def __init__(self, nlp: Language | None = None, *, chunk_chars: int = DEFAULT_CHUNK_CHARS):
        self._nlp = nlp
        self._chunk_chars = chunk_chars
        self._disable = components_not_needed(nlp) if nlp is not None else []
        self._is_common_word = french_lexicon(nlp) if nlp is not None else None
        # The same texts come back often: every event is scrubbed for the tracker store and again
        # for the event broker, and bot answers are templates. Kept in memory only, bounded.
        self._detect_cached = functools.lru_cache(maxsize=DETECT_CACHE_SIZE)(self._detect)

    @classmethod
    def load(cls) -> Scrubber:
        """Build a scrubber using the shared ``fr_core_news_md`` pipeline (loads it if needed)."""
        from orientation.nlp import get_nlp

        return cls(get_nlp())

    @property
    def uses_ner(self) -> bool:
        """Whether spaCy person entities are used on top of the rules."""
        return self._nlp is not None

    def detect(self, text: str) -> list[Replacement]:
        """Return the disjoint spans of ``text`` to replace, sorted by start.

        Args:
            text: Any string (empty, very long, any Unicode).

        Returns:
            Spans with offsets in ``text``.
        """
        if len(text) > DETECT_CACHE_MAX_CHARS:
            return list(self._detect(text))
        return list(self._detect_cached(text))

    def _detect(self, text: str) -> tuple[Replacement, ...]:
        if not text or text.isspace():
            return ()
        folded = fold(text)
        spans = detect_identifiers(folded)
        spans.extend(detect_addresses(folded))
        names = list(detect_name_rules(folded))
        if self._nlp is not None and any(char.isupper() for char in folded):
            names.extend(
                detect_person_entities(
                    folded,
                    self._nlp,
                    _chunks(folded, self._chunk_chars),
                    self._disable,
                    self._is_common_word,
                )
            )
        names.extend(expand_names(folded, names))
        spans.extend(names)
        protected = [(match.start(), match.end()) for match in PLACEHOLDER_RE.finditer(folded)]
        kept: list[Replacement] = []
        for span in spans:
            trimmed = _trim(folded, span)
            if trimmed is None:
                continue
            if any(start <= trimmed.start and trimmed.end <= end for start, end in protected):
                continue
            kept.append(trimmed)
        return tuple(merge_spans(kept))

    def scrub(self, text: str) -> ScrubResult:
        """Replace every detected value by its kind's placeholder.

        Args:
            text: The text to anonymise.

        Returns:
            The scrubbed text and the replaced spans (kinds and input offsets, no values).
        """
        if not isinstance(text, str):
            raise TypeError(f"scrub() expects str, got {type(text).__name__}")
        spans = self.detect(text)
        parts: list[str] = []
        position = 0
        for span in spans:
            parts.append(text[position : span.start])
            parts.append(span.kind.placeholder)
            position = span.end
        parts.append(text[position:])
        return ScrubResult("".join(parts), spans)

    def scrub_value(self, value: Any) -> Any:
        """Return a copy of ``value`` with every string inside it scrubbed.

        Dicts (values only, keys are kept), lists, tuples and sets are walked recursively; other
        objects (numbers, None, booleans) are returned unchanged.
        """
        if isinstance(value, str):
            return self.scrub(value).text
        if isinstance(value, dict):
            return {key: self.scrub_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.scrub_value(item) for item in value]
        if isinstance(value, tuple):
            return tuple(self.scrub_value(item) for item in value)
        if isinstance(value, set | frozenset):
            return type(value)(self.scrub_value(item) for item in value)
        return value


@functools.lru_cache(maxsize=1)
def get_scrubber() -> Scrubber:
    """Return the process-wide scrubber (rules + spaCy NER), built on first call."""
    return Scrubber.load()


def scrub(text: str) -> ScrubResult:
    """Scrub ``text`` with the process-wide scrubber (see :meth:`Scrubber.scrub`)."""
    return get_scrubber().scrub(text)


def scrub_value(value: Any) -> Any:
    """Scrub every string inside ``value`` with the process-wide scrubber."""
    return get_scrubber().scrub_value(value)


__all__ = ["Kind", "Scrubber", "get_scrubber", "merge_spans", "scrub", "scrub_value"]
