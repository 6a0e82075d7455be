"""The ``purge`` and ``erase`` subcommands of ``python -m feedback_store.cli``.

Examples:
    .venv/bin/python -m feedback_store.cli purge --dry-run
    .venv/bin/python -m feedback_store.cli purge --older-than-days 365
    .venv/bin/python -m feedback_store.cli erase --conversation 3f6c9a0e-widget
    .venv/bin/python -m feedback_store.cli erase --story EXP-2026-000042

The databases are ``TRACKER_DB_URL`` and ``FEEDBACK_DB_URL`` (or ``--tracker-db-url``,
``--feedback-db-url``), the outbox ``STORY_OUTBOX_PATH`` (or ``--outbox``); the story database
is migrated first. What is removed is described in :mod:`feedback_store.privacy_ops`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.future import create_engine

import settings as settings_module
from feedback_store import migrate, privacy_ops
from feedback_store.db import make_engine
from feedback_store.outbox import Outbox

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def _days(value: str) -> int:
    if not value.strip().isdecimal() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} n'est pas un nombre de jours (1 ou plus).")
    return int(value)


def _location_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracker-db-url", metavar="URL", help="base des conversations (défaut : TRACKER_DB_URL)"
    )
    parser.add_argument(
        "--feedback-db-url", metavar="URL", help="base des histoires (défaut : FEEDBACK_DB_URL)"
    )
    parser.add_argument(
        "--outbox",
        metavar="FICHIER",
        help="file d'attente des histoires (défaut : STORY_OUTBOX_PATH)",
    )


def add_parsers(groups: argparse._SubParsersAction) -> None:
    """Add ``purge`` and ``erase`` to the CLI's subcommands."""
    purge = groups.add_parser(
        "purge",
        help="supprimer les conversations et histoires plus anciennes que la durée de conservation",
    )
    purge.add_argument(
        "--older-than-days",
        type=_days,
        metavar="N",
        help="durée de conservation en jours (défaut : RETENTION_DAYS)",
    )
    purge.add_argument("--dry-run", action="store_true", help="compter sans rien supprimer")
    _location_args(purge)
    purge.set_defaults(privacy=run_purge)

    erase = groups.add_parser(
        "erase", help="effacer toutes les données d'un usager (droit à l'effacement)"
    )
    target = erase.add_mutually_exclusive_group(required=True)
    target.add_argument("--conversation", metavar="ID", help="identifiant de la conversation")
    target.add_argument(
        "--story", metavar="REFERENCE", help="référence d'une histoire (EXP-AAAA-NNNNNN)"
    )
    _location_args(erase)
    erase.set_defaults(privacy=run_erase)


def tracker_engine(url: str) -> Engine | None:
    """Engine of the tracker database; None when its SQLite file does not exist (never created).

    SQLite connections overwrite deleted content (``secure_delete``) and wait for Rasa's writes.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if not parsed.database or not Path(parsed.database).is_file():
        return None
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _secure_delete(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA secure_delete=ON")

    return engine


def _configuration(args: argparse.Namespace) -> tuple[settings_module.Settings, str, str, Path]:
    """Settings, then the tracker URL, story URL and outbox path after the command's overrides."""
    current = settings_module.load()
    overrides = {
        name: value
        for name, value in (
            ("TRACKER_DB_URL", args.tracker_db_url),
            ("FEEDBACK_DB_URL", args.feedback_db_url or args.url),
        )
        if value
    }
    checked = settings_module.load(overrides) if overrides else current
    tracker = checked.tracker_db_url if "TRACKER_DB_URL" in overrides else current.tracker_db_url
    feedback = (
        checked.feedback_db_url if "FEEDBACK_DB_URL" in overrides else current.feedback_db_url
    )
    outbox = Path(args.outbox or current.story_outbox_path)
    if not outbox.is_absolute() and not args.outbox:
        outbox = settings_module.ROOT / outbox
    return current, tracker, feedback, outbox


def _lines(report: privacy_ops.PrivacyReport) -> list[str]:
    width = max(len(name) for name in report.deleted)
    lines = []
    for name, count in report.deleted.items():
        line = f"  {name.ljust(width)}  {count:>8}"
        if name == "events":
            line += f"  ({report.conversations} conversation(s))"
        lines.append(line)
    return lines


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _run(args: argparse.Namespace, actor: str, purge: bool) -> int:
    try:
        current, tracker_url, feedback_url, outbox_path = _configuration(args)
    except settings_module.SettingsError as error:
        print(f"Configuration invalide : {error}", file=sys.stderr)
        return EXIT_USAGE
    feedback = tracker = None
    url = feedback_url
    try:
        if not purge and args.story is not None:
            privacy_ops.normalised_reference(args.story)  # refuse a typo before any connection
        migrate.upgrade(feedback_url)
        feedback = make_engine(feedback_url)
        url = tracker_url
        tracker = tracker_engine(tracker_url)
        if tracker is None:
            print(f"Base des conversations absente ({_shown(tracker_url)}) : rien à y faire.")
        outbox = Outbox(outbox_path)
        if purge:
            days = args.older_than_days or current.retention_days
            mode = " — simulation, rien n'est supprimé" if args.dry_run else ""
            print(f"Purge : conservation {days} jours{mode}.", flush=True)
            report = privacy_ops.purge(
                feedback,
                tracker,
                outbox,
                older_than_days=days,
                actor=actor,
                dry_run=args.dry_run,
                progress=lambda line: print(f"  … {line}", flush=True),
            )
            cutoff = report.cutoff.strftime("%Y-%m-%d %H:%M UTC") if report.cutoff else "-"
            verb = "À supprimer" if args.dry_run else "Supprimé"
            print(f"{verb} (antérieur au {cutoff}), lignes par table :")
        else:
            report = privacy_ops.erase(
                feedback,
                tracker,
                outbox,
                conversation_id=args.conversation,
                story_reference=args.story,
                actor=actor,
            )
            references = ", ".join(report.references) or "aucune"
            print(f"Effacé, lignes par table (histoires : {references}) :")
        print("\n".join(_lines(report)))
        if not (purge and args.dry_run):
            print("Une ligne d'audit a été écrite (sans donnée personnelle).")
    except (privacy_ops.NothingToEraseError, ValueError) as error:
        print(f"Erreur : {error}", file=sys.stderr)
        return EXIT_REFUSED
    except (SQLAlchemyError, ImportError) as error:
        print(
            f"Erreur de base de données ({_shown(url)}) : {error.__class__.__name__}",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except OSError as error:
        print(f"Erreur de fichier ({outbox_path}) : {error.strerror or error}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        for engine in (feedback, tracker):
            if engine is not None:
                engine.dispose()
    return EXIT_OK


def run_purge(args: argparse.Namespace, actor: str) -> int:
    """Run ``purge``; returns the exit code."""
    return _run(args, actor, purge=True)


def run_erase(args: argparse.Namespace, actor: str) -> int:
    """Run ``erase``; returns the exit code."""
    return _run(args, actor, purge=False)
