"""Reading the agent notes (replies, internal notes) attached to a story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback_store.models import Story, StoryNote
from feedback_store.story_types import StoryNotFoundError

__all__ = ["NoteRecord", "list_notes"]


@dataclass(frozen=True)
class NoteRecord:
    """One note of a story."""

    id: int
    author: str
    body: str
    created_at: datetime


def list_notes(session: Session, reference: str) -> list[NoteRecord]:
    """Return the notes of a story, oldest first.

    Raises:
        StoryNotFoundError: Unknown reference.

    """
    story_id = session.execute(
        select(Story.id).where(Story.reference == reference.strip().upper())
    ).scalar_one_or_none()
    if story_id is None:
        raise StoryNotFoundError(f"No story with reference {reference!r}.")
    rows = session.execute(
        select(StoryNote).where(StoryNote.story_id == story_id).order_by(StoryNote.id)
    ).scalars()
    return [NoteRecord(row.id, row.author, row.body, row.created_at) for row in rows]
