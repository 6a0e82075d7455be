"""Story service: submit, read, relabel, query, aggregate, handle and erase experience stories.

Every function takes a SQLAlchemy ``Session`` owned by the caller (one per action run or HTTP
request) and never commits: ``with factory.begin() as session: submit_story(session, story)``.
Functions return plain records (:mod:`feedback_store.story_types`), never ORM objects.

References are ``EXP-<year>-<6-digit sequence>``, the year being the Paris calendar year of the
submission. The sequence comes from a per-year counter row updated in the caller's transaction:
PostgreSQL locks that row until commit, SQLite takes its database write lock, so concurrent
submissions get distinct, gapless numbers (commit promptly after :func:`submit_story`).
A story may also arrive with its reference already given: :func:`provisional_reference` derives
one from the submission id, without the database, for a story queued in the outbox while the
database is down (``EXP-<year>-9<9 digits>``, out of the counter's range).
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, cast, distinct, func, literal_column, select, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, join, outerjoin, selectinload
from sqlalchemy.sql.elements import ColumnElement

from feedback_store.models import (
    LABEL_SPACES,
    STORY_STATUSES,
    AuditLog,
    Story,
    StoryCounter,
    StoryLabel,
    StoryNote,
    Structure,
)
from feedback_store.story_types import (
    Classification,
    ClassificationLike,
    ConsentRequiredError,
    CountRow,
    LabelRecord,
    Page,
    StoryFilters,
    StoryInput,
    StoryNotFoundError,
    StoryRecord,
    StoryValidationError,
)
from feedback_store.taxonomy import TAXONOMY_VERSION, check_code, derive_tags, sorted_codes

__all__ = [
    "AGGREGATE_KEYS",
    "Classification",
    "ClassificationLike",
    "ConsentRequiredError",
    "CountRow",
    "LabelRecord",
    "Page",
    "StoryFilters",
    "StoryInput",
    "StoryNotFoundError",
    "StoryRecord",
    "StoryValidationError",
    "add_note",
    "aggregate_irritants",
    "delete_story",
    "departement_from_postal_code",
    "get_story_by_reference",
    "list_stories",
    "normalise_search_text",
    "provisional_reference",
    "set_agent_labels",
    "set_usager_label",
    "submit_story",
    "update_status",
    "upsert_structure",
    "validate_story",
]

PARIS = ZoneInfo("Europe/Paris")
TEXT_MIN_LENGTH = 20
TEXT_MAX_LENGTH = 5000
SUGGESTION_MAX_LENGTH = 5000
MAX_PER_PAGE = 200
REFERENCE_RE = re.compile(r"^EXP-(\d{4})-(\d{6,})$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_SOURCE_RANK = {"model": 0, "usager": 1, "agent": 2}
AGGREGATE_KEYS: tuple[str, ...] = (
    *LABEL_SPACES,
    "structure",
    "canal",
    "ressenti",
    "departement",
    "status",
    "partner",
)
PERIODS: tuple[str, ...] = ("week", "month")


# --- validation helpers -------------------------------------------------------------------------


def departement_from_postal_code(postal_code: str) -> str:
    """Return the département code of a French postal code.

    Two first digits in metropolitan France, ``2A``/``2B`` for Corsica (20000–20199 / 20200+),
    three digits overseas (97x, 98x).

    Raises:
        StoryValidationError: If it is not a plausible five-digit French postal code.

    """
    if not re.fullmatch(r"\d{5}", postal_code or ""):
        raise StoryValidationError(f"Invalid postal code {postal_code!r}: expected five digits.")
    prefix = postal_code[:2]
    if prefix in ("00", "96", "99"):
        raise StoryValidationError(f"Invalid postal code {postal_code!r}: unknown département.")
    if prefix == "20":
        return "2A" if int(postal_code) < 20200 else "2B"
    if prefix in ("97", "98"):
        return postal_code[:3]
    return prefix


def normalise_search_text(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of ``text`` used for full-text search."""
    folded = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe").replace("æ", "ae"))
    stripped = "".join(char for char in folded if not unicodedata.combining(char))
    return " ".join(stripped.split())


def _optional_text(value: str | None, name: str, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise StoryValidationError(f"{name} must be a string.")
    value = value.strip()
    if not value:
        return None
    if len(value) > max_length:
        raise StoryValidationError(f"{name} is longer than {max_length} characters.")
    return value


def _identifier(value: str | None, name: str) -> str | None:
    value = _optional_text(value, name, 64)
    if value is not None and not _IDENTIFIER_RE.fullmatch(value):
        raise StoryValidationError(f"{name} {value!r} must be letters, digits, '_', '.', ':', '-'.")
    return value


def _code(space: str, code: str) -> str:
    try:
        return check_code(space, code)
    except ValueError as error:
        raise StoryValidationError(str(error)) from error


def provisional_reference(submission_id: str, year: int) -> str:
    """Return the reference of a story submitted while the database is unavailable.

    Computed from the submission id alone (same id, same reference), so the usager gets it at
    once and :func:`submit_story` stores the story under it when the outbox is flushed. The
    ten-digit number starts with 9, far above what the per-year counter reaches.

    Raises:
        StoryValidationError: If ``submission_id`` is not a UUID.

    """
    try:
        number = uuid.UUID(str(submission_id)).int % 10**9
    except ValueError as error:
        raise StoryValidationError(f"submission_id {submission_id!r} is not a UUID.") from error
    return f"EXP-{year:04d}-9{number:09d}"


def validate_story(story: StoryInput) -> StoryInput:
    """Check a story input and return its normalised copy (stripped texts, canonical UUID).

    Raises:
        ConsentRequiredError: If ``consent`` is not ``True``.
        StoryValidationError: On any other invalid field.

    """
    if story.consent is not True:
        raise ConsentRequiredError("The usager did not consent: the story must not be stored.")
    try:
        submission_id = str(uuid.UUID(str(story.submission_id)))
    except ValueError as error:
        raise StoryValidationError(
            f"submission_id {story.submission_id!r} is not a UUID."
        ) from error
    if not isinstance(story.text, str):
        raise StoryValidationError("text must be a string.")
    text = story.text.strip()
    if not TEXT_MIN_LENGTH <= len(text) <= TEXT_MAX_LENGTH:
        raise StoryValidationError(
            f"text must be {TEXT_MIN_LENGTH} to {TEXT_MAX_LENGTH} characters long "
            f"(got {len(text)})."
        )
    postal_code = _optional_text(story.postal_code, "postal_code", 10)
    if postal_code is not None:
        postal_code = postal_code.replace(" ", "")
        departement_from_postal_code(postal_code)
    reference = _optional_text(story.reference, "reference", 20)
    if reference is not None:
        reference = reference.upper()
        if not REFERENCE_RE.fullmatch(reference):
            raise StoryValidationError(f"reference {reference!r} is not EXP-<year>-<number>.")
    return StoryInput(
        submission_id=submission_id,
        structure_code=_identifier(story.structure_code, "structure_code"),
        structure_label=_optional_text(story.structure_label, "structure_label", 200),
        canal=_code("canal", story.canal),
        ressenti=_code("ressenti", story.ressenti),
        text=text,
        suggestion=_optional_text(story.suggestion, "suggestion", SUGGESTION_MAX_LENGTH),
        postal_code=postal_code,
        partner=_identifier(story.partner, "partner"),
        consent=True,
        title=_optional_text(story.title, "title", 200),
        reference=reference,
    )


def _confidence(value: float, code: str) -> float:
    try:
        confidence = float(value)
    except (TypeError, ValueError) as error:
        raise StoryValidationError(f"Confidence of {code!r} is not a number.") from error
    if math.isnan(confidence) or not 0.0 <= confidence <= 1.0:
        raise StoryValidationError(f"Confidence of {code!r} must be in [0, 1], got {value!r}.")
    return confidence


def _model_labels(classification: ClassificationLike) -> dict[str, dict[str, float | None]]:
    labels: dict[str, dict[str, float | None]] = {}
    for space, scores in (
        ("irritant", classification.irritants),
        ("engagement", classification.engagements),
    ):
        labels[space] = {_code(space, code): _confidence(v, code) for code, v in scores.items()}
    labels["tag"] = {_code("tag", code): None for code in classification.tags}
    return labels


# --- row helpers --------------------------------------------------------------------------------


def _as_utc(value: date | datetime) -> datetime:
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _to_record(row: Story) -> StoryRecord:
    return StoryRecord(
        reference=row.reference,
        submission_id=row.submission_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        structure_code=row.structure.code if row.structure else None,
        structure_name=row.structure.name if row.structure else None,
        structure_label=row.structure_label,
        canal=row.canal,
        ressenti=row.ressenti,
        title=row.title,
        text=row.text_anonymised,
        suggestion=row.suggestion_anonymised,
        postal_code=row.postal_code,
        departement=row.departement,
        partner=row.partner,
        status=row.status,
        taxonomy_version=row.taxonomy_version,
        model_version=row.model_version,
        labels=tuple(
            LabelRecord(
                space=label.space,
                code=label.code,
                source=label.source,
                confidence=label.confidence,
                active=label.active,
                author=label.author,
                created_at=label.created_at,
            )
            for label in sorted(row.labels, key=lambda lbl: (lbl.space, lbl.source, lbl.code))
        ),
    )


def _story_by_submission(session: Session, submission_id: str) -> Story | None:
    stmt = select(Story).where(Story.submission_id == submission_id)
    return session.execute(stmt.options(selectinload(Story.labels))).scalar_one_or_none()


def _load(session: Session, reference: str) -> Story:
    stmt = select(Story).where(Story.reference == reference.strip().upper())
    row = session.execute(stmt.options(selectinload(Story.labels))).scalar_one_or_none()
    if row is None:
        raise StoryNotFoundError(f"No story with reference {reference!r}.")
    return row


def _audit(
    session: Session, actor: str, action: str, target: str, details: dict | None = None
) -> None:
    session.add(
        AuditLog(actor=actor, action=action, target_type="story", target=target, details=details)
    )


def _next_sequence(session: Session, year: int) -> int:
    """Increment the counter of ``year`` and return the new value (locks it until commit)."""
    table = StoryCounter.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = (
            postgresql_insert(table)
            .values(year=year, value=1)
            .on_conflict_do_update(index_elements=[table.c.year], set_={"value": table.c.value + 1})
            .returning(table.c.value)
        )
        return session.execute(stmt).scalar_one()
    if dialect == "sqlite":
        stmt = (
            sqlite_insert(table)
            .values(year=year, value=1)
            .on_conflict_do_update(index_elements=[table.c.year], set_={"value": table.c.value + 1})
        )
        session.execute(stmt)
    else:  # pragma: no cover - other backends: correct, but the first insert of a year may race
        bumped = session.execute(
            update(table).where(table.c.year == year).values(value=table.c.value + 1)
        )
        if bumped.rowcount == 0:
            session.execute(table.insert().values(year=year, value=1))
    return session.execute(select(table.c.value).where(table.c.year == year)).scalar_one()


def _structure_for(session: Session, story: StoryInput) -> Structure | None:
    if story.structure_code is None:
        return None
    stmt = select(Structure).where(Structure.code == story.structure_code)
    structure = session.execute(stmt).scalar_one_or_none()
    if structure is None:
        structure = Structure(
            code=story.structure_code, name=story.structure_label or story.structure_code
        )
        session.add(structure)
    return structure


def _set_labels(
    row: Story,
    space: str,
    source: str,
    codes: Mapping[str, float | None],
    author: str | None = None,
) -> None:
    """Replace the ``source`` labels of ``space``; the most authoritative source stays active.

    Sources rank agent > usager > model. Labels set by a source outranked by labels already
    present are stored inactive; otherwise they become the active set of the space (an empty set
    deactivates the lower sources' labels, e.g. "none of these topics").
    """
    existing = [label for label in row.labels if label.space == space]
    outranked = any(_SOURCE_RANK[label.source] > _SOURCE_RANK[source] for label in existing)
    mine = {label.code: label for label in existing if label.source == source}
    for code, label in mine.items():
        if code not in codes:
            row.labels.remove(label)
    if not outranked:
        for label in existing:
            if label.source != source:
                label.active = False
    for code, confidence in codes.items():
        label = mine.get(code)
        if label is None:
            row.labels.append(
                StoryLabel(
                    space=space,
                    code=code,
                    source=source,
                    confidence=confidence,
                    active=not outranked,
                    author=author,
                )
            )
        else:
            label.confidence = confidence
            label.active = not outranked
            label.author = author


# --- public API ---------------------------------------------------------------------------------


def submit_story(
    session: Session,
    story: StoryInput,
    classification: ClassificationLike | None = None,
    *,
    created_at: datetime | None = None,
) -> StoryRecord:
    """Validate and store a story with its model labels; idempotent on ``submission_id``.

    Args:
        session: The caller's session (not committed here).
        story: The already scrubbed story.
        classification: Classifier output (irritants, engagements, tags, model_version); its
            labels are stored with source ``model``.
        created_at: Submission time when it is not "now" (outbox replay, import).

    Returns:
        The stored story, or the story already stored with the same ``submission_id``.

    Raises:
        ConsentRequiredError: Without consent; nothing is stored.
        StoryValidationError: On an invalid field or label code; nothing is stored.

    """
    story = validate_story(story)
    labels = _model_labels(classification) if classification is not None else {}
    model_version = _optional_text(
        classification.model_version if classification is not None else None, "model_version", 64
    )
    existing = _story_by_submission(session, story.submission_id)
    if existing is not None:
        return _to_record(existing)

    moment = _as_utc(created_at) if created_at is not None else datetime.now(timezone.utc)
    year = moment.astimezone(PARIS).year
    reference = story.reference
    if (
        reference is not None
        and session.execute(select(Story.id).where(Story.reference == reference)).first()
    ):
        reference = None  # taken by another story (astronomically rare): number it instead
    if reference is None:
        sequence = _next_sequence(session, year)
        existing = _story_by_submission(session, story.submission_id)  # raced while we waited
        if existing is not None:
            table = StoryCounter.__table__
            session.execute(
                update(table).where(table.c.year == year).values(value=table.c.value - 1)
            )
            return _to_record(existing)
        reference = f"EXP-{year}-{sequence:06d}"

    departement = (
        departement_from_postal_code(story.postal_code) if story.postal_code is not None else None
    )
    search_source = story.text if story.suggestion is None else f"{story.text}\n{story.suggestion}"
    row = Story(
        reference=reference,
        submission_id=story.submission_id,
        structure=_structure_for(session, story),
        structure_label=story.structure_label,
        canal=story.canal,
        ressenti=story.ressenti,
        title=story.title,
        text_anonymised=story.text,
        suggestion_anonymised=story.suggestion,
        search_text=normalise_search_text(search_source),
        postal_code=story.postal_code,
        departement=departement,
        partner=story.partner,
        consent=True,
        taxonomy_version=TAXONOMY_VERSION,
        model_version=model_version,
    )
    if created_at is not None:
        row.created_at = moment
        row.updated_at = moment
    for space, codes in labels.items():
        _set_labels(row, space, "model", codes)
    session.add(row)
    session.flush()
    return _to_record(row)


def get_story_by_reference(session: Session, reference: str) -> StoryRecord | None:
    """Return the story with this reference (case-insensitive), or None."""
    try:
        return _to_record(_load(session, reference))
    except StoryNotFoundError:
        return None


def set_usager_label(
    session: Session,
    reference: str,
    *,
    irritants: Iterable[str] | None = None,
    engagements: Iterable[str] | None = None,
) -> StoryRecord:
    """Store the usager's correction of the detected topics (``None`` leaves a space as is).

    Usager labels outrank model labels; tags généraux are derived from the corrected irritants.

    Raises:
        StoryNotFoundError: Unknown reference.
        StoryValidationError: Unknown code.

    """
    row = _load(session, reference)
    if irritants is not None:
        codes = [_code("irritant", code) for code in irritants]
        _set_labels(row, "irritant", "usager", dict.fromkeys(codes))
        _set_labels(row, "tag", "usager", dict.fromkeys(derive_tags(codes)))
    if engagements is not None:
        codes = [_code("engagement", code) for code in engagements]
        _set_labels(row, "engagement", "usager", dict.fromkeys(codes))
    session.flush()
    return _to_record(row)


def set_agent_labels(
    session: Session,
    reference: str,
    *,
    author: str,
    irritants: Iterable[str] | None = None,
    engagements: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
) -> StoryRecord:
    """Store an agent's labels for some spaces (they outrank usager and model labels); audited.

    Raises:
        StoryNotFoundError: Unknown reference.
        StoryValidationError: Unknown code.

    """
    row = _load(session, reference)
    changes: dict[str, list[str]] = {}
    for space, given in (("irritant", irritants), ("engagement", engagements), ("tag", tags)):
        if given is None:
            continue
        codes = sorted_codes(space, [_code(space, code) for code in given])
        _set_labels(row, space, "agent", dict.fromkeys(codes), author=author)
        changes[space] = codes
    _audit(session, author, "story.labels", row.reference, changes)
    session.flush()
    return _to_record(row)


def update_status(session: Session, reference: str, status: str, *, actor: str) -> StoryRecord:
    """Change the handling status of a story (nouveau, en_cours, traite, clos); audited.

    Raises:
        StoryNotFoundError: Unknown reference.
        StoryValidationError: Unknown status.

    """
    if status not in STORY_STATUSES:
        raise StoryValidationError(f"Unknown status {status!r}; expected one of {STORY_STATUSES}.")
    row = _load(session, reference)
    previous = row.status
    row.status = status
    _audit(session, actor, "story.status", row.reference, {"from": previous, "to": status})
    session.flush()
    return _to_record(row)


def add_note(session: Session, reference: str, *, author: str, body: str) -> None:
    """Attach an agent note (or reply) to a story.

    Raises:
        StoryNotFoundError: Unknown reference.
        StoryValidationError: Empty note.

    """
    text = _optional_text(body, "note", TEXT_MAX_LENGTH)
    if text is None:
        raise StoryValidationError("A note cannot be empty.")
    row = _load(session, reference)
    session.add(StoryNote(story_id=row.id, author=author, body=text))
    session.flush()


def delete_story(session: Session, reference: str, *, actor: str = "usager") -> bool:
    """Erase a story with its labels, notes and action links; the audit log keeps the reference.

    Returns:
        True if a story was deleted, False if none had this reference.

    """
    try:
        row = _load(session, reference)
    except StoryNotFoundError:
        return False
    session.delete(row)
    _audit(session, actor, "story.delete", row.reference)
    session.flush()
    return True


def upsert_structure(
    session: Session,
    code: str,
    name: str,
    *,
    kind: str | None = None,
    departement: str | None = None,
) -> None:
    """Create or update a structure (for seeding the structures an agent can be given)."""
    code = _identifier(code, "structure code") or ""
    if not code:
        raise StoryValidationError("A structure needs a code.")
    structure = session.execute(
        select(Structure).where(Structure.code == code)
    ).scalar_one_or_none()
    if structure is None:
        structure = Structure(code=code)
        session.add(structure)
    structure.name = name
    structure.kind = kind
    structure.departement = departement
    session.flush()


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _scope_conditions(
    filters: StoryFilters,
    session: Session | None,
    structure_id: ColumnElement = Story.structure_id,
    created_at: ColumnElement = Story.created_at,
) -> list[ColumnElement]:
    """Perimeter and period of ``filters``, on stories or on the copies a label holds.

    One structure is compared with a scalar subquery (``= (SELECT id …)``): PostgreSQL then walks
    the (structure, date) index in date order, which it cannot do for ``IN (SELECT …)``. With a
    ``session``, several structures are resolved to ids first, so that the query holds literal
    ids and PostgreSQL estimates the perimeter from its statistics.
    """
    conditions: list[ColumnElement] = []
    codes = filters.structure_codes
    if codes is not None:
        ids = select(Structure.id).where(Structure.code.in_(codes))
        if len(set(codes)) == 1:
            ids = select(Structure.id).where(Structure.code == codes[0]).scalar_subquery()
            conditions.append(structure_id == ids)
        elif session is not None and codes:
            conditions.append(structure_id.in_(sorted(session.execute(ids).scalars())))
        else:
            conditions.append(structure_id.in_(ids))
    if filters.date_from is not None:
        conditions.append(created_at >= _as_utc(filters.date_from))
    if filters.date_to is not None:
        conditions.append(created_at < _as_utc(filters.date_to))
    return conditions


def _conditions(
    filters: StoryFilters | None, session: Session | None = None
) -> list[ColumnElement]:
    """WHERE conditions of ``filters`` on ``stories`` (see :func:`_scope_conditions`)."""
    if filters is None:
        return []
    return [*_scope_conditions(filters, session), *_story_conditions(filters)]


def _story_conditions(filters: StoryFilters) -> list[ColumnElement]:
    """Conditions of ``filters`` other than perimeter and period (on ``stories``)."""
    conditions: list[ColumnElement] = []
    for space, code in (
        ("irritant", filters.irritant),
        ("engagement", filters.engagement),
        ("tag", filters.tag),
    ):
        if code is not None:
            conditions.append(
                Story.labels.any(
                    and_(
                        StoryLabel.space == space,
                        StoryLabel.code == _code(space, code),
                        StoryLabel.active == true(),
                    )
                )
            )
    if filters.canal is not None:
        conditions.append(Story.canal == _code("canal", filters.canal))
    if filters.ressenti is not None:
        conditions.append(Story.ressenti == _code("ressenti", filters.ressenti))
    if filters.status is not None:
        if filters.status not in STORY_STATUSES:
            raise StoryValidationError(f"Unknown status {filters.status!r}.")
        conditions.append(Story.status == filters.status)
    if filters.departement is not None:
        conditions.append(Story.departement == filters.departement.strip().upper())
    if filters.partner is not None:
        conditions.append(Story.partner == filters.partner)
    if filters.text:
        for term in normalise_search_text(filters.text).split():
            conditions.append(Story.search_text.like(f"%{_escape_like(term)}%", escape="\\"))
    return conditions


def list_stories(
    session: Session,
    filters: StoryFilters | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page:
    """Return one page of matching stories, newest first, with the total count.

    A page beyond the last one is empty but still carries the total.

    Raises:
        ValueError: If ``page`` < 1 or ``per_page`` is not in 1..200.
        StoryValidationError: On an unknown code in the filters.

    """
    if page < 1:
        raise ValueError("page starts at 1.")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be in 1..{MAX_PER_PAGE}.")
    conditions = _conditions(filters, session)
    # count(*), not count(id): PostgreSQL counts from the (structure, date) index alone.
    total = session.execute(select(func.count()).select_from(Story).where(*conditions)).scalar_one()
    offset = (page - 1) * per_page
    if offset >= total:
        return Page(items=(), total=total, page=page, per_page=per_page)
    newest_first = (Story.created_at.desc(), Story.id.desc())
    # The page's ids are found in the indexes alone (skipped rows included); only the rows of the
    # page itself are then read from the table, with their labels and structure.
    page_ids = (
        select(Story.id)
        .where(*conditions)
        .order_by(*newest_first)
        .limit(per_page)
        .offset(offset)
        .scalar_subquery()
    )
    stmt = (
        select(Story)
        .where(Story.id.in_(page_ids))
        .options(selectinload(Story.labels))
        .order_by(*newest_first)
    )
    rows = session.execute(stmt).scalars().all()
    return Page(
        items=tuple(_to_record(row) for row in rows), total=total, page=page, per_page=per_page
    )


def _period_start(dialect: str, period: str, created_at: ColumnElement) -> ColumnElement:
    """SQL for the first day of the week (Monday) or month of ``created_at`` (UTC).

    Literals, not bound parameters, so that SELECT and GROUP BY render the same expression.
    """
    if period not in PERIODS:  # the literal below must stay a known word
        raise ValueError(f"Unknown period {period!r}.")
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), created_at)
        return cast(func.date_trunc(literal_column(f"'{period}'"), utc), Date)
    if dialect == "sqlite":
        if period == "month":
            return func.date(created_at, literal_column("'start of month'"))
        return func.date(created_at, literal_column("'weekday 0'"), literal_column("'-6 days'"))
    raise NotImplementedError(f"Trends are not implemented for {dialect}.")


def aggregate_irritants(
    session: Session,
    filters: StoryFilters | None = None,
    *,
    by: str | None = "irritant",
    period: str | None = None,
) -> list[CountRow]:
    """Count matching stories by a key, optionally per week or month (UTC periods).

    Args:
        session: The caller's session.
        filters: Same filters as :func:`list_stories`.
        by: ``irritant``, ``engagement`` or ``tag`` (active labels; a story counts once per
            code), ``structure`` (structure code, None when unknown), ``canal``, ``ressenti``,
            ``departement``, ``status``, ``partner``; or None for plain story counts.
        period: None, ``week`` (period = Monday) or ``month`` (period = first day).

    Returns:
        Rows sorted by period, then count descending, then key.

    Raises:
        ValueError: Unknown ``by`` or ``period``.

    """
    if by is not None and by not in AGGREGATE_KEYS:
        raise ValueError(f"Cannot aggregate by {by!r}; expected one of {AGGREGATE_KEYS}.")
    if period is not None and period not in PERIODS:
        raise ValueError(f"Unknown period {period!r}; expected one of {PERIODS}.")
    created_at: ColumnElement = Story.created_at
    if by in LABEL_SPACES:
        # Labels carry their story's structure and date: the perimeter and period are one range
        # of ix_story_labels_space_active_structure_created_code, without a probe per story.
        # Stories are joined only for the other filters.
        key = StoryLabel.code
        count = func.count(distinct(StoryLabel.story_id))
        created_at = StoryLabel.story_created_at
        others = _story_conditions(filters) if filters is not None else []
        from_clause = (
            join(StoryLabel, Story, Story.id == StoryLabel.story_id) if others else StoryLabel
        )
        conditions = [StoryLabel.space == by, StoryLabel.active == true()]
        if filters is not None:
            conditions += _scope_conditions(
                filters, session, StoryLabel.story_structure_id, created_at
            )
        conditions += others
    else:
        # count(*), not count(Story.id): PostgreSQL answers from the (structure, date, id,
        # ressenti) index without reading the table.
        count = func.count()
        if by == "structure":
            key = Structure.code
            from_clause = outerjoin(Story, Structure, Story.structure_id == Structure.id)
        else:
            key = getattr(Story, by) if by is not None else None
            from_clause = Story
        conditions = _conditions(filters, session)
    columns: list[ColumnElement] = []
    if key is not None:
        columns.append(key.label("key"))
    if period is not None:
        dialect = session.get_bind().dialect.name
        columns.append(_period_start(dialect, period, created_at).label("period"))
    stmt = select(*columns, count.label("count")).select_from(from_clause).where(*conditions)
    if columns:
        stmt = stmt.group_by(*columns)
    rows = []
    for mapping in session.execute(stmt).mappings():
        start = mapping.get("period")
        if isinstance(start, str):
            start = date.fromisoformat(start)
        rows.append(CountRow(key=mapping.get("key"), count=mapping["count"], period=start))
    rows.sort(key=lambda r: (r.period or date.min, -r.count, r.key is None, r.key or ""))
    return rows
