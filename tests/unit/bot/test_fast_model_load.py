"""DIET loaded without Rasa's training step predicts exactly what stock Rasa 3.6 predicts."""

from __future__ import annotations

import asyncio

import pytest

from scripts import model_cache

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _texts() -> list[str]:
    """The held-out NLU set, and training examples that carry entities."""
    from rasa.shared.nlu.training_data.loading import load_data

    holdout = [m.get("text") for m in load_data("tests/bot/nlu_holdout.yml").intent_examples]
    training = load_data("bot/data/nlu")
    with_entities = [m.get("text") for m in training.entity_examples][:40]
    return holdout + with_entities


def _parse_all(agent, texts: list[str]) -> list[dict]:
    async def parse() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    return [
        {k: r[k] for k in ("intent", "intent_ranking", "entities")} for r in asyncio.run(parse())
    ]


@pytest.fixture(scope="module")
def predictions() -> dict[str, list[dict]]:
    import tensorflow as tf
    from rasa.core.agent import Agent
    from rasa.utils.tensorflow.models import RasaModel

    from bot import rasa_speedups

    rasa_speedups.install()
    path = str(model_cache.model_path())
    texts = _texts()
    fast_load = RasaModel.__dict__["load"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tf.keras.Model, "fit", _no_fit)
        fast = _parse_all(Agent.load(path), texts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RasaModel, "load", rasa_speedups._STOCK_LOAD)
        stock = _parse_all(Agent.load(path), texts)
    assert RasaModel.__dict__["load"] is fast_load
    return {"fast": fast, "stock": stock}


def _no_fit(*_args, **_kwargs):
    raise AssertionError("the fast load must not train")


def test_intents_and_confidences_are_identical(predictions):
    fast, stock = predictions["fast"], predictions["stock"]
    assert len(fast) == len(stock) > 60
    assert [p["intent"] for p in fast] == [p["intent"] for p in stock]
    assert [p["intent_ranking"] for p in fast] == [p["intent_ranking"] for p in stock]


def test_entities_are_identical(predictions):
    fast, stock = predictions["fast"], predictions["stock"]
    assert [p["entities"] for p in fast] == [p["entities"] for p in stock]
    assert sum(1 for p in fast if p["entities"]) >= 10  # the comparison covers entities


def test_the_model_is_the_one_make_train_built(predictions):
    greet = next(p for p in predictions["fast"] if p["intent"]["name"] == "greet")
    assert greet["intent"]["confidence"] > 0.5
