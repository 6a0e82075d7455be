"""Improvement actions: what a service commits to do about irritants, and what it did.

An action has a title, an owner, a due date, a status (proposée, engagée, réalisée,
abandonnée), the text of what was done (published on the "vous avez dit, nous avons fait"
page) and links to the irritants and stories that motivated it. Functions take the caller's
session, never commit, and return plain :class:`ActionRecord` values; changes are audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from feedback_store import audit
from feedback_store.models import (
    ACTION_STATUSES,
    ImprovementAction,
    ImprovementActionIrritant,
    ImprovementActionStory,
    Story,
    Structure,
)
from feedback_store.taxonomy import IRRITANTS, sorted_codes

__all__ = [
    "ACTION_STATUSES",
    "ActionNotFoundError",
    "ActionRecord",
    "ActionValidationError",
    "create_action",
    "get_action",
    "list_actions",
    "update_action",
]

TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 5000
_UNSET: Any = object()


class ActionValidationError(ValueError):
    """An action field is invalid; nothing was changed."""


class ActionNotFoundError(LookupError):
    """No improvement action has the given id."""


@dataclass(frozen=True)
class ActionRecord:
    """An improvement action, detached from the session."""

    id: int
    title: str
    description: str | None
    owner: str | None
    structure_code: str | None
    structure_name: str | None
    due_date: date | None
    status: str
    done_text: str | None
    irritants: tuple[str, ...]
    stories: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


def _text(value: Any, name: str, max_length: int, *, required: bool = False) -> str | None:
    if value is None:
        text = None
    elif isinstance(value, str):
        text = value.strip() or None
    else:
        raise ActionValidationError(f"Le champ {name} doit être un texte.")
    if text is None and required:
        raise ActionValidationError(f"Le champ {name} est obligatoire.")
    if text is not None and len(text) > max_length:
        raise ActionValidationError(f"Le champ {name} dépasse {max_length} caractères.")
    return text


def _status(value: Any) -> str:
    if value not in ACTION_STATUSES:
        raise ActionValidationError(
            f"Statut d'action {value!r} inconnu ; statuts possibles : "
            f"{', '.join(ACTION_STATUSES)}."
        )
    return value


def _due_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    raise ActionValidationError("La date d'échéance doit être une date.")


def _irritants(codes: Any) -> list[str]:
    if isinstance(codes, str) or not isinstance(codes, Iterable):
        raise ActionValidationError("Les irritants doivent être une liste de codes.")
    codes = list(codes)
    unknown = [code for code in codes if not isinstance(code, str) or code not in IRRITANTS]
    if unknown:
        raise ActionValidationError(
            f"Irritant(s) inconnu(s) : {', '.join(map(str, unknown))} ; codes possibles : "
            f"{', '.join(IRRITANTS)}."
        )
    return sorted_codes("irritant", codes)


def _stories(session: Session, references: Any) -> list[Story]:
    if isinstance(references, str) or not isinstance(references, Iterable):
        raise ActionValidationError("Les histoires doivent être une liste de références.")
    wanted = []
    for reference in references:
        if not isinstance(reference, str):
            raise ActionValidationError("Les histoires doivent être une liste de références.")
        wanted.append(reference.strip().upper())
    if not wanted:
        return []
    rows = session.execute(select(Story).where(Story.reference.in_(wanted))).scalars().all()
    found = {row.reference for row in rows}
    missing = sorted(set(wanted) - found)
    if missing:
        raise ActionValidationError(f"Histoire(s) inconnue(s) : {', '.join(missing)}.")
    return sorted(rows, key=lambda row: row.reference)


def _structure(session: Session, code: Any) -> Structure | None:
    if code is None:
        return None
    if not isinstance(code, str):
        raise ActionValidationError("La structure doit être un code.")
    row = session.execute(select(Structure).where(Structure.code == code)).scalar_one_or_none()
    if row is None:
        raise ActionValidationError(f"Structure inconnue : {code}.")
    return row


def _check_done(status: str, done_text: str | None) -> None:
    if status == "realisee" and not done_text:
        raise ActionValidationError(
            "Décrivez ce qui a été fait (done_text) pour passer l'action au statut « réalisée »."
        )


def _record(session: Session, row: ImprovementAction) -> ActionRecord:
    structure = session.get(Structure, row.structure_id) if row.structure_id else None
    return ActionRecord(
        id=row.id,
        title=row.title,
        description=row.description,
        owner=row.owner,
        structure_code=structure.code if structure else None,
        structure_name=structure.name if structure else None,
        due_date=row.due_date,
        status=row.status,
        done_text=row.done_text,
        irritants=tuple(sorted_codes("irritant", [link.irritant for link in row.irritants])),
        stories=tuple(sorted(story.reference for story in row.stories)),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _load(session: Session, action_id: int) -> ImprovementAction:
    stmt = (
        select(ImprovementAction)
        .where(ImprovementAction.id == action_id)
        .options(selectinload(ImprovementAction.irritants), selectinload(ImprovementAction.stories))
    )
    row = session.execute(stmt).scalar_one_or_none()
    if row is None:
        raise ActionNotFoundError(f"Aucune action d'amélioration n° {action_id}.")
    return row


def create_action(
    session: Session,
    *,
    title: str,
    actor: str,
    structure_code: str | None = None,
    owner: str | None = None,
    description: str | None = None,
    due_date: date | None = None,
    status: str = "proposee",
    done_text: str | None = None,
    irritants: Iterable[str] = (),
    story_references: Iterable[str] = (),
) -> ActionRecord:
    """Create an improvement action linked to irritants and stories; audited.

    Raises:
        ActionValidationError: Missing title, unknown status, irritant, story or structure;
            status ``realisee`` without ``done_text``.

    """
    row = ImprovementAction(
        title=_text(title, "title", TITLE_MAX_LENGTH, required=True),
        description=_text(description, "description", TEXT_MAX_LENGTH),
        owner=_text(owner, "owner", 200),
        due_date=_due_date(due_date),
        status=_status(status),
        done_text=_text(done_text, "done_text", TEXT_MAX_LENGTH),
    )
    _check_done(row.status, row.done_text)
    structure = _structure(session, structure_code)
    row.structure_id = structure.id if structure else None
    row.irritants = [ImprovementActionIrritant(irritant=code) for code in _irritants(irritants)]
    row.stories = _stories(session, story_references)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="action.create",
        target_type="action",
        target=str(row.id),
        details={"status": row.status, "structure": structure_code},
    )
    return _record(session, _load(session, row.id))


def get_action(session: Session, action_id: int) -> ActionRecord | None:
    """Return the action with this id, or None."""
    try:
        return _record(session, _load(session, action_id))
    except ActionNotFoundError:
        return None


def list_actions(
    session: Session,
    *,
    structure_codes: Iterable[str] | None = None,
    status: str | None = None,
    irritant: str | None = None,
    story_reference: str | None = None,
) -> list[ActionRecord]:
    """Return matching actions, newest first.

    Args:
        session: The caller's session.
        structure_codes: Only actions of these structures (None: all, including national ones).
        status: Only actions with this status.
        irritant: Only actions addressing this irritant.
        story_reference: Only actions linked to this story.

    Raises:
        ActionValidationError: Unknown status or irritant code.

    """
    stmt = select(ImprovementAction).options(
        selectinload(ImprovementAction.irritants), selectinload(ImprovementAction.stories)
    )
    if structure_codes is not None:
        ids = select(Structure.id).where(Structure.code.in_(list(structure_codes)))
        stmt = stmt.where(ImprovementAction.structure_id.in_(ids))
    if status is not None:
        stmt = stmt.where(ImprovementAction.status == _status(status))
    if irritant is not None:
        code = _irritants([irritant])[0]
        stmt = stmt.where(
            ImprovementAction.id.in_(
                select(ImprovementActionIrritant.action_id).where(
                    ImprovementActionIrritant.irritant == code
                )
            )
        )
    if story_reference is not None:
        stmt = stmt.where(
            ImprovementAction.id.in_(
                select(ImprovementActionStory.action_id)
                .join(Story, Story.id == ImprovementActionStory.story_id)
                .where(Story.reference == story_reference.strip().upper())
            )
        )
    rows = session.execute(stmt.order_by(ImprovementAction.id.desc())).scalars().all()
    return [_record(session, row) for row in rows]


def update_action(
    session: Session,
    action_id: int,
    *,
    actor: str,
    title: str = _UNSET,
    description: str | None = _UNSET,
    owner: str | None = _UNSET,
    due_date: date | None = _UNSET,
    status: str = _UNSET,
    done_text: str | None = _UNSET,
    structure_code: str | None = _UNSET,
    irritants: Iterable[str] = _UNSET,
    story_references: Iterable[str] = _UNSET,
) -> ActionRecord:
    """Change the given fields of an action (omitted ones stay; None clears); audited.

    Raises:
        ActionNotFoundError: Unknown id.
        ActionValidationError: As for :func:`create_action`.

    """
    row = _load(session, action_id)
    values: dict[str, Any] = {}  # validated first: an invalid change leaves the row untouched
    if title is not _UNSET:
        values["title"] = _text(title, "title", TITLE_MAX_LENGTH, required=True)
    if description is not _UNSET:
        values["description"] = _text(description, "description", TEXT_MAX_LENGTH)
    if owner is not _UNSET:
        values["owner"] = _text(owner, "owner", 200)
    if due_date is not _UNSET:
        values["due_date"] = _due_date(due_date)
    if done_text is not _UNSET:
        values["done_text"] = _text(done_text, "done_text", TEXT_MAX_LENGTH)
    if status is not _UNSET:
        values["status"] = _status(status)
    if structure_code is not _UNSET:
        structure = _structure(session, structure_code)
        values["structure_id"] = structure.id if structure else None
    codes = _irritants(irritants) if irritants is not _UNSET else None
    stories = _stories(session, story_references) if story_references is not _UNSET else None
    _check_done(values.get("status", row.status), values.get("done_text", row.done_text))

    changed: dict[str, Any] = {name: True for name in values}
    if "due_date" in values:
        changed["due_date"] = values["due_date"].isoformat() if values["due_date"] else None
    if "status" in values:
        changed["status"] = {"from": row.status, "to": values["status"]}
    if "structure_id" in values:
        del changed["structure_id"]
        changed["structure"] = structure_code
    for name, value in values.items():
        setattr(row, name, value)
    if codes is not None:
        row.irritants = [ImprovementActionIrritant(irritant=code) for code in codes]
        changed["irritants"] = codes
    if stories is not None:
        row.stories = stories
        changed["stories"] = len(stories)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="action.update",
        target_type="action",
        target=str(row.id),
        details=changed,
    )
    session.expire(row)
    return _record(session, _load(session, row.id))
