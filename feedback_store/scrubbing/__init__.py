"""Personal-data scrubber for French text (stories and Rasa tracker events).

Usage::

    from feedback_store.scrubbing import scrub, scrub_value

    result = scrub("Je m'appelle Jean Dupont, tél. 06 12 34 56 78")
    result.text          # "Je m'appelle [NOM], tél. [TELEPHONE]"
    result.replacements  # [Replacement(kind=Kind.NOM, start=13, end=24), ...]

Nothing is loaded at import time: the spaCy pipeline is loaded by the first :func:`scrub` call.
"""

from .result import PLACEHOLDER_RE, Kind, Replacement, ScrubResult
from .scrubber import Scrubber, get_scrubber, scrub, scrub_value

__all__ = [
    "PLACEHOLDER_RE",
    "Kind",
    "Replacement",
    "ScrubResult",
    "Scrubber",
    "get_scrubber",
    "scrub",
    "scrub_value",
]
