"""Process-wide access to a trained story classifier (load the artefact, or train it)."""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

from feedback_store import taxonomy
from feedback_store.classifier.corpus import DEFAULT_CORPUS_DIR, corpus_hash, load_corpus
from feedback_store.classifier.model import ModelVersionError, StoryClassifier
from feedback_store.classifier.training import ProgressWrap, TrainConfig, no_progress

logger = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = (
    Path(__file__).resolve().parents[2] / "var" / "models" / "story_classifier.joblib"
)
_LOCK = threading.Lock()


def train_and_save(
    data_dir: str | Path = DEFAULT_CORPUS_DIR,
    out: str | Path = DEFAULT_MODEL_PATH,
    config: TrainConfig | None = None,
    wrap: ProgressWrap = no_progress,
) -> StoryClassifier:
    """Train on a corpus folder and write the artefact.

    Args:
        data_dir: Folder of labelled ``*.yml`` stories.
        out: Artefact path (parent folders are created).
        config: Hyper-parameters (defaults otherwise).
        wrap: Progress wrapper ``wrap(iterable, description, total)``.

    Returns:
        The trained classifier.
    """
    stories = load_corpus(data_dir)
    classifier = StoryClassifier.train(stories, corpus_hash(data_dir), config, wrap)
    classifier.save(out)
    return classifier


def is_current(classifier: StoryClassifier, data_dir: str | Path | None) -> bool:
    """Tell whether a classifier matches the taxonomy and, if given, the corpus folder."""
    if classifier.taxonomy_version != taxonomy.TAXONOMY_VERSION:
        return False
    if data_dir is None or not Path(data_dir).is_dir():
        return True
    return classifier.data_hash == corpus_hash(data_dir)


def load_or_train(
    path: str | Path = DEFAULT_MODEL_PATH,
    data_dir: str | Path | None = DEFAULT_CORPUS_DIR,
) -> StoryClassifier:
    """Load the artefact at ``path``; (re)train it from ``data_dir`` if missing or outdated.

    An artefact is outdated when it was built for another taxonomy version or artefact format,
    or from a corpus whose hash differs from ``data_dir``'s. With ``data_dir=None`` (or a folder
    that does not exist) an existing artefact is used as is.

    Raises:
        FileNotFoundError: If there is no artefact and no corpus to train one.
    """
    path = Path(path)
    with _LOCK:
        if path.exists():
            try:
                classifier = StoryClassifier.load(path)
            except ModelVersionError as error:
                logger.warning("Story classifier at %s is outdated (%s); retraining.", path, error)
            else:
                if is_current(classifier, data_dir):
                    return classifier
                logger.warning("Story corpus changed since %s was trained; retraining.", path)
        if data_dir is None or not Path(data_dir).is_dir():
            raise FileNotFoundError(f"No story classifier at {path} and no corpus to train one.")
        logger.info("Training the story classifier from %s into %s.", data_dir, path)
        return train_and_save(data_dir, path)


@functools.lru_cache(maxsize=4)
def get_classifier(
    path: str | Path = DEFAULT_MODEL_PATH,
    data_dir: str | Path | None = DEFAULT_CORPUS_DIR,
) -> StoryClassifier:
    """Return the process-wide classifier for ``path`` (cached; see :func:`load_or_train`)."""
    return load_or_train(path, data_dir)
