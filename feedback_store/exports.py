"""Exports of stories for quality committees: streamed CSV and XLSX with the SP+ column names.

Columns are those of the Services Publics+ open-data export of experiences
(:data:`feedback_store.taxonomy.EXPORT_COLUMNS`) followed by our own labels (:data:`OUR_COLUMNS`).
Rows are read with a ``yield_per`` query (a server-side cursor on PostgreSQL) and the active labels
of each batch of stories with one more query, so memory stays bounded whatever the number of
stories: the CSV and the XLSX (:mod:`feedback_store.xlsx_stream`) are generators of byte chunks
that can be sent while the query runs.

Value formats:
    * ``id_experience``: the story's submission id (UUID; for imported SP+ experiences it is
      derived from their own ``id_experience``); ``reference`` is our public ``EXP-…`` reference.
    * ``ressenti_usager``: ``Positif`` / ``Neutre`` / ``Négatif`` as on the SP+ platform.
    * ``ecrit_le``: ISO 8601 date-time in Europe/Paris (a date-time cell in the XLSX).
    * ``tags_generaux_*``: empty when the story does not carry that tag général (active label);
      otherwise the French labels of its active irritants of that tag, joined by ``" | "``, or
      the tag's own label when none of its irritants is set. A non-empty cell means "tagged".
    * ``irritants`` / ``engagements``: active codes in taxonomy order, joined by ``|``.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, true
from sqlalchemy.orm import Session, outerjoin

from feedback_store import xlsx_stream as _xlsx
from feedback_store.models import Story, StoryLabel, Structure
from feedback_store.stories import _conditions
from feedback_store.story_types import StoryFilters, StoryValidationError
from feedback_store.taxonomy import (
    ENGAGEMENTS,
    EXPORT_COLUMNS,
    IRRITANTS,
    RESSENTIS,
    TAG_EXPORT_COLUMNS,
    TAGS_GENERAUX,
)

PARIS = ZoneInfo("Europe/Paris")
OUR_COLUMNS: tuple[str, ...] = (
    "reference",
    "code_structure",
    "canal",
    "statut",
    "partenaire",
    "irritants",
    "engagements",
    "taxonomy_version",
)
EXPORT_HEADER: tuple[str, ...] = (*EXPORT_COLUMNS, *OUR_COLUMNS)
"""Header of every export: the SP+ open-data columns, then our labels."""

FORMATS: tuple[str, ...] = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CODE_SEPARATOR = "|"
LABEL_SEPARATOR = " | "
DEFAULT_BATCH_SIZE = 500
MAX_PERIOD_DAYS = 3 * 366
MIN_DAY, MAX_DAY = date(1990, 1, 1), date(2100, 12, 31)
_IRRITANT_ORDER = {code: index for index, code in enumerate(IRRITANTS)}
_ENGAGEMENT_ORDER = {code: index for index, code in enumerate(ENGAGEMENTS)}
# Cells starting with these are run as formulas by spreadsheet software (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportScope:
    """What an export or report covers: an inclusive period and an optional perimeter.

    Attributes:
        date_from: First day (Paris calendar day, inclusive).
        date_to: Last day (inclusive).
        structure_codes: Structures of the perimeter; None means every structure.

    """

    date_from: date
    date_to: date
    structure_codes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.date_to < self.date_from:
            raise StoryValidationError(
                f"Inverted period: {self.date_from.isoformat()} is after "
                f"{self.date_to.isoformat()}."
            )
        if self.date_from < MIN_DAY or self.date_to > MAX_DAY:
            raise StoryValidationError(
                f"Dates must be between {MIN_DAY.isoformat()} and {MAX_DAY.isoformat()}."
            )
        if (self.date_to - self.date_from).days >= MAX_PERIOD_DAYS:
            raise StoryValidationError(f"A period cannot be longer than {MAX_PERIOD_DAYS} days.")

    @property
    def days(self) -> int:
        """Number of days of the period."""
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> ExportScope:
        """The period of the same length just before this one, same perimeter."""
        return ExportScope(
            self.date_from - timedelta(days=self.days),
            self.date_from - timedelta(days=1),
            self.structure_codes,
        )

    def filters(self, **extra: Any) -> StoryFilters:
        """Story filters of this scope (Paris days turned into UTC instants), plus ``extra``."""
        return StoryFilters(
            structure_codes=self.structure_codes,
            date_from=_paris_midnight(self.date_from),
            date_to=_paris_midnight(self.date_to + timedelta(days=1)),
            **extra,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the audit log: ``from``, ``to``, ``structures``)."""
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "structures": list(self.structure_codes) if self.structure_codes is not None else None,
        }


def _paris_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=PARIS)


def _join_codes(codes: Iterable[str], order: dict[str, int]) -> str:
    return CODE_SEPARATOR.join(sorted(codes, key=lambda code: order.get(code, len(order))))


def _tag_cells(irritants: Sequence[str], tags: Sequence[str]) -> list[str]:
    cells = []
    for code in TAG_EXPORT_COLUMNS:
        if code not in tags:
            cells.append("")
            continue
        labels = [
            IRRITANTS[i].label for i in irritants if i in IRRITANTS and IRRITANTS[i].tag == code
        ]
        cells.append(LABEL_SEPARATOR.join(labels) or TAGS_GENERAUX[code].label)
    return cells


def _active_labels(session: Session, story_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    label = StoryLabel.__table__.c
    stmt = select(label.story_id, label.space, label.code).where(
        label.story_id.in_(story_ids), label.active == true()
    )
    labels: dict[int, dict[str, list[str]]] = {}
    for story_id, space, code in session.execute(stmt):
        labels.setdefault(story_id, {}).setdefault(space, []).append(code)
    return labels


def iter_story_rows(
    session: Session,
    filters: StoryFilters | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[tuple[Any, ...]]:
    """Yield one row per matching story, oldest first, values in :data:`EXPORT_HEADER` order.

    Streams: stories are fetched ``batch_size`` at a time from a ``yield_per`` query, labels with
    one query per batch. Keep the session open until the generator is exhausted or closed.

    Args:
        session: The caller's session (read only).
        filters: Same filters as :func:`feedback_store.stories.list_stories`.
        batch_size: Stories per fetched batch.

    Yields:
        Tuples of str / None, except ``ecrit_le`` (an aware datetime in Europe/Paris).

    Raises:
        StoryValidationError: On an unknown code in the filters.

    """
    story, structure = Story.__table__.c, Structure.__table__.c  # Core columns: no ORM loading
    stmt = (
        select(
            story.id,
            story.submission_id,
            story.title,
            story.text_anonymised,
            story.ressenti,
            structure.name,
            story.structure_label,
            story.created_at,
            story.postal_code,
            story.suggestion_anonymised,
            story.reference,
            structure.code,
            story.canal,
            story.status,
            story.partner,
            story.taxonomy_version,
        )
        .select_from(outerjoin(Story, Structure, story.structure_id == structure.id))
        .where(*_conditions(filters))
        .order_by(story.created_at, story.id)
        .execution_options(yield_per=batch_size)
    )
    result = session.execute(stmt)
    try:
        for partition in result.partitions(batch_size):
            labels = _active_labels(session, [row[0] for row in partition])
            for row in partition:
                (story_id, submission_id, title, text, ressenti, structure_name, structure_label,
                 created_at, postal_code, suggestion, reference, structure_code, canal, status,
                 partner, taxonomy_version) = row  # fmt: skip
                story_labels = labels.get(story_id, {})
                irritants = sorted(
                    story_labels.get("irritant", ()), key=lambda c: _IRRITANT_ORDER.get(c, 99)
                )
                yield (
                    submission_id,
                    title,
                    text,
                    RESSENTIS.get(ressenti, ressenti),
                    structure_name or structure_label,
                    created_at.astimezone(PARIS),
                    postal_code,
                    *_tag_cells(irritants, story_labels.get("tag", [])),
                    suggestion,
                    reference,
                    structure_code,
                    canal,
                    status,
                    partner,
                    CODE_SEPARATOR.join(irritants),
                    _join_codes(story_labels.get("engagement", []), _ENGAGEMENT_ORDER),
                    taxonomy_version,
                )
    finally:
        result.close()


def _safe_text(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (OWASP CSV injection advice)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return _safe_text(str(value))


def iter_csv(
    rows: Iterable[Sequence[Any]],
    *,
    delimiter: str = ";",
    bom: bool = True,
    chunk_rows: int = 500,
) -> Iterator[bytes]:
    """Encode export rows as UTF-8 CSV chunks, header first.

    Args:
        rows: Rows from :func:`iter_story_rows`.
        delimiter: Field separator (``;`` by default, as French spreadsheet software expects).
        bom: Start with a UTF-8 byte-order mark so spreadsheet software reads the accents right.
        chunk_rows: Rows per yielded chunk.

    Yields:
        Byte chunks; concatenated, they are the CSV file (CRLF line ends, RFC 4180 quoting).

    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    prefix = codecs.BOM_UTF8 if bom else b""
    pending = 0
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
        pending += 1
        if pending >= chunk_rows:
            yield prefix + buffer.getvalue().encode("utf-8")
            prefix = b""
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield prefix + buffer.getvalue().encode("utf-8")


def write_csv(session: Session, filters: StoryFilters | None, out: IO[bytes], **options) -> int:
    """Write the CSV export of the matching stories to a binary file; returns the row count.

    ``options`` are those of :func:`iter_csv`.
    """
    counter = _Counter(iter_story_rows(session, filters))
    for chunk in iter_csv(counter, **options):
        out.write(chunk)
    return counter.count


XLSX_SHEET_NAME = "Expériences"
_XLSX_WIDTHS = {"titre": 30, "description": 80, "amelioration_de_service_a_considerer": 50}


def _xlsx_rows(rows: Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
    date_column = EXPORT_HEADER.index("ecrit_le")
    for row in rows:
        values = list(row)
        values[date_column] = values[date_column].replace(tzinfo=None)  # Paris wall-clock time
        yield values


def iter_xlsx(rows: Iterable[Sequence[Any]], *, chunk_rows: int = 1000) -> Iterator[bytes]:
    """Encode export rows as an XLSX file, streamed (see :mod:`feedback_store.xlsx_stream`).

    One sheet "Expériences": bold frozen header with a filter, ``ecrit_le`` as date-time cells
    (Paris time), every other value as text (never a formula).

    Yields:
        Byte chunks; concatenated, they are the ``.xlsx`` file.

    """
    yield from _xlsx.iter_xlsx(
        EXPORT_HEADER,
        _xlsx_rows(rows),
        sheet_name=XLSX_SHEET_NAME,
        widths=[_XLSX_WIDTHS.get(name, 18) for name in EXPORT_HEADER],
        title="Export des expériences usagers",
        chunk_rows=chunk_rows,
    )


def write_xlsx(session: Session, filters: StoryFilters | None, out: IO[bytes]) -> int:
    """Write the XLSX export of the matching stories to a binary file; returns the row count.

    The file need not be seekable; memory does not grow with the number of stories.
    """
    counter = _Counter(iter_story_rows(session, filters))
    for chunk in iter_xlsx(counter):
        out.write(chunk)
    return counter.count


class _Counter:
    """Iterator wrapper counting what went through it."""

    def __init__(self, iterable: Iterable[Any]) -> None:
        self._iterator = iter(iterable)
        self.count = 0

    def __iter__(self) -> _Counter:
        return self

    def __next__(self) -> Any:
        item = next(self._iterator)
        self.count += 1
        return item


def export_filename(scope: ExportScope, fmt: str) -> str:
    """File name of an export, e.g. ``experiences_2025-01-01_2025-03-31.xlsx``."""
    return f"experiences_{scope.date_from.isoformat()}_{scope.date_to.isoformat()}.{fmt}"
