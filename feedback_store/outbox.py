"""A small durable local outbox for stories whose database write failed.

The edge that caught the database error appends the ALREADY-SCRUBBED story (with its
classification and the time it was submitted) as one JSON line to a file under ``var/``, and
answers the usager normally. :meth:`Outbox.flush`, run at start-up or periodically, re-submits the
queued stories; :func:`~feedback_store.stories.submit_story` is idempotent on ``submission_id``, so
a story flushed twice (crash between commit and file rewrite) is stored once.

Several processes may append and flush at the same time: appends hold an exclusive ``flock`` on a
lock file next to the outbox, and a flush first moves the queue aside (under that lock), submits
without holding it, then puts back what failed. Lines that can never succeed (invalid JSON,
invalid story) go to ``<outbox>.rejected`` instead of blocking the queue.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from feedback_store.stories import submit_story, validate_story
from feedback_store.story_types import (
    Classification,
    ClassificationLike,
    StoryInput,
    StoryValidationError,
)

logger = logging.getLogger(__name__)

DEFAULT_OUTBOX_PATH = Path("var/story_outbox.jsonl")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FlushResult:
    """Outcome of one :meth:`Outbox.flush`.

    Attributes:
        submitted: Stories now in the database (new or already there).
        rejected: Lines moved to the ``.rejected`` file (never retried).
        remaining: Stories still queued (database still failing, or appended meanwhile).
        skipped: True if another flush was running, so this one did nothing.

    """

    submitted: int
    rejected: int
    remaining: int
    skipped: bool = False


def _entry_matches(matches: Callable[[dict[str, Any]], bool], line: str, rejected: bool) -> bool:
    """Apply ``matches`` to a queued line (or to the line kept in a ``.rejected`` record)."""
    try:
        entry = json.loads(line)
        if rejected:
            entry = json.loads(entry["line"])
        return isinstance(entry, dict) and bool(matches(entry))
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


class Outbox:
    """A JSON-lines queue of scrubbed stories waiting for the database."""

    def __init__(self, path: str | Path = DEFAULT_OUTBOX_PATH) -> None:
        self.path = Path(path)
        self._processing = self.path.with_name(self.path.name + ".processing")
        self._rejected = self.path.with_name(self.path.name + ".rejected")
        self._lock = self.path.with_name(self.path.name + ".lock")
        self._flush_lock = self.path.with_name(self.path.name + ".flush.lock")

    @contextmanager
    def _locked(self, lock_path: Path, *, blocking: bool = True) -> Iterator[bool]:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @staticmethod
    def _write_lines(path: Path, lines: list[str], *, append: bool) -> None:
        """Append ``lines`` durably, or replace the file atomically (temp file + rename)."""
        target = path if append else path.with_name(path.name + ".tmp")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        with os.fdopen(os.open(target, flags, 0o600), "w", encoding="utf-8") as handle:
            handle.writelines(line if line.endswith("\n") else line + "\n" for line in lines)
            handle.flush()
            os.fsync(handle.fileno())
        if not append:
            os.replace(target, path)

    @staticmethod
    def _read_lines(path: Path) -> list[str]:
        if not path.exists():
            return []
        with path.open(encoding="utf-8") as handle:
            return [line for line in handle if line.strip()]

    def append(
        self,
        story: StoryInput,
        classification: ClassificationLike | None = None,
        *,
        queued_at: datetime | None = None,
    ) -> None:
        """Queue a story (validated first, so a bad story fails here and not at flush time).

        Args:
            story: The already scrubbed story (the outbox never holds raw usager text).
            classification: Its classification, replayed with it.
            queued_at: Submission time (defaults to now); becomes the story's ``created_at``.

        Raises:
            StoryValidationError: If the story is invalid (then nothing is queued).

        """
        story = validate_story(story)
        entry = {
            "v": FORMAT_VERSION,
            "queued_at": (queued_at or datetime.now(timezone.utc)).isoformat(),
            "story": story.to_dict(),
            "classification": (
                Classification.from_any(classification).to_dict()
                if classification is not None
                else None
            ),
        }
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        with self._locked(self._lock):
            self._write_lines(self.path, [line], append=True)

    def pending(self) -> int:
        """Return the number of stories waiting (queued or being flushed)."""
        with self._locked(self._lock):
            return len(self._read_lines(self.path)) + len(self._read_lines(self._processing))

    def discard(self, matches: Callable[[dict[str, Any]], bool], *, dry_run: bool = False) -> int:
        """Remove the queued and rejected stories whose entry ``matches`` (privacy operations).

        Waits for a running flush to finish, so a removed story cannot be re-submitted by it.
        ``matches`` receives the parsed line (``story``, ``queued_at``, ``classification``);
        unreadable lines are kept.

        Returns:
            Lines removed (or that would be, with ``dry_run``).

        """
        files = (self.path, self._processing, self._rejected)
        if not any(path.exists() for path in files):
            return 0
        removed = 0
        with self._locked(self._flush_lock), self._locked(self._lock):
            for path in files:
                lines = self._read_lines(path)
                rejected = path == self._rejected
                kept = [line for line in lines if not _entry_matches(matches, line, rejected)]
                removed += len(lines) - len(kept)
                if dry_run or len(kept) == len(lines):
                    continue
                if kept:
                    self._write_lines(path, kept, append=False)
                else:
                    path.unlink()
        return removed

    def _reject(self, line: str, reason: str) -> None:
        logger.error("Story outbox: rejecting a queued story (%s)", reason)
        record = json.dumps({"line": line.rstrip("\n"), "reason": reason}, ensure_ascii=False)
        self._write_lines(self._rejected, [record], append=True)

    def _submit_line(self, session_factory: sessionmaker, line: str) -> bool | None:
        """Submit one line: True stored, False rejected, None to retry later."""
        try:
            entry = json.loads(line)
            story = StoryInput.from_dict(entry["story"])
            raw_classification = entry.get("classification")
            classification = (
                Classification.from_dict(raw_classification) if raw_classification else None
            )
            queued_at = datetime.fromisoformat(entry["queued_at"])
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            self._reject(line, f"unreadable entry: {error}")
            return False
        try:
            with session_factory.begin() as session:
                submit_story(session, story, classification, created_at=queued_at)
        except StoryValidationError as error:
            self._reject(line, f"invalid story: {error}")
            return False
        except (SQLAlchemyError, OSError) as error:
            logger.warning("Story outbox: database still failing (%s)", error.__class__.__name__)
            return None
        return True

    def flush(self, session_factory: sessionmaker) -> FlushResult:
        """Re-submit queued stories, each in its own transaction; keep the ones that fail.

        Args:
            session_factory: Factory of sessions on the story database.

        Returns:
            Counts of submitted, rejected and remaining stories.

        """
        with self._locked(self._flush_lock, blocking=False) as acquired:
            if not acquired:
                return FlushResult(0, 0, self.pending(), skipped=True)
            with self._locked(self._lock):
                if self.path.exists():
                    # A crashed flush may have left a processing file: queue after it.
                    self._write_lines(self._processing, self._read_lines(self.path), append=True)
                    self.path.unlink()
                lines = self._read_lines(self._processing)
            submitted = rejected = 0
            retry: list[str] = []
            for index, line in enumerate(lines):
                outcome = self._submit_line(session_factory, line)
                if outcome is None:  # database down: keep this one and everything after it
                    retry = lines[index:]
                    break
                if outcome:
                    submitted += 1
                else:
                    rejected += 1
            with self._locked(self._lock):
                newer = self._read_lines(self.path)
                if retry or newer:
                    self._write_lines(self.path, retry + newer, append=False)
                elif self.path.exists():
                    self.path.unlink()
                self._processing.unlink(missing_ok=True)
            return FlushResult(submitted, rejected, len(retry) + len(newer))
