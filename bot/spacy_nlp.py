"""Rasa's ``SpacyNLP``, sharing one spaCy pipeline per process with the personal-data scrubber.

Stock ``SpacyNLP`` calls ``spacy.load`` once per graph node that holds it (two at inference:
the model provider and the message processor), and the scrubbing tracker store loads the same
``fr_core_news_md`` pipeline again for person names (``orientation.nlp.get_nlp``): three copies
of about 400 MB in every Rasa worker. This component hands Rasa the process-wide pipeline of
``orientation.nlp`` instead (same model, same options: ``parser`` disabled, as in stock
``SpacyNLP``), and skips the ``ner`` pipe when it processes a usager's message for NLU (no spaCy
entity extractor in ``config.yml``), so features are unchanged and each message costs less.

It keeps the class name ``SpacyNLP`` on purpose: Rasa's recipe finds the model provider of the
spaCy tokenizer and featurizer by that name (``model_from="SpacyNLP"``); registering it replaces
the stock entry.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.nlu.utils.spacy_utils import SpacyNLP as RasaSpacyNLP

logger = logging.getLogger(__name__)

SKIPPED_FOR_NLU = ("ner",)


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.MODEL_LOADER,
        DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER,
    ],
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyNLP(RasaSpacyNLP):
    """``SpacyNLP`` using the process-wide pipeline of ``orientation.nlp``."""

    @staticmethod
    def load_model(spacy_model_name: str) -> SpacyModel:
        """Return the shared pipeline when it is the one asked for, else load as Rasa does."""
        from orientation import nlp

        if spacy_model_name != nlp.MODEL_NAME:
            return RasaSpacyNLP.load_model(spacy_model_name)
        language = nlp.get_nlp()
        logger.info("spaCy model %s shared with the scrubber (one copy).", spacy_model_name)
        return SpacyModel(model=language, model_name=spacy_model_name)

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Same options as ``SpacyNLP``."""
        return RasaSpacyNLP.get_default_config()

    def _doc_for_text(self, model: Any, text: str) -> Any:
        """Process one message without the pipes NLU does not read."""
        skipped = [name for name in SKIPPED_FOR_NLU if name in model.pipe_names]
        return model(self._preprocess_text(text), disable=skipped)
