"""Shared, lazily loaded French spaCy pipeline (``fr_core_news_md``)."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

_LOCK = threading.Lock()
MODEL_NAME = "fr_core_news_md"


@functools.lru_cache(maxsize=1)
def get_nlp() -> Language:
    """Return the process-wide ``fr_core_news_md`` pipeline, loading it on first call.

    Returns:
        The loaded spaCy ``Language`` object (parser disabled for speed).
    """
    with _LOCK:
        import spacy

        return spacy.load(MODEL_NAME, disable=["parser"])
