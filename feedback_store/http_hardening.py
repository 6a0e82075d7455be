"""Work around Sanic 21.12 failures on malformed HTTP framing (used by Rasa and the portal).

Sanic 21.12 converts the ``Content-Length`` header with ``int()`` outside its error handling:

- ``Content-Length: abc`` makes it answer a 500 (with a traceback in the log);
- ``Content-Length: -5`` sends the worker into a busy loop: one request freezes every
  conversation of that process until it is killed.

:func:`check_content_length` runs on the ``http.lifecycle.request`` signal, which Sanic
dispatches after parsing the headers and before that conversion, and refuses such a request with
a 400. Register it with :func:`install` on an app, or on a blueprint (blueprint signals of this
event fire for every request of the app). Never imports Rasa.
"""

from __future__ import annotations

import re
from typing import Any

from sanic.exceptions import InvalidUsage
from sanic.request import Request

SIGNAL = "http.lifecycle.request"
BAD_LENGTH = "En-tête Content-Length invalide."
_DIGITS = re.compile(r"[0-9]{1,15}")


async def check_content_length(request: Request, **_: Any) -> None:
    """Refuse (400) a request whose ``Content-Length`` is not one non-negative whole number.

    Raises:
        InvalidUsage: The header is repeated, negative, or not a number.

    """
    values = request.headers.getall("content-length", [])
    if not values:
        return
    if len(values) > 1 or not _DIGITS.fullmatch(values[0].strip()):
        raise InvalidUsage(BAD_LENGTH)


def install(target: Any) -> None:
    """Register :func:`check_content_length` on a Sanic app or blueprint."""
    target.signal(SIGNAL)(check_content_length)
