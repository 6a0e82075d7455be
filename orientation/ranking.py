"""Rank démarches for a free French request ("g perdu mon permi" → ``permis_perte_vol``).

Every catalogue entry (démarches and hors-champ topics) is described by *phrases*: its name and
its synonyms. A request is scored against each entry with three signals, each in [0, 1]:

* ``char``: cosine of character n-gram TF-IDF (``char_wb``, 2-4) on normalised text
  (:func:`orientation.text.normalize`, filler words removed). Robust to typos, missing accents,
  glued elisions ("didentite") and SMS forms. Best phrase of the entry.
* ``word``: cosine of lemma TF-IDF (spaCy ``fr_core_news_md`` lemmas, accent-free). Best phrase
  of the entry, blended with the entry's whole "document" (phrases + description + organisme).
* ``vector``: cosine of mean spaCy word vectors (content words only). Best phrase of the entry.
* ``organisme``: a fixed bonus for the démarches of a body the request names ("la CAF",
  "la sécu"), from the ``aliases`` of ``organismes.yml``.

``score = W_CHAR * char + W_WORD * word + W_VECTOR * vector + organisme``. Weights were
compared on the train split (top-1 varied by less than 0.01 around these values: the synonyms
matter far more than the weights). Requests are cut at ``MAX_TEXT_CHARS`` characters: the
gist of a request is in its beginning and the cost must stay bounded. The decision uses the best
démarche score, its margin over the runner-up, and the best hors-champ score; see
:class:`Thresholds` for the values and how they were chosen (train split of
``tests/data/orientation_requests.yml`` only, never the held-out test split).
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from orientation.catalogue import Catalogue, get_catalogue
from orientation.text import FILLER_WORDS, basic_clean, content_tokens, normalize

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.feature_extraction.text import TfidfVectorizer
    from spacy.language import Language
    from spacy.tokens import Doc

Status = Literal["match", "ambiguous", "out_of_scope", "unknown"]
Kind = Literal["demarche", "hors_champ"]

W_CHAR = 0.40
W_WORD = 0.35
W_VECTOR = 0.25
#: Bonus added to every démarche of an organisme named in the request ("la CAF", "la sécu").
W_ORGANISME = 0.08
#: Share of the phrase-level word score vs. the entry-document word score.
WORD_PHRASE_SHARE = 0.6
#: Longer requests are truncated before analysis.
MAX_TEXT_CHARS = 500


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds on combined scores (all in [0, 1]).

    Attributes:
        unknown: Below this best score nothing is credible → ``unknown``.
        match: A clear ``match`` needs at least this best démarche score...
        margin: ...and at least this lead over the runner-up démarche; otherwise ``ambiguous``.
        window: In ``ambiguous``, démarches within this distance of the best are offered.
        max_choices: At most this many choices are offered as buttons.
        out_of_scope_lead: A hors-champ topic wins when its score beats the best démarche by
            at least this much (it may be negative: hors-champ phrases are short and specific).

    How the defaults were chosen (train split only, ``python -m bench.bench_ranking --split
    train --sweep`` and the score distributions it rests on):

    * Correctly ranked requests have a best score with median 0.76 (5th percentile 0.53);
      nonsense requests ("azertyuiop", "recette de la tarte aux pommes") stay under 0.30 apart
      from a few word collisions. ``unknown = 0.34`` sits between the two populations.
    * The lead over the runner-up separates right from wrong top-1 better than the score:
      wrong top-1 leads have a median of 0.02, right ones 0.26 (25th percentile 0.14). With
      ``margin = 0.07`` "match" precision reaches 0.96 on train while 86 % of in-scope requests
      still get a direct answer; larger margins do not raise precision further.
    * Out-of-scope requests score their hors-champ topic at 0.66-0.95 while their best démarche
      stays near 0.35; in-scope requests rarely reach 0.5 on a hors-champ topic. A lead of 0.0
      keeps out-of-scope detection at 0.98 with 0.6 % of in-scope requests diverted; +0.05
      drops detection to 0.87.
    * ``window = 0.08`` offers, in ``ambiguous``, every démarche about as close as the runner-up
      (at most four buttons, at least two).
    """

    unknown: float = 0.34
    match: float = 0.45
    margin: float = 0.07
    window: float = 0.08
    max_choices: int = 4
    out_of_scope_lead: float = 0.0


@dataclass(frozen=True)
class Candidate:
    """One ranked entry.

    Attributes:
        code: Démarche code (or hors-champ code when ``kind`` is ``hors_champ``).
        kind: ``demarche`` or ``hors_champ``.
        name: Entry name, for buttons.
        score: Combined similarity in [0, 1].
        confidence: Calibrated probability-like confidence in [0, 1].
        signals: The per-signal scores (``char``, ``word``, ``vector``).
    """

    code: str
    kind: Kind
    name: str
    score: float
    confidence: float
    signals: dict[str, float] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class RankingResult:
    """What the ranker understood.

    Attributes:
        status: ``match`` (clear winner), ``ambiguous`` (ask with :attr:`choices` as buttons),
            ``out_of_scope`` (see :attr:`hors_champ`) or ``unknown``.
        candidates: Best démarches, best first (always filled, even when not credible).
        hors_champ: Best hors-champ topic when it is credible, else ``None``.
        choices: What to offer the usager: one démarche for ``match``, 2 to 4 for ``ambiguous``,
            empty otherwise.
    """

    status: Status
    candidates: tuple[Candidate, ...]
    hors_champ: Candidate | None
    choices: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        """The top démarche, or ``None`` when the catalogue is empty."""
        return self.candidates[0] if self.candidates else None

    @property
    def confidence(self) -> float:
        """Confidence of the decision: of the matched démarche, hors-champ topic or best guess."""
        if self.status == "out_of_scope" and self.hors_champ is not None:
            return self.hors_champ.confidence
        if self.status == "unknown":
            return 0.0
        return self.best.confidence if self.best else 0.0

    def top_codes(self, k: int = 3) -> list[str]:
        """Codes of the ``k`` best démarches."""
        return [c.code for c in self.candidates[:k]]


def _confidence(score: float, lead: float) -> float:
    """Map a score and its lead over the best other démarche to [0, 1] (logistic calibration).

    Coefficients were fitted by logistic regression (``python -m bench.bench_ranking
    --calibrate``) on the train split: P(candidate is the expected démarche | score, lead).
    """
    z = CALIBRATION[0] + CALIBRATION[1] * score + CALIBRATION[2] * lead
    return 1.0 / (1.0 + math.exp(-z))


#: Logistic calibration (intercept, score coefficient, lead coefficient).
CALIBRATION: tuple[float, float, float] = (-2.20, 3.01, 14.93)


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class _TfidfIndex:
    """Rows of a fitted TF-IDF space with a fast cosine against one query.

    ``TfidfVectorizer.transform`` plus a sparse product costs about 1 ms per call; building the
    query weights by hand and gathering the matching feature rows costs a tenth of that.
    """

    def __init__(self, vectorizer: TfidfVectorizer, fit_on: list | None, rows: list) -> None:
        if fit_on is not None:
            vectorizer.fit(fit_on)
        self._analyzer = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_
        self._features_by_row = vectorizer.transform(rows).T.tocsr()
        self._n_rows = len(rows)

    def cosines(self, query: str | list[str]) -> np.ndarray:
        """Cosine similarity of every row with ``query`` (text or token list)."""
        counts = Counter(self._analyzer(query))
        index = [self._vocabulary[t] for t in counts if t in self._vocabulary]
        if not index:
            return np.zeros(self._n_rows)
        tf = np.array([counts[t] for t in counts if t in self._vocabulary], dtype=float)
        weights = (1.0 + np.log(tf)) * self._idf[index]
        weights /= np.linalg.norm(weights)
        return np.asarray(self._features_by_row[index].T @ weights).ravel()


class Ranker:
    """Free text → ranked démarches. Build with :meth:`load` or :func:`get_ranker`."""

    def __init__(
        self,
        catalogue: Catalogue,
        nlp: Language,
        thresholds: Thresholds | None = None,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.catalogue = catalogue
        self.thresholds = thresholds or Thresholds()
        self._nlp = nlp

        codes: list[str] = []
        kinds: list[Kind] = []
        names: list[str] = []
        phrases: list[str] = []
        owner: list[int] = []
        documents: list[str] = []
        for demarche in catalogue.demarches:
            organisme = catalogue.organisme(demarche.organisme)
            entry_phrases = [demarche.name, *demarche.synonyms]
            documents.append(" ".join([*entry_phrases, demarche.description, organisme.short_name]))
            codes.append(demarche.code)
            kinds.append("demarche")
            names.append(demarche.name)
            for phrase in entry_phrases:
                phrases.append(phrase)
                owner.append(len(codes) - 1)
        for topic in catalogue.hors_champ:
            entry_phrases = list(topic.synonyms)
            documents.append(" ".join(entry_phrases))
            codes.append(topic.code)
            kinds.append("hors_champ")
            names.append(topic.name)
            for phrase in entry_phrases:
                phrases.append(phrase)
                owner.append(len(codes) - 1)

        self._codes = codes
        self._kinds = np.array(kinds)
        self._names = names
        self._owner = np.array(owner)
        self._starts = np.flatnonzero(np.r_[True, self._owner[1:] != self._owner[:-1]])
        self._is_demarche = self._kinds == "demarche"

        vocabulary: set[str] = set()
        for text in (*phrases, *documents):
            vocabulary.update(basic_clean(text).split())
        self._vocabulary = frozenset(vocabulary - FILLER_WORDS)

        norm_phrases = [self._content(normalize(p, self._vocabulary)) for p in phrases]
        self._char = _TfidfIndex(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True),
            fit_on=norm_phrases,
            rows=norm_phrases,
        )
        phrase_docs = self._analyse_many(phrases)
        entry_docs = self._analyse_many(documents)
        phrase_lemmas = [lemmas for lemmas, _ in phrase_docs]
        entry_lemmas = [lemmas for lemmas, _ in entry_docs]
        word_vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
        self._phrase_word = _TfidfIndex(
            word_vectorizer, fit_on=entry_lemmas + phrase_lemmas, rows=phrase_lemmas
        )
        self._entry_word = _TfidfIndex(word_vectorizer, fit_on=None, rows=entry_lemmas)
        self._phrase_vec = np.vstack([vector for _, vector in phrase_docs])

        self._aliases: list[tuple[str, np.ndarray]] = []
        for organisme in catalogue.organismes:
            mask = np.array(
                [k == "demarche" and d.organisme == organisme.code for k, d in self._entries()]
            )
            for alias in {organisme.code.replace("_", " "), *organisme.aliases}:
                key = normalize(alias)
                if key and key not in FILLER_WORDS:
                    self._aliases.append((f" {key} ", mask))

    @classmethod
    def load(
        cls, catalogue: Catalogue | None = None, thresholds: Thresholds | None = None
    ) -> Ranker:
        """Build a ranker on a catalogue (default: the package catalogue) and the shared nlp.

        Args:
            catalogue: Catalogue to index; defaults to :func:`get_catalogue`.
            thresholds: Decision thresholds; defaults to :class:`Thresholds` defaults.

        Returns:
            A ready ranker (building it takes a few seconds: spaCy runs on every phrase).
        """
        from orientation.nlp import get_nlp

        return cls(catalogue or get_catalogue(), get_nlp(), thresholds)

    def _entries(self) -> list[tuple[str, object]]:
        """(kind, catalogue object) for every entry, in index order."""
        items: list[tuple[str, object]] = [("demarche", d) for d in self.catalogue.demarches]
        return items + [("hors_champ", h) for h in self.catalogue.hors_champ]

    def _organisme_bonus(self, normalized: str) -> np.ndarray:
        padded = f" {normalized} "
        bonus = np.zeros(len(self._codes))
        for key, mask in self._aliases:
            if key in padded:
                bonus[mask] = W_ORGANISME
        return bonus

    @staticmethod
    def _content(normalized: str) -> str:
        return " ".join(content_tokens(normalized))

    def _analyse_many(self, texts: list[str]) -> list[tuple[list[str], np.ndarray]]:
        """Return (content lemmas, unit mean word vector) for each text, spaCy in batches."""
        contents = [self._content(normalize(t, self._vocabulary)) for t in texts]
        docs = self._nlp.pipe(contents, batch_size=256, disable=["ner"])
        return [self._lemmas_and_vector(doc) for doc in docs]

    @staticmethod
    def _lemmas_and_vector(doc: Doc) -> tuple[list[str], np.ndarray]:
        lemmas = [basic_clean(token.lemma_) or token.text for token in doc]
        vectors = [token.vector for token in doc if token.has_vector]
        vector = np.zeros(doc.vocab.vectors_length, dtype=np.float32)
        if vectors:
            mean = np.mean(vectors, axis=0)
            norm = float(np.linalg.norm(mean))
            if norm:
                vector = (mean / norm).astype(np.float32)
        return lemmas, vector

    def _entry_max(self, phrase_scores: np.ndarray) -> np.ndarray:
        return np.maximum.reduceat(phrase_scores, self._starts)

    def signals(self, text: str) -> dict[str, np.ndarray]:
        """Per-entry signal arrays for a request (entries = démarches then hors-champ topics).

        Args:
            text: Raw request.

        Returns:
            Arrays of entry scores keyed ``char``, ``word``, ``vector``, ``organisme`` and
            ``score`` (the combination).
        """
        text = text[:MAX_TEXT_CHARS]
        normalized = normalize(text, self._vocabulary)
        content = self._content(normalized)
        n = len(self._codes)
        if not content:
            zeros = np.zeros(n)
            return {
                "char": zeros,
                "word": zeros,
                "vector": zeros,
                "organisme": zeros,
                "score": zeros,
            }
        char = self._entry_max(self._char.cosines(content))
        lemmas, vector = self._lemmas_and_vector(self._nlp(content, disable=["ner"]))
        word_phrase = self._entry_max(self._phrase_word.cosines(lemmas))
        word_entry = self._entry_word.cosines(lemmas)
        word = WORD_PHRASE_SHARE * word_phrase + (1 - WORD_PHRASE_SHARE) * word_entry
        vec = np.clip(self._entry_max(self._phrase_vec @ vector), 0.0, 1.0)
        organisme = self._organisme_bonus(normalized)
        score = np.clip(W_CHAR * char + W_WORD * word + W_VECTOR * vec + organisme, 0.0, 1.0)
        return {"char": char, "word": word, "vector": vec, "organisme": organisme, "score": score}

    def rank(self, text: str, top_k: int = 5) -> RankingResult:
        """Rank démarches for a free-text request and decide the status.

        Args:
            text: What the usager typed.
            top_k: Number of démarche candidates to return.

        Returns:
            The ranking result (status, candidates, hors-champ topic, choices).
        """
        return self.decide(self.signals(text), top_k=top_k)

    def decide(self, sig: dict[str, np.ndarray], top_k: int = 5) -> RankingResult:
        """Turn per-entry signals (from :meth:`signals`) into a ranking result.

        Args:
            sig: Output of :meth:`signals`.
            top_k: Number of démarche candidates to return.

        Returns:
            The ranking result, using the current :attr:`thresholds`.
        """
        score = sig["score"]
        dem_idx = np.flatnonzero(self._is_demarche)
        hc_idx = np.flatnonzero(~self._is_demarche)
        dem_order = dem_idx[np.argsort(-score[dem_idx], kind="stable")]
        best_hc = int(hc_idx[np.argmax(score[hc_idx])]) if hc_idx.size else None

        def candidate(i: int, lead: float) -> Candidate:
            return Candidate(
                code=self._codes[i],
                kind=str(self._kinds[i]),
                name=self._names[i],
                score=round(float(score[i]), 4),
                confidence=round(_confidence(float(score[i]), lead), 4),
                signals={k: round(float(v[i]), 4) for k, v in sig.items() if k != "score"},
            )

        top_score = float(score[dem_order[0]]) if dem_order.size else 0.0
        second = float(score[dem_order[1]]) if dem_order.size > 1 else 0.0
        hc_score = float(score[best_hc]) if best_hc is not None else 0.0
        candidates = tuple(
            candidate(int(i), float(score[i]) - (second if rank == 0 else top_score))
            for rank, i in enumerate(dem_order[:top_k])
        )
        th = self.thresholds
        hors_champ = None
        if best_hc is not None and hc_score >= th.unknown:
            hors_champ = candidate(best_hc, hc_score - top_score)

        if max(top_score, hc_score) < th.unknown:
            return RankingResult("unknown", candidates, None, ())
        if hors_champ is not None and hc_score - top_score >= th.out_of_scope_lead:
            return RankingResult("out_of_scope", candidates, hors_champ, ())
        if top_score >= th.match and top_score - second >= th.margin:
            return RankingResult("match", candidates, hors_champ, candidates[:1])
        close = tuple(c for c in candidates if top_score - c.score <= th.window)
        choices = close[: th.max_choices] if len(close) >= 2 else candidates[:2]
        return RankingResult("ambiguous", candidates, hors_champ, choices)


@functools.lru_cache(maxsize=1)
def get_ranker() -> Ranker:
    """Return the process-wide ranker on the package catalogue (built once, cached)."""
    return Ranker.load()


def rank(text: str, top_k: int = 5) -> RankingResult:
    """Rank démarches for ``text`` with the shared ranker (see :meth:`Ranker.rank`)."""
    return get_ranker().rank(text, top_k=top_k)
