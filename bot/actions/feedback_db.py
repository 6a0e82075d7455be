"""The story store as the action server sees it: one engine, one session factory, one outbox.

Everything is created on first use, once per process, from ``settings.load().feedback_db_url``:
the engine, the Alembic migrations (run once, before the first session) and the session factory.
If the database cannot be reached, nothing is cached and the next call tries again, so a
database that comes back is picked up without restarting the action server.

Actions open one short session per run: ``with get_session_factory().begin() as session: ...``.
Tests call :func:`reset` (after setting ``FEEDBACK_DB_URL``) to start from a clean state.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from feedback_store.outbox import Outbox

logger = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class _Store:
    """Process-wide state, guarded by ``_LOCK``."""

    engine: Engine | None = None
    factory: sessionmaker | None = None
    outbox_path: Path | None = None


_LOCK = threading.Lock()
_STORE = _Store()


def get_session_factory() -> sessionmaker:
    """Return the process-wide session factory, migrating the database on first use.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: If the database cannot be reached or migrated
            (nothing is cached then: the next call tries again).
        settings.SettingsError: If ``FEEDBACK_DB_URL`` is invalid.

    """
    with _LOCK:
        if _STORE.factory is None:
            import settings
            from feedback_store.db import make_engine, make_session_factory
            from feedback_store.migrate import upgrade

            engine = make_engine(settings.load().feedback_db_url)
            try:
                upgrade(engine)
            except Exception:
                engine.dispose()
                raise
            logger.info("Story store ready (schema at head).")
            _STORE.engine = engine
            _STORE.factory = make_session_factory(engine)
        return _STORE.factory


def _configured_outbox_path() -> Path:
    import settings

    path = Path(settings.load().story_outbox_path)
    return path if path.is_absolute() else _ROOT / path


def get_outbox() -> Outbox:
    """Return the durable outbox used when the database is unavailable (``STORY_OUTBOX_PATH``)."""
    if _STORE.outbox_path is None:
        _STORE.outbox_path = _configured_outbox_path()
    return Outbox(_STORE.outbox_path)


def outbox_waiting() -> bool:
    """Whether stories wait in the outbox (a cheap check, no database access)."""
    path = get_outbox().path
    return path.exists() and path.stat().st_size > 0


def flush_outbox() -> None:
    """Write the stories waiting in the outbox, if any (never raises: it runs after a reply)."""
    outbox = get_outbox()
    if not outbox.path.exists():
        return
    try:
        result = outbox.flush(get_session_factory())
    except Exception:  # the usager already has an answer; the next success retries
        logger.exception("Story outbox: flush failed")
        return
    if result.submitted or result.rejected:
        logger.info(
            "Story outbox: %d written, %d rejected, %d waiting",
            result.submitted,
            result.rejected,
            result.remaining,
        )


def reset(outbox_path: str | Path | None = None) -> None:
    """Forget the engine and factory (the next use reads the settings again); for tests.

    Args:
        outbox_path: Outbox file to use from now on (default: ``STORY_OUTBOX_PATH``).

    """
    with _LOCK:
        if _STORE.engine is not None:
            _STORE.engine.dispose()
        _STORE.engine = None
        _STORE.factory = None
        _STORE.outbox_path = Path(outbox_path) if outbox_path else None
