r"""Command line for quality committees: import a SP+ export, export stories, write the report.

Examples::

    python -m feedback_store.import_export import tests/data/spplus/experiences.csv
    python -m feedback_store.import_export export --from 2025-01-01 --to 2025-03-31 \
        --structure caf-05 --format xlsx --out experiences.xlsx
    python -m feedback_store.import_export report --from 2025-01-01 --to 2025-03-31 \
        --structure caf-05,caf-04 --format pdf --out comite.pdf

The database is ``FEEDBACK_DB_URL`` (or ``--url``); it is migrated first. ``--to`` is inclusive
(Paris calendar days). Every export and import is written to the audit log as ``cli:<user>``.
Exit codes: 0 done, 1 refused (unreadable file, unknown structure, invalid period), 2 bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

import settings as settings_module
from feedback_store import audit, migrate
from feedback_store.db import make_engine, make_session_factory
from feedback_store.exports import ExportScope, iter_csv, iter_story_rows, iter_xlsx
from feedback_store.importer import FORMATS as IMPORT_FORMATS
from feedback_store.importer import ImportFormatError, count_rows, detect_format, import_file
from feedback_store.models import Structure
from feedback_store.story_types import StoryValidationError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A refusal printed as is (exit code 1)."""


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a YYYY-MM-DD date, got {value!r}") from None


def _structures(values: Sequence[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    codes = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return tuple(dict.fromkeys(codes)) or None


def _check_structures(factory: sessionmaker, codes: Sequence[str] | None) -> None:
    if not codes:
        return
    with factory() as session:
        known = set(
            session.execute(select(Structure.code).where(Structure.code.in_(codes))).scalars()
        )
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise CliError(
            f"unknown structure(s): {', '.join(unknown)} "
            "(create them with python -m feedback_store.cli structure add)"
        )


def _scope(args: argparse.Namespace) -> ExportScope:
    try:
        return ExportScope(args.date_from, args.date_to, _structures(args.structure))
    except StoryValidationError as error:
        raise CliError(str(error)) from error


def _open_out(out: str) -> IO[bytes]:
    if out == "-":
        return sys.stdout.buffer
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("wb")


def run_import(factory: sessionmaker, args: argparse.Namespace) -> str:
    """Import a SP+ export file with a progress bar; returns the summary."""
    structure = _structures([args.structure] if args.structure else None)
    _check_structures(factory, structure)
    fmt = detect_format(args.file, args.format)
    total = count_rows(args.file, fmt)
    from tqdm import tqdm

    with tqdm(
        total=total, unit="row", desc="import", disable=args.no_progress, file=sys.stderr
    ) as bar:
        summary = import_file(
            factory,
            args.file,
            fmt,
            actor=_actor(),
            batch_size=args.batch_size,
            progress=bar.update,
            structure_code=structure[0] if structure else None,
        )
    return summary.report()


def run_export(factory: sessionmaker, args: argparse.Namespace) -> str:
    """Write the CSV or XLSX export of a period and perimeter."""
    scope = _scope(args)
    _check_structures(factory, scope.structure_codes)
    with factory.begin() as session:
        audit.record_export(
            session, actor=_actor(), kind=f"stories.{args.format}", filters=scope.to_dict()
        )
    rows = 0
    with factory() as session:
        source = iter_story_rows(session, scope.filters())

        def counted():
            nonlocal rows
            for row in source:
                rows += 1
                yield row

        encode = iter_csv if args.format == "csv" else iter_xlsx
        out = _open_out(args.out)
        try:
            for chunk in encode(counted()):
                out.write(chunk)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
    return f"{rows} stories exported to {args.out} ({args.format})."


def run_report(factory: sessionmaker, args: argparse.Namespace) -> str:
    """Write the committee report (PDF or printable HTML)."""
    from feedback_store.report import build_committee_report, render_html, render_pdf

    scope = _scope(args)
    _check_structures(factory, scope.structure_codes)
    with factory.begin() as session:
        report = build_committee_report(session, scope)
        audit.record_export(
            session, actor=_actor(), kind=f"committee_report.{args.format}", filters=scope.to_dict()
        )
    out = _open_out(args.out)
    try:
        if args.format == "pdf":
            pages = render_pdf(report, out)
            detail = f"{pages} pages"
        else:
            out.write(render_html(report).encode("utf-8"))
            detail = "HTML"
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    return f"Committee report written to {args.out} ({detail}, {report.stories.current} stories)."


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the CLI."""
    parser = argparse.ArgumentParser(
        prog="python -m feedback_store.import_export",
        description="Import a Services Publics+ open-data export of experiences, export stories "
        "(CSV/XLSX with the SP+ column names) and write the quality committee report (PDF/HTML).",
    )
    parser.add_argument("--url", default=None, help="SQLAlchemy URL (default: FEEDBACK_DB_URL)")
    sub = parser.add_subparsers(dest="command", required=True)

    imp = sub.add_parser(
        "import",
        help="import a SP+ export file (scrubbed and classified; idempotent)",
        description="Import a SP+ open-data export (CSV or JSON with its column names). Rows are "
        "scrubbed and classified; re-importing the same file stores nothing twice. A summary of "
        "the rejected rows, with their line and reason, is printed at the end.",
    )
    imp.add_argument("file", type=Path, help="the CSV or JSON file")
    imp.add_argument("--format", choices=IMPORT_FORMATS, help="default: from the extension")
    imp.add_argument(
        "--structure",
        help="put every story under this structure code (default: by intitule_structure_1)",
    )
    imp.add_argument("--batch-size", type=int, default=200, help="rows per transaction")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.set_defaults(run=run_import)

    for name, formats, helptext, run in (
        ("export", ("csv", "xlsx"), "export the stories of a period and perimeter", run_export),
        ("report", ("pdf", "html"), "write the committee report of a period", run_report),
    ):
        command = sub.add_parser(name, help=helptext, description=helptext + ".")
        command.add_argument(
            "--from", dest="date_from", type=_day, required=True, help="first day, YYYY-MM-DD"
        )
        command.add_argument(
            "--to", dest="date_to", type=_day, required=True, help="last day (inclusive)"
        )
        command.add_argument(
            "--structure",
            action="append",
            help="structure code; repeat or separate with commas (default: all structures)",
        )
        command.add_argument("--format", choices=formats, required=True)
        command.add_argument("--out", required=True, help="output file ('-': standard output)")
        command.set_defaults(run=run)
    return parser


def _database_url(args: argparse.Namespace) -> str:
    if args.url:
        return settings_module.load({"FEEDBACK_DB_URL": args.url}).feedback_db_url
    return settings_module.load().feedback_db_url


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        url = _database_url(args)
    except settings_module.SettingsError as error:
        print(f"Invalid configuration: {error}", file=sys.stderr)
        return EXIT_USAGE
    engine = None
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        message = args.run(make_session_factory(engine), args)
    except (CliError, ImportFormatError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_REFUSED
    except SQLAlchemyError as error:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = getattr(error, "orig", None) or error.__class__.__name__  # no SQL parameters
        print(f"Database error ({shown}): {reason}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        if engine is not None:
            engine.dispose()
    print(message, file=sys.stderr if args.command != "import" and args.out == "-" else sys.stdout)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
