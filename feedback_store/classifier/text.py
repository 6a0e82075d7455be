"""Text preparation shared by training and inference: normalisation and spaCy analysis."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

# spaCy components not needed for lemmas (the shared pipeline already disables the parser).
_DISABLED = ("ner",)
_APOSTROPHES = str.maketrans({"’": "'", "`": "'", "´": "'", "ʼ": "'"})
_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")
# Letters repeated 3+ times ("nuuul", "!!!") are shortened to 2.
_REPEATS = re.compile(r"(.)\1{2,}")


def strip_accents(text: str) -> str:
    """Remove diacritics (``é`` → ``e``) and fold ligatures (``œ`` → ``oe``)."""
    text = text.replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def normalise(text: str) -> str:
    """Lower-case, accent-free, digit-masked, whitespace-collapsed form of a text."""
    text = strip_accents(text.translate(_APOSTROPHES).lower())
    text = _DIGITS.sub("0", text)
    text = _REPEATS.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class PreparedText:
    """A text analysed once, ready for feature extraction.

    Attributes:
        normalised: Output of :func:`normalise` (for character n-grams).
        lemmas: Space-separated normalised lemmas, punctuation removed (for word n-grams).
        vector: Mean static word vector of the text (``float32``; zeros if no vector).
    """

    normalised: str
    lemmas: str
    vector: np.ndarray


def _from_doc(text: str, doc) -> PreparedText:  # noqa: ANN001 - spaCy Doc
    lemmas = [
        normalise(token.lemma_ or token.text)
        for token in doc
        if not (token.is_punct or token.is_space)
    ]
    vector = np.asarray(doc.vector, dtype=np.float32)
    return PreparedText(normalise(text), " ".join(lemma for lemma in lemmas if lemma), vector)


def prepare(text: str) -> PreparedText:
    """Analyse one text with the shared spaCy pipeline."""
    from orientation.nlp import get_nlp

    return _from_doc(text, get_nlp()(text.translate(_APOSTROPHES), disable=list(_DISABLED)))


def prepare_many(texts: Iterable[str], batch_size: int = 64) -> Iterator[PreparedText]:
    """Analyse many texts in batches (same output as :func:`prepare`, faster)."""
    from orientation.nlp import get_nlp

    texts = list(texts)
    docs = get_nlp().pipe(
        (text.translate(_APOSTROPHES) for text in texts),
        batch_size=batch_size,
        disable=list(_DISABLED),
    )
    for text, doc in zip(texts, docs, strict=False):
        yield _from_doc(text, doc)
