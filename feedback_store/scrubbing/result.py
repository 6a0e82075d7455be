"""Kinds of personal data, their placeholders, and the value returned by the scrubber."""

from __future__ import annotations

import enum
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple


class Kind(str, enum.Enum):
    """A kind of personal data; its value is the placeholder's inner word (stable identifier)."""

    EMAIL = "EMAIL"
    TELEPHONE = "TELEPHONE"
    NIR = "NIR"
    NUMERO_FISCAL = "NUMERO_FISCAL"
    NUMERO_ALLOCATAIRE = "NUMERO_ALLOCATAIRE"
    IBAN = "IBAN"
    CARTE_BANCAIRE = "CARTE_BANCAIRE"
    NUMERO_PIECE_IDENTITE = "NUMERO_PIECE_IDENTITE"
    IDENTIFIANT = "IDENTIFIANT"
    ADRESSE = "ADRESSE"
    NOM = "NOM"

    @property
    def placeholder(self) -> str:
        """The text that replaces a value of this kind, e.g. ``[TELEPHONE]``."""
        return f"[{self.value}]"


#: When detections of several kinds overlap they are merged into one replacement whose kind is the
#: one ranked highest here (strongest evidence first: checksummed numbers, then formats, then
#: context rules, then names).
PRIORITY: dict[Kind, int] = {
    Kind.EMAIL: 100,
    Kind.IBAN: 95,
    Kind.NIR: 90,
    Kind.NUMERO_FISCAL: 85,
    Kind.CARTE_BANCAIRE: 80,
    Kind.NUMERO_PIECE_IDENTITE: 70,
    Kind.TELEPHONE: 65,
    Kind.NUMERO_ALLOCATAIRE: 60,
    Kind.IDENTIFIANT: 50,
    Kind.ADRESSE: 40,
    Kind.NOM: 30,
}

#: Matches any placeholder the scrubber writes, so that scrubbing is idempotent.
PLACEHOLDER_RE = re.compile(r"\[(?:" + "|".join(kind.value for kind in Kind) + r")\]")


class Replacement(NamedTuple):
    """One replaced span: its kind and its ``[start, end)`` offsets in the *input* text."""

    kind: Kind
    start: int
    end: int


@dataclass(frozen=True)
class ScrubResult:
    """The scrubbed text and where replacements were made.

    Only kinds and offsets are kept, never the replaced values, so the result can be logged or
    persisted as is.

    Attributes:
        text: The text with every detected value replaced by its placeholder.
        replacements: Replaced spans, sorted by ``start``, offsets relative to the input text.
    """

    text: str
    replacements: list[Replacement] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was replaced."""
        return bool(self.replacements)

    def counts(self) -> dict[str, int]:
        """Number of replacements per kind, e.g. ``{"TELEPHONE": 1, "NOM": 2}``."""
        return dict(Counter(replacement.kind.value for replacement in self.replacements))
