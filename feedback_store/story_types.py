"""Plain data types of the story service: inputs, records, filters, pages, errors.

They carry no SQLAlchemy state, so they can cross the session boundary, go to the outbox as JSON
and be handed to Rasa actions or the portal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any, Protocol


class StoryValidationError(ValueError):
    """A story input (or a label / filter value) is invalid; nothing was stored."""


class ConsentRequiredError(StoryValidationError):
    """The usager did not give explicit consent: the story must not be stored."""


class StoryNotFoundError(LookupError):
    """No story has the given reference."""


class ClassificationLike(Protocol):
    """What the store needs from a classifier result (any object with these attributes)."""

    @property
    def irritants(self) -> Mapping[str, float]:
        """Assigned irritant codes with their confidence in [0, 1]."""

    @property
    def engagements(self) -> Mapping[str, float]:
        """Assigned engagement codes with their confidence in [0, 1]."""

    @property
    def tags(self) -> AbstractSet[str]:
        """Assigned tag général codes."""

    @property
    def model_version(self) -> str:
        """Version of the model that produced the labels."""


@dataclass(frozen=True)
class Classification:
    """A concrete classification (used by the outbox and tests; satisfies the protocol)."""

    irritants: Mapping[str, float] = field(default_factory=dict)
    engagements: Mapping[str, float] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    model_version: str = ""

    @classmethod
    def from_any(cls, other: ClassificationLike) -> Classification:
        """Copy any classification-like object into a plain one."""
        return cls(
            irritants=dict(other.irritants),
            engagements=dict(other.engagements),
            tags=frozenset(other.tags),
            model_version=str(other.model_version),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "irritants": dict(self.irritants),
            "engagements": dict(self.engagements),
            "tags": sorted(self.tags),
            "model_version": self.model_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Classification:
        """Inverse of :meth:`to_dict`."""
        return cls(
            irritants={str(k): float(v) for k, v in data.get("irritants", {}).items()},
            engagements={str(k): float(v) for k, v in data.get("engagements", {}).items()},
            tags=frozenset(data.get("tags", ())),
            model_version=str(data.get("model_version", "")),
        )


@dataclass(frozen=True, kw_only=True)
class StoryInput:
    """A story as submitted by the usager. Every free-text field must be scrubbed already.

    Attributes:
        submission_id: Client-generated UUID; submitting twice with it stores one story.
        structure_code: Code of a known structure, when the service was identified.
        structure_label: The structure as typed or chosen by the usager.
        canal: Contact channel code (taxonomy ``CANAUX``).
        ressenti: Feeling code (taxonomy ``RESSENTIS``).
        text: Anonymised story text, 20 to 5000 characters.
        suggestion: Anonymised improvement suggestion, optional.
        postal_code: Five-digit postal code, optional.
        partner: Partner site id of the widget, optional.
        consent: Explicit consent; must be True.
        title: Short title, optional.
        reference: Reference given in advance (e.g. a provisional one given to the usager
            while the story waits in the outbox); None: the next number of the year.

    """

    submission_id: str
    structure_code: str | None = None
    structure_label: str | None = None
    canal: str
    ressenti: str
    text: str
    suggestion: str | None = None
    postal_code: str | None = None
    partner: str | None = None
    consent: bool
    title: str | None = None
    reference: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoryInput:
        """Inverse of :meth:`to_dict`; unknown keys raise ``StoryValidationError``."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise StoryValidationError(f"Unknown story fields: {', '.join(sorted(unknown))}")
        try:
            return cls(**data)
        except TypeError as error:
            raise StoryValidationError(str(error)) from error


@dataclass(frozen=True)
class LabelRecord:
    """One stored label of a story."""

    space: str
    code: str
    source: str
    confidence: float | None
    active: bool
    author: str | None
    created_at: datetime


@dataclass(frozen=True)
class StoryRecord:
    """A stored story, detached from the session."""

    reference: str
    submission_id: str
    created_at: datetime
    updated_at: datetime
    structure_code: str | None
    structure_name: str | None
    structure_label: str | None
    canal: str
    ressenti: str
    title: str | None
    text: str
    suggestion: str | None
    postal_code: str | None
    departement: str | None
    partner: str | None
    status: str
    taxonomy_version: str
    model_version: str | None
    labels: tuple[LabelRecord, ...]

    def codes(self, space: str, source: str | None = None) -> tuple[str, ...]:
        """Codes of ``space``: the active ones, or all those given by ``source``."""
        return tuple(
            label.code
            for label in self.labels
            if label.space == space and (label.active if source is None else label.source == source)
        )

    @property
    def irritants(self) -> tuple[str, ...]:
        """Active irritant codes (agent > usager > model)."""
        return self.codes("irritant")

    @property
    def engagements(self) -> tuple[str, ...]:
        """Active engagement codes (agent > usager > model)."""
        return self.codes("engagement")

    @property
    def tags(self) -> tuple[str, ...]:
        """Active tag général codes (agent > usager > model)."""
        return self.codes("tag")


@dataclass(frozen=True, kw_only=True)
class StoryFilters:
    """Filters shared by :func:`list_stories` and :func:`aggregate_irritants` (all ANDed).

    Attributes:
        structure_codes: Only stories about these structures (e.g. those an agent may read).
        date_from: Created at or after (a date means its midnight UTC).
        date_to: Created strictly before (a date means its midnight UTC).
        irritant: Has this active irritant label.
        engagement: Has this active engagement label.
        tag: Has this active tag général label.
        canal: Channel code.
        ressenti: Feeling code.
        departement: Département code (``05``, ``2A``, ``974``…).
        partner: Partner site id.
        status: Handling status.
        text: Words that must all appear in the text or suggestion (case and accent blind).

    """

    structure_codes: tuple[str, ...] | None = None
    date_from: date | datetime | None = None
    date_to: date | datetime | None = None
    irritant: str | None = None
    engagement: str | None = None
    tag: str | None = None
    canal: str | None = None
    ressenti: str | None = None
    departement: str | None = None
    partner: str | None = None
    status: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of stories, with the total number of matching stories."""

    items: tuple[StoryRecord, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Number of pages (0 when nothing matches)."""
        return math.ceil(self.total / self.per_page)


@dataclass(frozen=True)
class CountRow:
    """One aggregate row: number of stories for a key (and a period when a trend is asked)."""

    key: str | None
    count: int
    period: date | None = None
