import collections
import shutil
from dataclasses import replace
from pathlib import Path

import joblib
import pytest
import yaml

from feedback_store import taxonomy
from feedback_store.classifier import registry
from feedback_store.classifier.corpus import (
    DEFAULT_CORPUS_DIR,
    corpus_hash,
    label_counts,
    load_corpus,
)
from feedback_store.classifier.model import (
    ENGAGEMENT_CODES,
    IRRITANT_CODES,
    ModelVersionError,
    StoryClassifier,
)
from feedback_store.classifier.text import normalise, strip_accents
from feedback_store.classifier.training import TrainConfig, rescale

# --- corpus -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def corpus():
    return load_corpus(DEFAULT_CORPUS_DIR)


def test_corpus_size_and_irritant_coverage(corpus):
    assert len(corpus) >= 600
    counts = label_counts(corpus)
    for code in taxonomy.IRRITANTS:
        assert counts["irritant"][code] >= 25, code
    assert set(counts["ressenti"]) == set(taxonomy.RESSENTIS)
    assert set(counts["tag"]) == set(taxonomy.TAGS_GENERAUX)


def test_corpus_labels_are_consistent(corpus):
    texts = collections.Counter(story.text.lower() for story in corpus)
    assert texts.most_common(1)[0][1] == 1, "duplicate story"
    multi = [story for story in corpus if len(story.irritants) > 1]
    assert len(multi) >= 100
    positives = [story for story in corpus if story.ressenti == "positif"]
    assert len(positives) >= 60
    for story in corpus:
        assert taxonomy.engagements_for(story.irritants) <= story.engagements
        if story.ressenti == "positif":
            assert not story.irritants and story.engagements, story.source


def test_corpus_is_split_by_theme():
    files = sorted(path.stem for path in DEFAULT_CORPUS_DIR.glob("*.yml"))
    assert len(files) >= 8
    assert {"caf", "impots", "mairie", "france_travail"} <= set(files)


def _write_corpus(folder: Path, stories: list[dict], version: str = "2026.1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = {"taxonomy_version": version, "stories": stories}
    (folder / "sample.yml").write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    return folder


def test_load_corpus_rejects_bad_items(tmp_path):
    good = {"text": "On attend", "ressenti": "negatif", "irritants": ["attente"]}
    with pytest.raises(ValueError, match=r"sample.yml#0: engagements \['E2', 'E4'\]"):
        load_corpus(_write_corpus(tmp_path / "a", [good]))
    bad_code = dict(good, irritants=["queue"], engagements=[])
    with pytest.raises(ValueError, match="Unknown irritant code 'queue'"):
        load_corpus(_write_corpus(tmp_path / "b", [bad_code]))
    fixed = dict(good, engagements=["E2", "E4"])
    with pytest.raises(ValueError, match="taxonomy 2019.1"):
        load_corpus(_write_corpus(tmp_path / "c", [fixed], version="2019.1"))
    assert load_corpus(_write_corpus(tmp_path / "d", [fixed]))[0].engagements == {"E2", "E4"}
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "empty")


def test_corpus_hash_tracks_content(tmp_path):
    story = {"text": "Merci", "ressenti": "positif", "irritants": [], "engagements": ["E1"]}
    folder = _write_corpus(tmp_path, [story])
    first = corpus_hash(folder)
    assert first == corpus_hash(folder) and len(first) == 64
    _write_corpus(tmp_path, [dict(story, text="Merci beaucoup")])
    assert corpus_hash(folder) != first


# --- text ---------------------------------------------------------------------------------


def test_normalise():
    assert strip_accents("Préfecture à Noël, cœur") == "Prefecture a Noel, coeur"
    assert normalise("J’ai  attendu 2h15 à  la CAF !!!") == "j'ai attendu 0h00 a la caf !!"


def test_rescale_maps_threshold_to_half():
    import numpy as np

    values = rescale(np.array([[0.0, 0.2, 0.6, 1.0]]), np.array([0.2, 0.2, 0.6, 0.3]))
    assert values.tolist() == [[0.0, 0.5, 0.5, 1.0]]


# --- classifier ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def trained(tmp_path_factory, corpus):
    """Train once on the shipped corpus (2 inner folds to keep it short) and save it."""
    path = tmp_path_factory.mktemp("model") / "story_classifier.joblib"
    config = replace(TrainConfig(), inner_folds=2)
    classifier = StoryClassifier.train(corpus, corpus_hash(DEFAULT_CORPUS_DIR), config)
    classifier.save(path)
    return path


@pytest.fixture(scope="session")
def classifier(trained):
    return StoryClassifier.load(trained)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Je suis restée plus de deux heures debout au guichet de la préfecture avant "
            "qu'on m'appelle, avec mon bébé dans les bras.",
            "attente",
        ),
        (
            "J'ai téléphoné dix fois à la caisse de retraite, ça sonne et personne ne décroche "
            "jamais. Mes mails restent aussi sans réponse.",
            "injoignable",
        ),
        (
            "La CPAM a égaré mes feuilles de soins, ils disent ne les avoir jamais reçues alors "
            "que je les ai postées.",
            "dossier_perdu",
        ),
        (
            "Le site plante à chaque fois que je veux valider ma demande en ligne, page "
            "d'erreur, impossible d'aller au bout.",
            "numerique_defaillant",
        ),
    ],
)
def test_clear_stories(classifier, text, expected):
    result = classifier.classify(text)
    top = [code for code, _ in result.top_irritants(3)]
    assert expected in top
    assert expected in result.irritants
    assert taxonomy.IRRITANTS[expected].tag in result.tags
    assert set(taxonomy.IRRITANTS[expected].engagements) <= set(result.engagements)


def test_positive_story_has_no_irritant(classifier):
    result = classifier.classify(
        "Un grand merci à l'agente de la mairie, très gentille et patiente, elle a pris le "
        "temps de tout m'expliquer."
    )
    assert result.irritants == {}
    assert result.tags == frozenset()
    assert {"E1", "E3", "E5"} & set(result.engagements)


def test_confidences_and_consistency(classifier, corpus):
    for story in corpus[:40]:
        result = classifier.classify(story.text)
        assert list(result.irritant_scores) == list(IRRITANT_CODES)
        assert list(result.engagement_scores) == list(ENGAGEMENT_CODES)
        for score in [*result.irritant_scores.values(), *result.engagement_scores.values()]:
            assert 0.0 <= score <= 1.0
        assert set(result.irritants) == {
            code for code, score in result.irritant_scores.items() if score >= 0.5
        }
        assert list(result.irritants.values()) == sorted(result.irritants.values(), reverse=True)
        assert result.tags == taxonomy.derive_tags(result.irritants)
        assert taxonomy.engagements_for(result.irritants) <= set(result.engagements)


def test_training_fit_is_reasonable(classifier, corpus):
    # On its own training data the model must recover most irritant labels.
    sample = corpus[::5]
    results = classifier.classify_many([story.text for story in sample])
    hits = sum(
        len(story.irritants & set(r.irritants)) for story, r in zip(sample, results, strict=False)
    )
    total = sum(len(story.irritants) for story in sample)
    assert hits / total >= 0.8
    assert results[0] == classifier.classify(sample[0].text)


def test_blank_text(classifier):
    result = classifier.classify("   ")
    assert result.irritants == {} and result.engagements == {} and result.tags == frozenset()
    assert set(result.irritant_scores.values()) == {0.0}


def test_model_version_and_round_trip(classifier, trained, tmp_path):
    expected_hash = corpus_hash(DEFAULT_CORPUS_DIR)
    assert classifier.taxonomy_version == taxonomy.TAXONOMY_VERSION
    assert classifier.data_hash == expected_hash
    assert classifier.model_version == f"{taxonomy.TAXONOMY_VERSION}+{expected_hash[:12]}"
    text = "On m'a renvoyé de la CAF à la MSA puis à la CAF, personne n'est compétent."
    result = classifier.classify(text)
    assert result.model_version == classifier.model_version
    copy = StoryClassifier.load(classifier.save(tmp_path / "copy.joblib"))
    assert copy.classify(text) == result
    assert registry.is_current(classifier, DEFAULT_CORPUS_DIR)


def test_load_rejects_other_taxonomy(trained, tmp_path):
    artefact = joblib.load(trained)
    artefact["taxonomy_version"] = "2021.1"
    joblib.dump(artefact, tmp_path / "old.joblib")
    with pytest.raises(ModelVersionError, match="taxonomy 2021.1"):
        StoryClassifier.load(tmp_path / "old.joblib")
    joblib.dump({"something": "else"}, tmp_path / "other.joblib")
    with pytest.raises(ModelVersionError):
        StoryClassifier.load(tmp_path / "other.joblib")


def test_get_classifier_retrains_outdated_artefact(trained, tmp_path, corpus):
    # A small corpus (one theme file) keeps the retraining short.
    data = tmp_path / "stories"
    data.mkdir()
    shutil.copy(DEFAULT_CORPUS_DIR / "messages_courts.yml", data)
    path = tmp_path / "models" / "story_classifier.joblib"
    path.parent.mkdir()
    shutil.copy(trained, path)  # trained on another corpus: outdated for ``data``
    first = registry.get_classifier(str(path), str(data))
    assert first.data_hash == corpus_hash(data)
    assert registry.get_classifier(str(path), str(data)) is first  # cached
    assert StoryClassifier.load(path).data_hash == corpus_hash(data)  # artefact rewritten
    # Without a corpus, an existing artefact is used as is; without either, a clear error.
    assert registry.load_or_train(path, None).data_hash == corpus_hash(data)
    with pytest.raises(FileNotFoundError, match="no corpus"):
        registry.load_or_train(tmp_path / "missing.joblib", tmp_path / "nowhere")


def test_train_cli_help(capsys):
    from feedback_store.classifier import train

    with pytest.raises(SystemExit) as exit_info:
        train.main(["--help"])
    assert exit_info.value.code == 0
    assert "--data" in capsys.readouterr().out
