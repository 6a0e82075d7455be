"""Measured fixes to Rasa 3.6, installed when the Rasa server creates our tracker store.

1. ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every action server
response. That function checks the (constant) schema against its metaschema before each use, and
with jsonschema 4.17 (Rasa 3.6 allows ``<4.18``) and the draft 2020-12 metaschema this took 46 %
of a Rasa worker's CPU under load (py-spy, bench/bench_load.py, embedded profile, 5 usagers).
jsonschema's documentation recommends building the validator once for repeated validation: the
replacement does exactly that, with the same schema, validator class, error and message.

2. ``RasaModel.load`` builds the weights of a model by *training it on one example* (a Keras
``fit``) before reading the trained weights: tracing the train step, gradients and the CRF loss
included, took 58 % of a Rasa worker's start (py-spy: 21 of 37 s), paid by every Sanic worker of
every replica. For the intent and entity model (``DIET``) loaded for inference, the replacement
builds the weights with one prediction instead, reads the trained weights (the optimizer's slots
in the checkpoint are not needed), then prepares the prediction again, so the label embeddings
are computed from the trained weights. That first prediction runs eagerly: no graph is traced
until the weights are the trained ones. Predictions are identical to stock Rasa's
(tests/unit/bot/test_fast_model_load.py compares both on the held-out NLU set).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

logger = logging.getLogger(__name__)
_INSTALLED = False


@functools.lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, instead of once per action call
    return cls(schema)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """Same contract as Rasa's: True, or raise ``ValidationError`` with Rasa's hint."""
    from jsonschema import exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    error = exceptions.best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from "
        f"the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


_STOCK_LOAD: Any = None


def _load_model(
    cls: Any,
    model_file_name: str,
    model_data_example: Any,
    predict_data_example: Any = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> Any:
    """``RasaModel.load`` without the training step, for ``DIET`` loaded for inference."""
    from rasa.nlu.classifiers.diet_classifier import DIET

    if cls is not DIET or finetune_mode or predict_data_example is None:
        return _STOCK_LOAD.__func__(
            cls,
            model_file_name,
            model_data_example,
            predict_data_example,
            finetune_mode,
            *args,
            **kwargs,
        )
    model = cls(*args, **kwargs)
    configured = kwargs.get("config", {}).get("run_eagerly")  # stock passes it to compile()
    # One eager prediction creates every variable that inference reads, without tracing a graph.
    model._run_eagerly = True
    model.run_inference(predict_data_example)
    model.load_weights(model_file_name).expect_partial()  # without the optimizer's slots
    model._run_eagerly = configured
    # That prediction computed the label embeddings from the initial weights: prepare again
    # with the trained ones, and trace the prediction graph once (as stock Rasa does).
    model.prepared_for_prediction = False
    model._tf_predict_step = None
    model.run_inference(predict_data_example)
    return model


_EVENT_TYPES: dict[str, Any] = {}
_STOCK_RESOLVE: Any = None


def _resolve_by_type(type_name: str, default: Any = None) -> Any:
    """``Event.resolve_by_type`` from a table of the known event classes."""
    found = _EVENT_TYPES.get(type_name)
    if found is None:
        from rasa.shared.core.events import Event
        from rasa.shared.utils.common import all_subclasses

        _EVENT_TYPES.update({c.type_name: c for c in reversed(all_subclasses(Event))})
        found = _EVENT_TYPES.get(type_name)
    return found if found is not None else _STOCK_RESOLVE(type_name, default)


def install() -> None:
    """Install the three replacements above (idempotent)."""
    global _INSTALLED, _STOCK_LOAD, _STOCK_RESOLVE
    if _INSTALLED:
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event
    from rasa.utils.tensorflow.models import RasaModel

    RemoteAction._validate_action_result = _validate_action_result
    _STOCK_LOAD = RasaModel.__dict__["load"]
    RasaModel.load = classmethod(_load_model)
    _STOCK_RESOLVE = Event.resolve_by_type
    Event.resolve_by_type = staticmethod(_resolve_by_type)
    _INSTALLED = True
    logger.debug("Rasa fixes installed: action validator, DIET load, event type table.")
