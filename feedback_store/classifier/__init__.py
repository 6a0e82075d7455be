"""Story classifier: irritants and engagements of an experience story, tags généraux derived.

Public API (imported lazily, so ``import feedback_store.classifier`` stays cheap)::

    from feedback_store.classifier import get_classifier
    result = get_classifier().classify("J'ai attendu deux heures au guichet…")
    result.irritants  # {"attente": 0.93}; result.engagements, result.tags, result.model_version
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Classification": "feedback_store.classifier.model",
    "StoryClassifier": "feedback_store.classifier.model",
    "ModelVersionError": "feedback_store.classifier.model",
    "TrainConfig": "feedback_store.classifier.training",
    "get_classifier": "feedback_store.classifier.registry",
    "load_or_train": "feedback_store.classifier.registry",
    "train_and_save": "feedback_store.classifier.registry",
    "DEFAULT_MODEL_PATH": "feedback_store.classifier.registry",
    "DEFAULT_CORPUS_DIR": "feedback_store.classifier.corpus",
    "load_corpus": "feedback_store.classifier.corpus",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
