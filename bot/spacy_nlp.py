"""Rasa's ``SpacyNLP``, loading the spaCy model once per process and only the pipes it uses.

Stock ``SpacyNLP`` calls ``spacy.load`` once per graph node that holds it (two at inference:
the model provider and the message processor), each copy costing about 430 MB with
``fr_core_news_md``. In a Rasa server with several Sanic workers that doubled memory per worker.
This component shares one loaded model per process and name. It keeps the class name
``SpacyNLP`` on purpose: Rasa's recipe finds the model provider of the spaCy tokenizer and
featurizer by that name (``model_from="SpacyNLP"``), and registering it replaces the stock entry.

It also leaves out the pipes nothing downstream reads: ``parser`` (Rasa already disables it)
and ``ner`` (no spaCy entity extractor in ``config.yml``). Tokens, lemmas (used by the word
``CountVectorsFeaturizer``), part-of-speech and vectors are unchanged, so features are the same.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.nlu.utils.spacy_utils import SpacyNLP as RasaSpacyNLP

logger = logging.getLogger(__name__)

UNUSED_PIPES = ("parser", "ner")
_CACHE: dict[str, SpacyModel] = {}
_LOCK = threading.Lock()


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(RasaSpacyNLP):
    """``SpacyNLP`` with one shared, slimmer spaCy model per process."""

    @staticmethod
    def load_model(spacy_model_name: str) -> SpacyModel:
        """Return the process-wide model for ``spacy_model_name``, loading it on first use."""
        with _LOCK:
            if spacy_model_name not in _CACHE:
                import spacy

                try:
                    language = spacy.load(spacy_model_name or "", exclude=list(UNUSED_PIPES))
                except (OSError, ValueError):
                    return RasaSpacyNLP.load_model(spacy_model_name)  # raises Rasa's clear error
                _CACHE[spacy_model_name] = SpacyModel(model=language, model_name=spacy_model_name)
                logger.info("spaCy model %s loaded once for this process.", spacy_model_name)
            return _CACHE[spacy_model_name]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Same options as ``SpacyNLP``."""
        return RasaSpacyNLP.get_default_config()
