"""JSON shapes of the API: stories, notes, improvement actions, agents, analytics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from feedback_store.accounts import AgentRecord
from feedback_store.analytics import FallbackOverview, QuestionCount
from feedback_store.analytics_events import KIND_LABELS
from feedback_store.improvement_actions import ActionRecord
from feedback_store.notes import NoteRecord
from feedback_store.story_types import StoryRecord
from feedback_store.taxonomy import (
    CANAUX,
    ENGAGEMENTS,
    IRRITANTS,
    RESSENTIS,
    TAGS_GENERAUX,
    sorted_codes,
)

ACTION_STATUS_LABELS = {
    "proposee": "Proposée",
    "engagee": "Engagée",
    "realisee": "Réalisée",
    "abandonnee": "Abandonnée",
}
STORY_STATUS_LABELS = {
    "nouveau": "Nouveau",
    "en_cours": "En cours",
    "traite": "Traité",
    "clos": "Clos",
}
NOT_GIVEN = "Non renseigné"


def iso(value: date | datetime | None) -> str | None:
    """ISO 8601 text of a date or datetime."""
    return value.isoformat() if value is not None else None


def label_of(by: str, key: str | None, structure_names: dict[str, str] | None = None) -> str:
    """Human label of an aggregate key."""
    if key is None:
        return NOT_GIVEN
    if by == "irritant" and key in IRRITANTS:
        return IRRITANTS[key].label
    if by == "engagement" and key in ENGAGEMENTS:
        return f"{key} – {ENGAGEMENTS[key].label}"
    if by == "tag" and key in TAGS_GENERAUX:
        return TAGS_GENERAUX[key].label
    if by == "canal":
        return CANAUX.get(key, key)
    if by == "ressenti":
        return RESSENTIS.get(key, key)
    if by == "status":
        return STORY_STATUS_LABELS.get(key, key)
    if by == "structure" and structure_names:
        return structure_names.get(key, key)
    return key


def story_url(reference: str) -> str:
    """API address of a story."""
    return f"/api/stories/{quote(reference)}"


def story_json(story: StoryRecord) -> dict[str, Any]:
    """A story with its active labels and every label by source."""
    return {
        "reference": story.reference,
        "url": story_url(story.reference),
        "created_at": iso(story.created_at),
        "updated_at": iso(story.updated_at),
        "structure": (
            {"code": story.structure_code, "name": story.structure_name}
            if story.structure_code
            else None
        ),
        "structure_label": story.structure_label,
        "canal": story.canal,
        "ressenti": story.ressenti,
        "title": story.title,
        "text": story.text,
        "suggestion": story.suggestion,
        "postal_code": story.postal_code,
        "departement": story.departement,
        "partner": story.partner,
        "status": story.status,
        "taxonomy_version": story.taxonomy_version,
        "model_version": story.model_version,
        "irritants": sorted_codes("irritant", story.irritants),
        "engagements": sorted_codes("engagement", story.engagements),
        "tags": sorted_codes("tag", story.tags),
        "labels": [
            {
                "space": label.space,
                "code": label.code,
                "source": label.source,
                "confidence": label.confidence,
                "active": label.active,
                "author": label.author,
                "created_at": iso(label.created_at),
            }
            for label in story.labels
        ],
    }


def note_json(note: NoteRecord) -> dict[str, Any]:
    """A note of a story."""
    return {
        "id": note.id,
        "author": note.author,
        "body": note.body,
        "created_at": iso(note.created_at),
    }


def action_json(action: ActionRecord) -> dict[str, Any]:
    """An improvement action with its links."""
    return {
        "id": action.id,
        "url": f"/api/actions/{action.id}",
        "title": action.title,
        "description": action.description,
        "owner": action.owner,
        "structure": (
            {"code": action.structure_code, "name": action.structure_name}
            if action.structure_code
            else None
        ),
        "due_date": iso(action.due_date),
        "status": action.status,
        "status_label": ACTION_STATUS_LABELS[action.status],
        "done_text": action.done_text,
        "irritants": list(action.irritants),
        "stories": list(action.stories),
        "created_at": iso(action.created_at),
        "updated_at": iso(action.updated_at),
    }


def agent_json(agent: AgentRecord) -> dict[str, Any]:
    """The account of the authenticated agent."""
    return {
        "email": agent.email,
        "display_name": agent.display_name,
        "role": agent.role,
        "structures": [{"code": code, "role": role} for code, role in sorted(agent.roles.items())],
    }


def _question_json(item: QuestionCount) -> dict[str, Any]:
    return {
        "question": item.question,
        "count": item.count,
        "flows": list(item.flows),
        "last_seen": iso(item.last_seen),
    }


def fallbacks_json(overview: FallbackOverview) -> dict[str, Any]:
    """Conversation analytics of a period: fallbacks per flow and the top questions."""
    return {
        "date_from": iso(overview.date_from),
        "date_to": iso(overview.date_to),
        "total": overview.total,
        "conversations": overview.conversations,
        "kinds": [
            {"kind": kind, "label": KIND_LABELS[kind], "count": count}
            for kind, count in overview.kinds.items()
        ],
        "flows": [
            {
                "flow": item.flow,
                "label": item.label,
                "total": item.total,
                "conversations": item.conversations,
                "kinds": dict(item.kinds),
            }
            for item in overview.flows
        ],
        "top_not_understood": [_question_json(q) for q in overview.top_not_understood],
        "top_out_of_scope": [_question_json(q) for q in overview.top_out_of_scope],
    }
