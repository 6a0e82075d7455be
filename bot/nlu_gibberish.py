"""NLU component: messages made only of unknown words go to ``nlu_fallback``.

DIET gives high confidence to *some* intent even for "xqzt vbnm plok", whose features are all
empty. This component runs after the classifiers and, when every alphabetic word of the message
is unknown — out of spaCy's vocabulary, absent from the training examples, and not a near
spelling of a training word — replaces the intent with ``nlu_fallback`` so the two-stage
fallback asks the usager to rephrase.
"""

from __future__ import annotations

import difflib
import json
import unicodedata
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

FALLBACK_INTENT = "nlu_fallback"
VOCAB_FILE = "vocabulary.json"


def _norm(word: str) -> str:
    word = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in word if not unicodedata.combining(c))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class GibberishFallback(GraphComponent):
    """Send messages made only of unknown words to ``nlu_fallback``."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Similarity cutoff for a word to count as a misspelling of a known word."""
        return {"cutoff": 0.8}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: set[str] | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or set()
        self._by_initial: dict[str, list[str]] = {}
        for word in self._vocabulary:
            self._by_initial.setdefault(word[0], []).append(word)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GibberishFallback:
        """Create an untrained component."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Collect the words of the training examples."""
        vocabulary = sorted(
            {
                _norm(word)
                for example in training_data.intent_examples
                for word in str(example.get(TEXT, "")).replace("'", " ").split()
                if any(c.isalpha() for c in word)
            }
        )
        with self._storage.write_to(self._resource) as directory:
            (directory / VOCAB_FILE).write_text(json.dumps(vocabulary), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> GibberishFallback:
        """Load the vocabulary saved by ``train``."""
        try:
            with model_storage.read_from(resource) as directory:
                words = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            words = []
        return cls(config, model_storage, resource, set(words))

    def _known(self, word: str, spacy_token: Any | None) -> bool:
        if spacy_token is not None and not spacy_token.is_oov:
            return True
        norm = _norm(word)
        if norm in self._vocabulary:
            return True
        candidates = self._by_initial.get(norm[:1], [])
        return bool(difflib.get_close_matches(norm, candidates, n=1, cutoff=self._config["cutoff"]))

    def is_gibberish(self, message: Message) -> bool:
        """Whether every alphabetic word of the message is unknown."""
        doc = message.get("text_spacy_doc")
        if doc is not None:
            words = [(t.text, t) for t in doc if t.is_alpha]
        else:
            words = [(w, None) for w in str(message.get(TEXT, "")).split() if w.isalpha()]
        if not words or str(message.get(TEXT, "")).startswith("/"):
            return False
        return not any(self._known(text, token) for text, token in words)

    def process(self, messages: list[Message]) -> list[Message]:
        """Replace the intent of gibberish messages with ``nlu_fallback``."""
        for message in messages:
            if not self._vocabulary or not self.is_gibberish(message):
                continue
            intent = {"name": FALLBACK_INTENT, "confidence": 1.0}
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FALLBACK_INTENT
            ]
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leave training data unchanged."""
        return training_data
