"""Import of a Services Publics+ open-data export of experiences (CSV or JSON) into the store.

Column names are matched accent-, case- and punctuation-blind, so the variants seen in the
published exports all work: ``id_experience`` or ``id``, ``tags_generaux_accessibilite`` or
``tags_généraux_accessibilité`` or ``accessibilite``, ``intitule_structure_1`` (else
``intitule_typologie_1``)… ``id_experience`` and ``description`` are required.

Each row is scrubbed (description, title, improvement text) and classified on the way in, then
stored with :func:`feedback_store.stories.submit_story`. The submission id is a UUID derived from
``id_experience``: importing the same file twice stores each experience once. Experiences
published in the open data were shared publicly by their authors, so consent is taken as given.
``tags_generaux_*`` cells that are set become ``agent`` tag labels (set by the structure's agents
on the platform). Rows that cannot be stored are rejected with a reason; the others go on.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from feedback_store import audit
from feedback_store.models import Story, Structure
from feedback_store.stories import (
    TEXT_MAX_LENGTH,
    TEXT_MIN_LENGTH,
    StoryInput,
    StoryValidationError,
    departement_from_postal_code,
    set_agent_labels,
    submit_story,
    validate_story,
)
from feedback_store.story_types import ClassificationLike
from feedback_store.taxonomy import CANAUX, RESSENTIS, TAG_EXPORT_COLUMNS

__all__ = [
    "FORMATS",
    "IMPORT_AUTHOR",
    "ImportFormatError",
    "ImportSummary",
    "Rejection",
    "SourceRow",
    "count_rows",
    "detect_format",
    "import_file",
    "import_rows",
    "parse_written_at",
    "read_rows",
    "submission_id_for",
]

FORMATS: tuple[str, ...] = ("csv", "json")
SPPLUS_NAMESPACE = uuid.uuid5(
    uuid.NAMESPACE_URL,
    "https://opendata.plus.transformation.gouv.fr/explore/dataset/export-experiences/",
)
IMPORT_AUTHOR = "Services Publics+ (import)"
REQUIRED_COLUMNS: tuple[str, ...] = ("id_experience", "description")
TITLE_MAX_LENGTH = 200
STRUCTURE_LABEL_MAX_LENGTH = 200
MAX_LISTED_REJECTIONS = 50
_FALSE_WORDS = frozenset({"", "0", "false", "faux", "non", "no", "none", "null", "nan", "n/a"})
_DATE_FR = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2})[:h](\d{2})(?::(\d{2}))?)?$")
PARIS_TZ = "Europe/Paris"
# C0 control characters but tab and line ends (PostgreSQL text cannot even hold NUL).
_CONTROL_CHARS = dict.fromkeys((*range(0, 9), 11, 12, *range(14, 32)))
_NOT_SUGGESTION = frozenset(_FALSE_WORDS | {"oui", "yes", "true", "vrai", "1"})


def _key(name: str) -> str:
    """Accent-, case- and punctuation-blind form of a column name."""
    folded = unicodedata.normalize("NFKD", name.replace("\ufeff", "").casefold())
    return "".join(char for char in folded if char.isalnum() and not unicodedata.combining(char))


_COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "id_experience": ("id_experience", "id"),
    "titre": ("titre",),
    "description": ("description",),
    "ressenti_usager": ("ressenti_usager",),
    "intitule_structure_1": ("intitule_structure_1",),
    "intitule_typologie_1": ("intitule_typologie_1",),
    "ecrit_le": ("ecrit_le",),
    "code_postal_usager": ("code_postal_usager",),
    "amelioration_de_service_a_considerer": ("amelioration_de_service_a_considerer",),
    "canal": ("canal", "canal_de_contact"),
    "tags_generaux_accessibilite": ("tags_generaux_accessibilite", "accessibilite"),
    "tags_generaux_information_explication": (
        "tags_generaux_information_explication",
        "information_explication",
    ),
    "tags_generaux_relation": ("tags_generaux_relation", "relation"),
    "tags_generaux_reactivite": ("tags_generaux_reactivite", "reactivite"),
    "tags_generaux_simplicite_complexite": (
        "tags_generaux_simplicite_complexite",
        "simplicite_complexite",
    ),
}
ALIASES: Mapping[str, str] = {
    _key(alias): canonical for canonical, aliases in _COLUMN_NAMES.items() for alias in aliases
}
"""Folded column name (see :func:`_key`) → canonical column name."""

_TAG_BY_COLUMN = {column: code for code, column in TAG_EXPORT_COLUMNS.items()}
_RESSENTI_BY_KEY = {_key(label): code for code, label in RESSENTIS.items()}
_CANAL_BY_KEY = {_key(code): code for code in CANAUX} | {
    _key(label): code for code, label in CANAUX.items()
}


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (bad JSON, no header, required column missing)."""


class Classifier(Protocol):
    """What the importer needs from a story classifier."""

    def classify(self, text: str) -> ClassificationLike:
        """Labels of one story."""


@dataclass(frozen=True)
class SourceRow:
    """One record of the source file, keys already canonical.

    Attributes:
        line: CSV line where the record starts, or 1-based index in the JSON list.
        values: Canonical column name → raw value (unknown columns dropped).
        error: Why the record could not even be parsed, if so.

    """

    line: int
    values: Mapping[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class Rejection:
    """A row that was not stored, and why."""

    line: int
    id_experience: str | None
    reason: str


@dataclass
class ImportSummary:
    """Counts of an import run; rejections and warnings carry the line and the reason."""

    read: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    warnings: list[Rejection] = field(default_factory=list)

    def merge(self, other: ImportSummary) -> None:
        """Add the counts of another run (e.g. the next batch) to this one."""
        self.read += other.read
        self.imported += other.imported
        self.already_present += other.already_present
        self.rejected.extend(other.rejected)
        self.warnings.extend(other.warnings)

    def to_dict(self) -> dict[str, Any]:
        """Counts only (for the audit log; no row content)."""
        return {
            "read": self.read,
            "imported": self.imported,
            "already_present": self.already_present,
            "rejected": len(self.rejected),
            "warnings": len(self.warnings),
        }

    def report(self, limit: int = MAX_LISTED_REJECTIONS) -> str:
        """Human-readable summary: counts, rejections grouped by reason, then listed."""
        lines = [
            f"{self.read} rows read: {self.imported} imported, {self.already_present} already "
            f"present, {len(self.rejected)} rejected, {len(self.warnings)} warnings."
        ]
        for title, items in (("Rejected rows", self.rejected), ("Warnings", self.warnings)):
            if not items:
                continue
            lines.append(f"{title} by reason:")
            for reason, count in Counter(_reason_kind(item.reason) for item in items).most_common():
                lines.append(f"  {count:6d}  {reason}")
            lines.append(f"{title}:")
            for item in items[:limit]:
                ident = f" (id_experience {item.id_experience})" if item.id_experience else ""
                lines.append(f"  line {item.line}{ident}: {item.reason}")
            if len(items) > limit:
                lines.append(f"  … and {len(items) - limit} more")
        return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    """The reason without its row-specific details (in parentheses at the end)."""
    return reason.split(" (", 1)[0].strip()


# --- reading ------------------------------------------------------------------------------------


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """Return ``csv`` or ``json``: ``fmt`` if given, else from the file extension.

    Raises:
        ImportFormatError: Unknown format or extension.

    """
    if fmt is None:
        fmt = Path(path).suffix.lower().lstrip(".")
        fmt = {"jsonl": "json", "tsv": "csv", "txt": "csv"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise ImportFormatError(
            f"Unknown format {fmt!r} for {path}: use --format csv or --format json."
        )
    return fmt


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # exports re-saved by a spreadsheet


def _canonical(record: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in record.items():
        canonical = ALIASES.get(_key(str(name)))
        if canonical is not None and canonical not in values:
            values[canonical] = value
    return values


def _check_columns(names: Iterable[str], source: str) -> None:
    present = {ALIASES.get(_key(str(name))) for name in names}
    missing = [column for column in REQUIRED_COLUMNS if column not in present]
    if missing:
        raise ImportFormatError(
            f"{source}: required column(s) missing: {', '.join(missing)} "
            "(expected the Services Publics+ export column names)."
        )


def _csv_rows(text: str, source: str) -> Iterator[SourceRow]:
    first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise ImportFormatError(f"{source}: empty file or no header line.")
    delimiter = max(";,\t|", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    _check_columns(header, source)
    width = len(header)
    previous_end = reader.line_num
    while True:
        start = previous_end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            previous_end = reader.line_num
            yield SourceRow(start, {}, f"unreadable CSV row ({error})")
            continue
        previous_end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != width:
            yield SourceRow(
                start,
                _canonical(dict(zip(header, cells, strict=False))),
                f"malformed row ({len(cells)} fields, the header has {width})",
            )
            continue
        yield SourceRow(start, _canonical(dict(zip(header, cells, strict=True))))


def _json_records(text: str, source: str) -> list[Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        try:  # JSON Lines
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            raise ImportFormatError(f"{source}: invalid JSON ({error}).") from error
    if isinstance(data, dict):
        for key in ("results", "records", "experiences", "data"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            raise ImportFormatError(f"{source}: expected a JSON list of experiences.")
    if not isinstance(data, list):
        raise ImportFormatError(f"{source}: expected a JSON list of experiences.")
    return data


def _json_rows(text: str, source: str) -> Iterator[SourceRow]:
    records = _json_records(text, source)
    objects = [
        record.get("fields", record) if isinstance(record, dict) else record for record in records
    ]
    names = {name for record in objects if isinstance(record, dict) for name in record}
    if objects:
        _check_columns(names, source)
    for index, record in enumerate(objects, start=1):
        if not isinstance(record, dict):
            yield SourceRow(index, {}, f"not a JSON object (got {type(record).__name__})")
        else:
            yield SourceRow(index, _canonical(record))


def read_rows(path: str | Path, fmt: str | None = None) -> Iterator[SourceRow]:
    """Read the records of a SP+ export file.

    Args:
        path: CSV (``;``, ``,`` or tab separated, UTF-8 or Windows-1252) or JSON file (a list of
            objects, an Opendatasoft ``{"results": [...]}`` / ``{"records": [{"fields": …}]}``
            document, or JSON Lines).
        fmt: ``csv`` or ``json``; None: from the extension.

    Raises:
        ImportFormatError: The file cannot be read as a whole.

    """
    fmt = detect_format(path, fmt)
    try:
        text = _decode(Path(path).read_bytes())
    except OSError as error:
        raise ImportFormatError(f"Cannot read {path}: {error.strerror or error}.") from error
    if fmt == "csv":
        csv.field_size_limit(max(csv.field_size_limit(), 10 * TEXT_MAX_LENGTH * 4))
        return _csv_rows(text, str(path))
    return _json_rows(text, str(path))


def count_rows(path: str | Path, fmt: str | None = None) -> int:
    """Number of records of a file (for a progress bar); reads it once."""
    return sum(1 for _ in read_rows(path, fmt))


# --- one row ------------------------------------------------------------------------------------


def submission_id_for(id_experience: str) -> str:
    """Deterministic submission id (UUID) of a SP+ experience: re-imports are no-ops."""
    return str(uuid.uuid5(SPPLUS_NAMESPACE, f"spplus:{id_experience.strip()}"))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ; ".join(_text(item) for item in value if _text(item))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).translate(_CONTROL_CHARS).strip()


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return _text(value).casefold() not in _FALSE_WORDS


def parse_written_at(value: Any) -> datetime:
    """Parse ``ecrit_le``: ISO date or date-time, or ``dd/mm/yyyy [hh:mm[:ss]]``.

    Times without an offset are Paris local times; a bare date means noon in Paris (so the day
    stays the same in UTC).

    Raises:
        ValueError: Empty or unrecognised value.

    """
    from zoneinfo import ZoneInfo

    paris = ZoneInfo(PARIS_TZ)
    text = _text(value)
    if not text:
        raise ValueError("ecrit_le: empty")
    match = _DATE_FR.match(text)
    try:
        if match:
            day, month, year, hour, minute, second = match.groups()
            if hour is None:
                return datetime(int(year), int(month), int(day), 12, tzinfo=paris)
            moment = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
            )
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day_value = date.fromisoformat(text)
            return datetime(day_value.year, day_value.month, day_value.day, 12, tzinfo=paris)
        else:
            moment = datetime.fromisoformat(re.sub(r"Z$", "+00:00", text.replace(" ", "T", 1)))
    except ValueError:
        raise ValueError(f"ecrit_le: not a date (got {text!r})") from None
    return moment.replace(tzinfo=paris) if moment.tzinfo is None else moment


def _slug(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.casefold())
    ascii_text = "".join(char for char in folded if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:64].strip("-")


class _Context:
    """What one import run reuses between rows: structure codes by name, ids already seen."""

    def __init__(self, session: Session, structure_code: str | None) -> None:
        self.structure_code = structure_code
        self.by_name = {
            _slug(name): code
            for code, name in session.execute(select(Structure.code, Structure.name))
        }
        self.seen: set[str] = set()

    def structure_for(self, name: str | None) -> str | None:
        if self.structure_code is not None:
            return self.structure_code
        if not name:
            return None
        slug = _slug(name)
        if not slug:
            return None
        return self.by_name.setdefault(slug, slug)


def _scrubbed(scrubber: Any, value: Any, limit: int) -> str | None:
    text = _text(value)
    if not text:
        return None
    cleaned = scrubber.scrub(text).text.strip()
    return cleaned[:limit].strip() or None


def _import_row(
    session: Session,
    row: SourceRow,
    context: _Context,
    scrubber: Any,
    classifier: Classifier,
    summary: ImportSummary,
    now: datetime,
) -> None:
    values = row.values
    id_experience = _text(values.get("id_experience")) or None

    def reject(reason: str) -> None:
        summary.rejected.append(Rejection(row.line, id_experience, reason))

    def warn(reason: str) -> None:
        summary.warnings.append(Rejection(row.line, id_experience, reason))

    if row.error is not None:
        reject(row.error)
        return
    if id_experience is None:
        reject("id_experience: missing")
        return
    submission_id = submission_id_for(id_experience)
    if (
        submission_id in context.seen
        or session.execute(select(Story.id).where(Story.submission_id == submission_id)).first()
    ):
        summary.already_present += 1
        return
    ressenti = _RESSENTI_BY_KEY.get(_key(_text(values.get("ressenti_usager"))))
    if ressenti is None:
        reject(
            f"ressenti_usager: unknown value (got {_text(values.get('ressenti_usager'))!r}; "
            "expected Positif, Neutre or Négatif)"
        )
        return
    try:
        written_at = parse_written_at(values.get("ecrit_le"))
    except ValueError as error:
        reject(str(error))
        return
    if written_at > now + timedelta(days=1):
        reject(f"ecrit_le: in the future ({written_at.date().isoformat()})")
        return
    raw_text = _text(values.get("description"))
    if not raw_text:
        reject("description: empty")
        return
    text = scrubber.scrub(raw_text).text.strip()
    if len(text) < TEXT_MIN_LENGTH:
        reject(
            f"description: too short after scrubbing ({len(text)} characters, "
            f"minimum {TEXT_MIN_LENGTH})"
        )
        return
    if len(text) > TEXT_MAX_LENGTH:
        warn(f"description: truncated ({len(text)} characters, maximum {TEXT_MAX_LENGTH})")
        text = text[:TEXT_MAX_LENGTH].strip()
    postal_code = _text(values.get("code_postal_usager")).replace(" ", "") or None
    if postal_code is not None:
        if re.fullmatch(r"\d{4}", postal_code):
            postal_code = "0" + postal_code  # leading zero lost by a spreadsheet
        try:
            departement_from_postal_code(postal_code)
        except StoryValidationError:
            warn(f"code_postal_usager: invalid value dropped (got {postal_code!r})")
            postal_code = None
    canal = "autre"
    if _text(values.get("canal")):
        canal = _CANAL_BY_KEY.get(_key(_text(values["canal"])), "autre")
    improvement = values.get("amelioration_de_service_a_considerer")
    suggestion = None
    if not isinstance(improvement, bool) and _text(improvement).casefold() not in _NOT_SUGGESTION:
        suggestion = _scrubbed(scrubber, improvement, TEXT_MAX_LENGTH)
    structure_name = _text(values.get("intitule_structure_1")) or _text(
        values.get("intitule_typologie_1")
    )
    structure_label = structure_name[:STRUCTURE_LABEL_MAX_LENGTH] or None
    story = StoryInput(
        submission_id=submission_id,
        structure_code=context.structure_for(structure_name),
        structure_label=structure_label,
        canal=canal,
        ressenti=ressenti,
        text=text,
        suggestion=suggestion,
        postal_code=postal_code,
        consent=True,
        title=_scrubbed(scrubber, values.get("titre"), TITLE_MAX_LENGTH),
    )
    try:
        story = validate_story(story)
    except StoryValidationError as error:
        reject(str(error))
        return
    try:
        classification = classifier.classify(text)
    except Exception as error:  # noqa: BLE001 - the story is kept without model labels
        warn(f"classifier failed, stored without model labels ({error.__class__.__name__})")
        classification = None
    try:
        record = submit_story(session, story, classification, created_at=written_at)
    except StoryValidationError as error:  # raised before anything is written
        reject(str(error))
        return
    tags = [code for column, code in _TAG_BY_COLUMN.items() if _truthy(values.get(column))]
    if tags:
        set_agent_labels(session, record.reference, author=IMPORT_AUTHOR, tags=tags)
    context.seen.add(submission_id)
    summary.imported += 1


def import_rows(
    session: Session,
    rows: Iterable[SourceRow],
    *,
    scrubber: Any = None,
    classifier: Classifier | None = None,
    structure_code: str | None = None,
    now: datetime | None = None,
    context: _Context | None = None,
) -> ImportSummary:
    """Scrub, classify and store SP+ records in the caller's session (not committed here).

    Args:
        session: The caller's session.
        rows: Records from :func:`read_rows`.
        scrubber: Object with ``scrub(text).text``; default: the process-wide scrubber.
        classifier: Object with ``classify(text)``; default: the process-wide classifier.
        structure_code: Put every story under this structure; otherwise the structure is found
            by the name in ``intitule_structure_1`` (an existing structure with that name, or a
            new one whose code is the name's slug).
        now: Reference time for future-date checks (tests).
        context: State shared between batches of one run (internal).

    Returns:
        What happened to each row.

    """
    if scrubber is None:
        from feedback_store.scrubbing import get_scrubber

        scrubber = get_scrubber()
    if classifier is None:
        from feedback_store.classifier import get_classifier

        classifier = get_classifier()
    context = context or _Context(session, structure_code)
    now = now or datetime.now(timezone.utc)
    summary = ImportSummary()
    for row in rows:
        summary.read += 1
        _import_row(session, row, context, scrubber, classifier, summary, now)
    return summary


def import_file(
    factory: sessionmaker,
    path: str | Path,
    fmt: str | None = None,
    *,
    actor: str = "system",
    batch_size: int = 200,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> ImportSummary:
    """Import a whole file, committing every ``batch_size`` rows; audited once at the end.

    Args:
        factory: Session factory of the store.
        path: The SP+ export file.
        fmt: ``csv`` or ``json``; None: from the extension.
        actor: Who runs the import (audit log).
        batch_size: Rows per transaction.
        progress: Called with the number of rows done after each batch.
        **options: ``scrubber``, ``classifier``, ``structure_code``, ``now`` of
            :func:`import_rows`.

    Raises:
        ImportFormatError: The file cannot be read as a whole (nothing is imported).

    """
    rows = read_rows(path, fmt)
    summary = ImportSummary()
    context = None
    batch: list[SourceRow] = []

    def flush() -> None:
        nonlocal context
        with factory.begin() as session:
            if context is None:
                context = _Context(session, options.get("structure_code"))
            summary.merge(import_rows(session, batch, context=context, **options))
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    with factory.begin() as session:
        audit.record(
            session,
            actor=actor,
            action="import.spplus",
            target_type="import",
            target=Path(path).name[:64],
            details=summary.to_dict(),
        )
    return summary
