"""One measured fix to Rasa 3.6's hot path, installed when the Rasa server loads our channel.

``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every action server
response. That function checks the (constant) schema against its metaschema before each use, and
with jsonschema 4.17 (Rasa 3.6 allows ``<4.18``) and the draft 2020-12 metaschema this took 46 %
of a Rasa worker's CPU under load (py-spy, bench/bench_load.py, embedded profile, 5 usagers).
jsonschema's documentation recommends building the validator once for repeated validation: the
replacement does exactly that, with the same schema, validator class, error and message.
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


def install() -> None:
    """Replace ``RemoteAction._validate_action_result`` (idempotent)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result
    _INSTALLED = True
    logger.debug("Action response validation: validator built once.")
