"""Feature space of the story classifier: lemma n-grams, character n-grams and a doc vector."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from feedback_store.classifier.text import PreparedText

# Lemmas are already tokenised by spaCy and joined with single spaces.
_SPACE_SEPARATED = r"(?u)[^ ]+"


@dataclass(frozen=True)
class FeatureConfig:
    """Hyper-parameters of :class:`FeatureSpace`.

    Attributes:
        word_ngrams: n-gram range over lemmas.
        char_ngrams: n-gram range of ``char_wb`` n-grams over the normalised text.
        min_df: Minimum document frequency of an n-gram.
        max_char_features: Cap on the character vocabulary.
        word_weight: Scale of the lemma block.
        char_weight: Scale of the character block.
        vector_weight: Scale of the (L2-normalised) doc vector block; 0 disables it.
    """

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 2
    max_char_features: int = 60000
    word_weight: float = 1.0
    char_weight: float = 1.0
    vector_weight: float = 0.5


class FeatureSpace:
    """Fit on training texts only, then turn any :class:`PreparedText` into a sparse row."""

    def __init__(self, config: FeatureConfig | None = None) -> None:
        self.config = config or FeatureConfig()
        self._words = TfidfVectorizer(
            analyzer="word",
            token_pattern=_SPACE_SEPARATED,
            ngram_range=self.config.word_ngrams,
            min_df=self.config.min_df,
            sublinear_tf=True,
            lowercase=False,
        )
        self._chars = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=self.config.char_ngrams,
            min_df=self.config.min_df,
            max_features=self.config.max_char_features,
            sublinear_tf=True,
            lowercase=False,
        )
        self._vector_size = 0
        self._analyzer_cache: tuple | None = None

    def fit(self, texts: Sequence[PreparedText]) -> FeatureSpace:
        """Learn vocabularies and IDF weights from training texts."""
        self._words.fit([text.lemmas for text in texts])
        self._chars.fit([text.normalised for text in texts])
        # The pruned-terms sets are only for introspection and bloat the saved model.
        self._words.stop_words_ = None
        self._chars.stop_words_ = None
        self._vector_size = len(texts[0].vector) if texts and self.config.vector_weight else 0
        return self

    def transform(self, texts: Sequence[PreparedText]) -> sparse.csr_matrix:
        """Return the feature matrix (one row per text).

        Computes TF-IDF rows directly from the fitted vocabularies (same values as
        ``TfidfVectorizer.transform``) to avoid its per-call overhead on single stories.
        """
        config = self.config
        blocks = [
            (self._words, config.word_weight, [text.lemmas for text in texts]),
            (self._chars, config.char_weight, [text.normalised for text in texts]),
        ]
        analyzers = self._analyzers()
        width = self.size
        indptr, indices, values = [0], [], []
        for row, text in enumerate(texts):
            offset = 0
            for (vectorizer, weight, documents), analyze in zip(blocks, analyzers, strict=False):
                counts = collections.Counter(
                    column
                    for column in map(vectorizer.vocabulary_.get, analyze(documents[row]))
                    if column is not None
                )
                if counts:
                    columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                    tf = 1.0 + np.log(np.fromiter(counts.values(), float, count=len(counts)))
                    weights = tf * vectorizer.idf_[columns]
                    weights *= weight / np.linalg.norm(weights)
                    indices.append(columns + offset)
                    values.append(weights)
                offset += len(vectorizer.vocabulary_)
            if self._vector_size:
                vector = text.vector.astype(np.float64)
                norm = np.linalg.norm(vector)
                if norm:
                    indices.append(np.arange(offset, offset + self._vector_size))
                    values.append(vector / norm * config.vector_weight)
            indptr.append(sum(len(chunk) for chunk in indices))
        return sparse.csr_matrix(
            (
                np.concatenate(values) if values else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
                np.asarray(indptr),
            ),
            shape=(len(texts), width),
        )

    def _analyzers(self) -> tuple:
        if self._analyzer_cache is None:
            self._analyzer_cache = (self._words.build_analyzer(), self._chars.build_analyzer())
        return self._analyzer_cache

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_analyzer_cache"] = None
        return state

    def fit_transform(self, texts: Sequence[PreparedText]) -> sparse.csr_matrix:
        """Fit, then transform the same texts."""
        return self.fit(texts).transform(texts)

    @property
    def size(self) -> int:
        """Number of features."""
        return len(self._words.vocabulary_) + len(self._chars.vocabulary_) + self._vector_size
