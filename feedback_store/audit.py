"""Audit trail: who did what, when, on which target (label changes, exports, accounts).

Functions take the caller's session and never commit. Details must be non-personal (codes, old
and new values, filters, counts), never story text or credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feedback_store.models import AuditLog

__all__ = ["AuditEntry", "list_entries", "record", "record_export"]


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target: str | None
    details: Any


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Add an audit row (e.g. ``action="agent.create", target_type="agent"``).

    Args:
        session: The caller's session (not committed here).
        actor: Agent e-mail, ``usager`` or ``system``.
        action: Dotted verb, e.g. ``story.labels``, ``export.csv``, ``token.revoke``.
        target_type: Kind of target: ``story``, ``agent``, ``token``, ``export``…
        target: Identifier of the target, when there is one.
        details: Non-personal, JSON-serialisable details.

    """
    session.add(
        AuditLog(
            actor=actor,
            action=action,
            target_type=target_type,
            target=target,
            details=dict(details) if details is not None else None,
        )
    )
    session.flush()


def record_export(
    session: Session,
    *,
    actor: str,
    kind: str,
    filters: Mapping[str, Any],
    rows: int | None = None,
) -> None:
    """Audit an export (``kind``: csv, xlsx, pdf, html…) with its perimeter and row count.

    Args:
        session: The caller's session.
        actor: E-mail of the agent who exported.
        kind: Export format or report name.
        filters: The perimeter and period exported (structure codes, dates, label filters);
            values are turned into strings so dates and tuples are stored as JSON.
        rows: Number of stories exported, when known.

    """
    details: dict[str, Any] = {
        key: (list(map(str, value)) if isinstance(value, list | tuple) else str(value))
        for key, value in filters.items()
        if value is not None
    }
    if rows is not None:
        details["rows"] = rows
    record(
        session,
        actor=actor,
        action=f"export.{kind}",
        target_type="export",
        target=kind,
        details=details,
    )


def list_entries(
    session: Session,
    *,
    action: str | None = None,
    target_type: str | None = None,
    target: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Return the newest audit rows matching the given criteria (newest first)."""
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action is not None:
        stmt = stmt.where(AuditLog.action == action)
    if target_type is not None:
        stmt = stmt.where(AuditLog.target_type == target_type)
    if target is not None:
        stmt = stmt.where(AuditLog.target == target)
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            target_type=row.target_type,
            target=row.target,
            details=row.details,
        )
        for row in session.execute(stmt).scalars()
    ]
