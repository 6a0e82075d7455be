"""The agent JSON API under ``/api`` (described by ``GET /api/openapi.json``).

Every route but ``POST /api/session`` (login) and ``GET /api/openapi.json`` needs an API token
or a dashboard session (see :mod:`feedback_store.portal.auth`); data is always restricted to the
structures the agent is entitled to. Handlers are synchronous: each runs in a worker thread
inside the request's single transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy.orm import Session

from feedback_store import audit
from feedback_store.accounts import AgentRecord, list_structures
from feedback_store.analytics import DEFAULT_TOP, MAX_TOP, fallbacks_by_flow
from feedback_store.improvement_actions import (
    ActionRecord,
    create_action,
    get_action,
    list_actions,
    update_action,
)
from feedback_store.irritant_overview import irritant_overview
from feedback_store.models import ACTION_STATUSES, STORY_STATUSES
from feedback_store.notes import list_notes
from feedback_store.portal import api_params as params
from feedback_store.portal.api_json import (
    action_json,
    agent_json,
    fallbacks_json,
    iso,
    label_of,
    note_json,
    story_json,
)
from feedback_store.portal.auth import (
    clear_session_cookie,
    csrf_token,
    csrf_token_for,
    login,
    read_session,
    require,
    scope_filters,
    set_session_cookie,
)
from feedback_store.portal.errors import ApiError
from feedback_store.portal.openapi import openapi_document
from feedback_store.stories import (
    TEXT_MAX_LENGTH,
    StoryRecord,
    add_note,
    get_story_by_reference,
    list_stories,
    set_agent_labels,
    update_status,
)
from feedback_store.taxonomy import derive_tags, sorted_codes

api_bp = Blueprint("api", url_prefix="/api")

FORBIDDEN_STORY = "Cette histoire concerne une structure à laquelle vous n'avez pas accès."
FORBIDDEN_ACTION = "Cette action concerne une structure à laquelle vous n'avez pas accès."


# --- helpers ------------------------------------------------------------------------------------


def entitled_story(
    session: Session, agent: AgentRecord, reference: str, permission: str
) -> StoryRecord:
    """The story of ``reference`` if the agent holds ``permission`` on its structure."""
    normalised = params.reference(reference)
    story = get_story_by_reference(session, normalised)
    if story is None:
        raise ApiError(f"Aucune histoire avec la référence {reference!r}.", 404)
    if story.structure_code is None or not agent.may(permission, story.structure_code):
        raise ApiError(FORBIDDEN_STORY, 403)
    return story


def _action(session: Session, agent: AgentRecord, action_id: int, permission: str) -> ActionRecord:
    """The action ``action_id`` if the agent holds ``permission`` on its structure."""
    action = get_action(session, params.action_id(action_id))
    if action is None:
        raise ApiError(f"Aucune action d'amélioration n° {action_id}.", 404)
    if action.structure_code is None or not agent.may(permission, action.structure_code):
        raise ApiError(FORBIDDEN_ACTION, 403)
    return action


def _linked_stories(session: Session, agent: AgentRecord, references: list[str]) -> list[str]:
    """Check stories to link to an action: known (400 otherwise) and readable (403 otherwise)."""
    result = []
    for value in references:
        normalised = value.strip().upper()
        story = get_story_by_reference(session, normalised) if normalised else None
        if story is None:
            raise ApiError(f"Histoire inconnue : {value!r}.")
        if story.structure_code is None or not agent.may("stories.read", story.structure_code):
            raise ApiError(f"{FORBIDDEN_STORY} ({story.reference})", 403)
        result.append(story.reference)
    return result


# --- session ------------------------------------------------------------------------------------


@api_bp.post("/session")
async def session_login(request: Request) -> response.HTTPResponse:
    """Log in to the dashboard: sets the session cookie, returns the CSRF token."""
    data = params.json_body(request, ("email", "password"), ("email", "password"))
    email = params.string_field(data, "email", nullable=False)
    password = params.string_field(data, "password", nullable=False)
    agent, cookie = await login(request, email, password)
    session = read_session(request.app.ctx.secret_key, cookie)
    answer = response.json(
        {
            "agent": agent_json(agent),
            "csrf_token": csrf_token_for(request.app.ctx.secret_key, session.session_id),
        }
    )
    set_session_cookie(request, answer, cookie)
    return answer


@api_bp.get("/session")
@require(None)
def session_show(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """The authenticated agent, how it authenticated, and the CSRF token of its session."""
    return response.json(
        {
            "agent": agent_json(agent),
            "auth": request.ctx.auth_method,
            "csrf_token": csrf_token(request),
        }
    )


@api_bp.delete("/session")
@require(None)
def session_logout(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Log out of the dashboard (expires the session cookie)."""
    answer = response.json({"message": "Vous êtes déconnecté."})
    clear_session_cookie(answer)
    return answer


# --- irritant aggregates ------------------------------------------------------------------------


def _count_item(
    query: params.QueryFilters,
    by: str,
    key: str | None,
    count: int,
    total: int,
    names: dict[str, str],
    **bounds: str | None,
) -> dict[str, Any]:
    url = query.stories_url(**{by: key}, **bounds) if key is not None else None
    return {
        "key": key,
        "label": label_of(by, key, names),
        "count": count,
        "share": round(count / total, 4) if total else None,
        "stories_url": url,
    }


@api_bp.get("/irritants")
@require("aggregates.read")
def irritants(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Counts by irritant (or another key), positive share and trend, with links to stories."""
    params.check_params(
        request, (*params.FILTER_PARAMS, *params.AGGREGATE_PARAMS), repeatable=("structure",)
    )
    query = params.parse_filters(request)
    by, period = params.parse_aggregate(request)
    scope = scope_filters(agent, query.structures, "aggregates.read")
    overview = irritant_overview(session, query.scoped(scope), by=by, period=period)
    names = _structure_names(session, scope) if by == "structure" else {}
    payload: dict[str, Any] = {
        "by": by,
        "period": period,
        "structures": list(scope),
        "filters": dict(query.values),
        "total": overview.total,
        "positive": overview.positive,
        "positive_share": _share(overview.positive_share),
        "stories_url": query.stories_url(),
        "items": [
            _count_item(query, by, key, count, overview.total, names)
            for key, count in overview.counts
        ],
    }
    if period is not None:
        first = query.filters.date_from
        last = query.filters.date_to - timedelta(days=1) if query.filters.date_to else None
        trend = []
        for entry in overview.trend:
            start = max(entry.start, first) if first else entry.start
            end = entry.end - timedelta(days=1)
            end = min(end, last) if last else end
            bounds = {"date_from": start.isoformat(), "date_to": end.isoformat()}
            trend.append(
                {
                    "period": iso(entry.start),
                    "period_end": iso(entry.end - timedelta(days=1)),
                    "total": entry.total,
                    "positive": entry.positive,
                    "positive_share": _share(entry.positive_share),
                    "stories_url": query.stories_url(**bounds),
                    "items": [
                        _count_item(query, by, key, count, entry.total, names, **bounds)
                        for key, count in entry.counts
                    ],
                }
            )
        payload["trend"] = trend
    return response.json(payload)


def _share(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _structure_names(session: Session, codes: tuple[str, ...]) -> dict[str, str]:
    return {s.code: s.name for s in list_structures(session) if s.code in codes}


# --- stories ------------------------------------------------------------------------------------


@api_bp.get("/stories")
@require("stories.read")
def stories(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Paginated stories, newest first, with the same filters as the aggregates and ``q``."""
    params.check_params(
        request, (*params.FILTER_PARAMS, *params.PAGE_PARAMS), repeatable=("structure",)
    )
    query = params.parse_filters(request)
    page, per_page = params.parse_page(request)
    scope = scope_filters(agent, query.structures, "stories.read")
    result = list_stories(session, query.scoped(scope), page, per_page)

    def link(number: int) -> str:
        return query.stories_url(page=str(number), per_page=str(per_page))

    return response.json(
        {
            "items": [story_json(story) for story in result.items],
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
            "pages": result.pages,
            "structures": list(scope),
            "filters": dict(query.values),
            "links": {
                "self": link(page),
                "next": link(page + 1) if page < result.pages else None,
                "prev": link(min(page - 1, max(result.pages, 1))) if page > 1 else None,
            },
        }
    )


@api_bp.get("/stories/<reference:str>")
@require("stories.read")
def story_detail(
    request: Request, session: Session, agent: AgentRecord, reference: str
) -> response.HTTPResponse:
    """One story with its notes and the improvement actions linked to it."""
    params.check_params(request, ())
    story = entitled_story(session, agent, reference, "stories.read")
    notes = list_notes(session, story.reference)
    actions = list_actions(
        session,
        structure_codes=agent.structures_for("actions.read"),
        story_reference=story.reference,
    )
    return response.json(
        {
            **story_json(story),
            "notes": [note_json(note) for note in notes],
            "actions": [action_json(action) for action in actions],
        }
    )


@api_bp.patch("/stories/<reference:str>")
@require("stories.handle")
def story_update(
    request: Request, session: Session, agent: AgentRecord, reference: str
) -> response.HTTPResponse:
    """Change the handling status of a story (audited)."""
    story = entitled_story(session, agent, reference, "stories.handle")
    data = params.json_body(request, ("status",), ("status",))
    status = params.choice(params.string_field(data, "status"), "status", STORY_STATUSES)
    updated = update_status(session, story.reference, status, actor=agent.email)
    return response.json(story_json(updated))


@api_bp.post("/stories/<reference:str>/notes")
@require("stories.handle")
def story_add_note(
    request: Request, session: Session, agent: AgentRecord, reference: str
) -> response.HTTPResponse:
    """Add a reply or internal note to a story (audited, without its text)."""
    story = entitled_story(session, agent, reference, "stories.handle")
    data = params.json_body(request, ("body",), ("body",))
    body = params.string_field(data, "body", nullable=False).strip()
    if not body:
        raise ApiError("La note ne peut pas être vide.")
    if len(body) > TEXT_MAX_LENGTH:
        raise ApiError(f"La note dépasse {TEXT_MAX_LENGTH} caractères.")
    add_note(session, story.reference, author=agent.email, body=body)
    audit.record(
        session, actor=agent.email, action="story.note", target_type="story", target=story.reference
    )
    note = list_notes(session, story.reference)[-1]
    return response.json(note_json(note), status=201)


@api_bp.put("/stories/<reference:str>/labels")
@require("stories.handle")
def story_labels(
    request: Request, session: Session, agent: AgentRecord, reference: str
) -> response.HTTPResponse:
    """Correct labels: stored as ``agent`` labels beside the model's (audited).

    Without ``tags``, corrected irritants bring their tags généraux along.
    """
    story = entitled_story(session, agent, reference, "stories.handle")
    data = params.json_body(request, ("irritants", "engagements", "tags"))
    if not data:
        raise ApiError("Donnez au moins un des champs irritants, engagements ou tags.")
    spaces = {"irritants": "irritant", "engagements": "engagement", "tags": "tag"}
    given = {
        name: params.code_list(data, name, space) for name, space in spaces.items() if name in data
    }
    if "irritants" in given and "tags" not in given:
        given["tags"] = sorted_codes("tag", derive_tags(given["irritants"]))
    updated = set_agent_labels(session, story.reference, author=agent.email, **given)
    return response.json(story_json(updated))


# --- improvement actions ------------------------------------------------------------------------

ACTION_FIELDS = (
    "title",
    "structure",
    "owner",
    "description",
    "due_date",
    "status",
    "done_text",
    "irritants",
    "stories",
)


def _action_changes(session: Session, agent: AgentRecord, data: dict[str, Any]) -> dict[str, Any]:
    """Service keyword arguments from an action body (fields present only)."""
    changes: dict[str, Any] = {}
    for name in ("title", "owner", "description", "done_text"):
        if name in data:
            changes[name] = params.string_field(data, name, nullable=name != "title")
    if "structure" in data:
        code = params.structure_code(data["structure"])
        changes["structure_code"] = scope_filters(agent, (code,), "actions.write")[0]
    if "due_date" in data:
        changes["due_date"] = params.optional_date(data, "due_date")
    if "status" in data:
        changes["status"] = params.choice(
            params.string_field(data, "status", nullable=False), "status", ACTION_STATUSES
        )
    if "irritants" in data:
        changes["irritants"] = params.code_list(data, "irritants", "irritant")
    if "stories" in data:
        changes["story_references"] = _linked_stories(
            session, agent, params.string_list(data, "stories")
        )
    return changes


@api_bp.post("/actions")
@require("actions.write")
def actions_create(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Create an improvement action from irritants and/or stories (audited)."""
    data = params.json_body(request, ACTION_FIELDS, ("title", "structure"))
    action = create_action(session, actor=agent.email, **_action_changes(session, agent, data))
    return response.json(
        action_json(action), status=201, headers={"Location": f"/api/actions/{action.id}"}
    )


@api_bp.get("/actions")
@require("actions.read")
def actions_list(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Improvement actions of the agent's structures, newest first."""
    params.check_params(request, params.ACTION_LIST_PARAMS, repeatable=("structure",))
    wanted = params.parse_action_list(request)
    scope = scope_filters(agent, wanted["structures"], "actions.read")
    actions = list_actions(
        session,
        structure_codes=scope,
        status=wanted["status"],
        irritant=wanted["irritant"],
        story_reference=wanted["story"],
    )
    return response.json(
        {
            "items": [action_json(action) for action in actions],
            "total": len(actions),
            "structures": list(scope),
        }
    )


@api_bp.get("/actions/<action_id:int>")
@require("actions.read")
def actions_show(
    request: Request, session: Session, agent: AgentRecord, action_id: int
) -> response.HTTPResponse:
    """One improvement action."""
    params.check_params(request, ())
    return response.json(action_json(_action(session, agent, action_id, "actions.read")))


@api_bp.patch("/actions/<action_id:int>")
@require("actions.write")
def actions_update(
    request: Request, session: Session, agent: AgentRecord, action_id: int
) -> response.HTTPResponse:
    """Change an action's title, owner, due date, status, done text or links (audited)."""
    action = _action(session, agent, action_id, "actions.write")
    data = params.json_body(request, ACTION_FIELDS)
    if not data:
        raise ApiError(f"Donnez au moins un champ à modifier : {', '.join(ACTION_FIELDS)}.")
    changes = _action_changes(session, agent, data)
    return response.json(
        action_json(update_action(session, action.id, actor=agent.email, **changes))
    )


# --- conversation analytics ---------------------------------------------------------------------


@api_bp.get("/analytics/fallbacks")
@require("analytics.read")
def analytics_fallbacks(
    request: Request, session: Session, agent: AgentRecord
) -> response.HTTPResponse:
    """Fallbacks and misunderstood questions per conversation flow (role qualite or admin)."""
    params.check_params(request, ("date_from", "date_to", "top"))
    date_from, date_to = params.parse_period(request)
    top = params.positive_int(request.args.get("top"), "top", DEFAULT_TOP, MAX_TOP)
    return response.json(fallbacks_json(fallbacks_by_flow(session, date_from, date_to, top=top)))


# --- OpenAPI ------------------------------------------------------------------------------------


@api_bp.get("/openapi.json")
async def openapi(request: Request) -> response.HTTPResponse:
    """The OpenAPI 3.0 description of this API (public)."""
    return response.json(openapi_document(request.app.ctx.settings.portal_url))
