"""The agent dashboard: server-rendered DSFR pages (login, overview, stories, actions).

Register with ``app.blueprint(dashboard_bp)`` (blueprint name ``dashboard``). Routes:

* ``GET/POST /login``, ``GET/POST /logout``;
* ``GET /dashboard``: irritants overview (counts by irritant and engagement, monthly trend,
  positive share) with GET filters; every bar and row links to the filtered stories list;
* ``GET /dashboard/stories`` (paginated, same filters and ``q``) and
  ``GET /dashboard/stories/<reference>`` with POST forms ``/labels``, ``/status``, ``/notes``;
* ``GET/POST /dashboard/actions``: improvement actions and the creation form;
* ``/static/…``: the vendored DSFR (``scripts/vendor_dsfr.sh``).

Every page needs a dashboard session (else a redirect to ``/login``), shows only the agent's
structures (403 page otherwise) and every POST form carries the session's CSRF token.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sanic import Blueprint, response
from sanic.request import Request
from sqlalchemy.orm import Session

from feedback_store import audit
from feedback_store.accounts import AgentRecord, list_structures
from feedback_store.improvement_actions import create_action, list_actions
from feedback_store.irritant_overview import irritant_overview
from feedback_store.models import ACTION_STATUSES, STORY_STATUSES
from feedback_store.notes import list_notes
from feedback_store.portal import api_params as params
from feedback_store.portal.api_json import (
    ACTION_STATUS_LABELS,
    STORY_STATUS_LABELS,
    label_of,
)
from feedback_store.portal.api_routes import entitled_story
from feedback_store.portal.auth import (
    CSRF_FIELD,
    clear_session_cookie,
    csrf_token_for,
    login,
    scope_filters,
    set_session_cookie,
)
from feedback_store.portal.dashboard_charts import (
    Bar,
    column_chart_svg,
    horizontal_bar_chart_svg,
)
from feedback_store.portal.dashboard_pages import (
    dashboard_page,
    french_month,
    render,
    safe_next,
    short_month,
)
from feedback_store.portal.errors import ApiError
from feedback_store.stories import (
    TEXT_MAX_LENGTH,
    StoryRecord,
    add_note,
    list_stories,
    set_agent_labels,
    update_status,
)
from feedback_store.taxonomy import (
    CANAUX,
    ENGAGEMENTS,
    IRRITANTS,
    RESSENTIS,
    TAGS_GENERAUX,
    derive_tags,
    sorted_codes,
)

__all__ = ["dashboard_bp"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
LOGIN_NONCE_COOKIE = "portal_login_nonce"
LOGIN_EXPIRED = "Le formulaire de connexion a expiré : rechargez la page et réessayez."
NOTICES = {
    "labels": "Les thèmes corrigés ont été enregistrés.",
    "status": "Le statut a été mis à jour.",
    "note": "La note a été ajoutée.",
    "created": "L'action d'amélioration a été créée.",
}
SOURCE_LABELS = {"model": "Modèle", "usager": "Usager", "agent": "Agent"}
SPACE_LABELS = {"irritant": "Irritant", "engagement": "Engagement", "tag": "Tag général"}
PER_PAGE = 20
TOP_TREND_MONTHS = 24

dashboard_bp = Blueprint("dashboard")
dashboard_bp.static("/static", str(STATIC_DIR), name="static")


# --- choices shown in the forms -----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One option of a select or checkbox list."""

    value: str
    label: str


def _choices() -> dict[str, list[Choice]]:
    return {
        "irritant": [Choice(code, item.label) for code, item in IRRITANTS.items()],
        "engagement": [
            Choice(code, f"{code} – {item.label}") for code, item in ENGAGEMENTS.items()
        ],
        "canal": [Choice(code, label) for code, label in CANAUX.items()],
        "ressenti": [Choice(code, label) for code, label in RESSENTIS.items()],
        "status": [Choice(code, STORY_STATUS_LABELS[code]) for code in STORY_STATUSES],
        "action_status": [Choice(code, ACTION_STATUS_LABELS[code]) for code in ACTION_STATUSES],
    }


def _structures(session: Session, agent: AgentRecord, permission: str) -> list[Choice]:
    allowed = agent.structures_for(permission)
    names = {s.code: s.name for s in list_structures(session)}
    return [Choice(code, names.get(code, code)) for code in allowed]


# --- login / logout -----------------------------------------------------------------------------


def _login_form(
    request: Request, *, status: int = 200, error: str | None = None, email: str = ""
) -> response.HTTPResponse:
    """The login page with a fresh pre-session CSRF token (double-submit nonce cookie)."""
    nonce = secrets.token_urlsafe(18)
    notice = "Vous êtes déconnecté." if request.args.get("logout") == "1" else None
    answer = render(
        request,
        "dashboard/login.html",
        status=status,
        agent=None,
        csrf_token=csrf_token_for(request.app.ctx.secret_key, "login:" + nonce),
        error=error,
        notice=notice,
        email=email,
        next=safe_next(request.args.get("next") or request.form.get("next")),
        title="Connexion",
    )
    answer.cookies[LOGIN_NONCE_COOKIE] = nonce
    cookie = answer.cookies[LOGIN_NONCE_COOKIE]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/login"
    cookie["max-age"] = 3600
    return answer


@dashboard_bp.get("/login")
async def login_page(request: Request) -> response.HTTPResponse:
    """The login form."""
    return _login_form(request)


@dashboard_bp.post("/login")
async def login_submit(request: Request) -> response.HTTPResponse:
    """Check the login form (CSRF, rate limit, password); set the session cookie."""
    form = request.form
    email = (form.get("email") or "").strip()
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE)
    given = form.get(CSRF_FIELD) or ""
    expected = csrf_token_for(request.app.ctx.secret_key, f"login:{nonce}") if nonce else None
    if expected is None or not secrets.compare_digest(given, expected):
        return _login_form(request, status=403, error=LOGIN_EXPIRED, email=email)
    if not email or not form.get("password"):
        return _login_form(
            request, status=400, error="Saisissez votre adresse e-mail et votre mot de passe.",
            email=email,
        )  # fmt: skip
    try:
        _agent, cookie = await login(request, email, form.get("password") or "")
    except ApiError as error:
        answer = _login_form(request, status=error.status_code, error=error.message, email=email)
        answer.headers.update(error.extra_headers)
        return answer
    answer = response.redirect(safe_next(form.get("next")), status=303)
    set_session_cookie(request, answer, cookie)
    return answer


@dashboard_bp.get("/logout")
@dashboard_page(None)
def logout_page(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Confirmation page with the logout button."""
    return render(request, "dashboard/logout.html", title="Déconnexion")


@dashboard_bp.post("/logout")
@dashboard_page(None)
def logout_submit(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """End the dashboard session (CSRF-protected)."""
    answer = response.redirect("/login?logout=1", status=303)
    clear_session_cookie(answer)
    return answer


# --- overview -----------------------------------------------------------------------------------


def _parse_filters(request: Request) -> tuple[params.QueryFilters, str | None]:
    """The GET filters, or empty filters and the French error message when one is invalid."""
    try:
        return params.parse_filters(request), None
    except ApiError as error:
        return params.QueryFilters((), {}), error.message


def _stories_link(query: params.QueryFilters, **overrides: str | None) -> str:
    text = query.query(**overrides, page=None)
    return f"/dashboard/stories?{text}" if text else "/dashboard/stories"


def _filter_context(
    session: Session, agent: AgentRecord, query: params.QueryFilters, permission: str
) -> dict[str, Any]:
    return {
        "choices": _choices(),
        "structures": _structures(session, agent, permission),
        "selected_structure": query.structures[0] if len(query.structures) == 1 else "",
        "values": dict(query.values),
    }


@dashboard_bp.get("/dashboard")
@dashboard_page("aggregates.read")
def overview(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Irritants overview of the agent's structures, filtered by the GET form."""
    query, error = _parse_filters(request)
    scope = scope_filters(agent, query.structures, "aggregates.read")
    context = _filter_context(session, agent, query, "aggregates.read")
    if error is not None:
        return render(
            request, "dashboard/overview.html", status=400, error=error, data=None,
            export_structures=[], title="Tableau de bord", **context,
        )  # fmt: skip
    filters = query.scoped(scope)
    by_irritant = irritant_overview(session, filters, by="irritant", period="month")
    by_engagement = irritant_overview(session, filters, by="engagement")
    irritant_rows = [
        Bar(label_of("irritant", key), count, _stories_link(query, irritant=key))
        for key, count in by_irritant.counts
        if key is not None
    ]
    engagement_rows = [
        Bar(label_of("engagement", key), count, _stories_link(query, engagement=key))
        for key, count in by_engagement.counts
        if key is not None
    ]
    months = []
    first, last = query.filters.date_from, query.filters.date_to
    for entry in by_irritant.trend[-TOP_TREND_MONTHS:]:
        start = max(entry.start, first) if first else entry.start
        end = entry.end - timedelta(days=1)
        if last is not None:
            end = min(end, last - timedelta(days=1))
        link = _stories_link(query, date_from=start.isoformat(), date_to=end.isoformat())
        months.append((entry, Bar(french_month(entry.start), entry.total, link)))
    data = {
        "total": by_irritant.total,
        "positive": by_irritant.positive,
        "positive_share": by_irritant.positive_share,
        "irritants": irritant_rows,
        "irritant_chart": horizontal_bar_chart_svg(irritant_rows),
        "engagements": engagement_rows,
        "engagement_chart": horizontal_bar_chart_svg(engagement_rows),
        "months": months,
        "month_chart": column_chart_svg(
            [Bar(short_month(entry.start), bar.value, bar.href) for entry, bar in months]
        ),
        "all_stories": _stories_link(query),
    }
    exports = _structures(session, agent, "exports") if agent.may("exports") else []
    return render(
        request,
        "dashboard/overview.html",
        data=data,
        export_structures=exports,
        title="Tableau de bord",
        **context,
    )


# --- stories ------------------------------------------------------------------------------------


def _story_row(story: StoryRecord) -> dict[str, Any]:
    return {
        "reference": story.reference,
        "url": f"/dashboard/stories/{quote(story.reference)}",
        "created_at": story.created_at,
        "structure": story.structure_name or story.structure_code or "",
        "canal": CANAUX.get(story.canal, story.canal),
        "ressenti": RESSENTIS.get(story.ressenti, story.ressenti),
        "irritants": [label_of("irritant", code) for code in story.irritants],
        "status": STORY_STATUS_LABELS.get(story.status, story.status),
        "excerpt": story.text if len(story.text) <= 160 else story.text[:159].rstrip() + "…",
    }


@dashboard_bp.get("/dashboard/stories")
@dashboard_page("stories.read")
def stories(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Paginated stories of the agent's structures with the overview's filters and ``q``."""
    query, error = _parse_filters(request)
    scope = scope_filters(agent, query.structures, "stories.read")
    context = _filter_context(session, agent, query, "stories.read")
    page = 1
    if error is None:
        try:
            page, _ = params.parse_page(request)
        except ApiError as problem:
            error = problem.message
    if error is not None:
        return render(
            request, "dashboard/stories.html", status=400, error=error, result=None,
            rows=[], pages=None, title="Histoires", **context,
        )  # fmt: skip
    result = list_stories(session, query.scoped(scope), page, PER_PAGE)

    def page_link(number: int) -> str:
        text = query.query(page=str(number))
        return f"/dashboard/stories?{text}"

    pages = {
        "current": page,
        "count": result.pages,
        "prev": page_link(page - 1) if 1 < page <= max(result.pages, 1) else None,
        "next": page_link(page + 1) if page < result.pages else None,
        "first": page_link(1) if page > 1 else None,
    }
    return render(
        request,
        "dashboard/stories.html",
        result=result,
        rows=[_story_row(story) for story in result.items],
        pages=pages,
        title="Histoires",
        **context,
    )


def _label_rows(story: StoryRecord) -> list[dict[str, Any]]:
    rank = {"model": 0, "usager": 1, "agent": 2}
    labels = sorted(
        story.labels, key=lambda label: (rank.get(label.source, 9), label.space, label.code)
    )
    return [
        {
            "space": SPACE_LABELS.get(label.space, label.space),
            "label": label_of(label.space, label.code),
            "source": SOURCE_LABELS.get(label.source, label.source),
            "confidence": label.confidence,
            "active": label.active,
        }
        for label in labels
    ]


@dashboard_bp.get("/dashboard/stories/<reference:str>")
@dashboard_page("stories.read")
def story_detail(
    request: Request, session: Session, agent: AgentRecord, reference: str
) -> response.HTTPResponse:
    """One story: anonymised text, labels by source, correction, status and note forms."""
    story = entitled_story(session, agent, reference, "stories.read")
    actions = list_actions(
        session,
        structure_codes=agent.structures_for("actions.read"),
        story_reference=story.reference,
    )
    return render(
        request,
        "dashboard/story.html",
        story=story,
        row=_story_row(story),
        labels=_label_rows(story),
        active_irritants=set(story.irritants),
        active_engagements=[label_of("engagement", code) for code in story.engagements],
        active_tags=[TAGS_GENERAUX[c].label for c in story.tags if c in TAGS_GENERAUX],
        notes=list_notes(session, story.reference),
        actions=actions,
        action_status_labels=ACTION_STATUS_LABELS,
        may_handle=agent.may("stories.handle", story.structure_code),
        choices=_choices(),
        notice=NOTICES.get(request.args.get("saved", "")),
        title=f"Histoire {story.reference}",
    )


def _back_to_story(story: StoryRecord, saved: str) -> response.HTTPResponse:
    return response.redirect(
        f"/dashboard/stories/{quote(story.reference)}?saved={saved}", status=303
    )


def _form_codes(values: Iterable[str], space: str) -> list[str]:
    return [params.code_value(space, value.strip()) for value in values if value.strip()]


@dashboard_bp.post("/dashboard/stories/<reference:str>/labels")
@dashboard_page("stories.handle")
def story_labels(
    request: Request, session: Session, agent: AgentRecord, reference: str
) -> response.HTTPResponse:
    """Store the checked irritants as the agent's labels (tags derived from them); audited."""
    story = entitled_story(session, agent, reference, "stories.handle")
    irritants = _form_codes(request.form.getlist("irritants") or (), "irritant")
    set_agent_labels(
        session,
        story.reference,
        author=agent.email,
        irritants=irritants,
        tags=sorted_codes("tag", derive_tags(irritants)),
    )
    return _back_to_story(story, "labels")


@dashboard_bp.post("/dashboard/stories/<reference:str>/status")
@dashboard_page("stories.handle")
def story_status(
    request: Request, session: Session, agent: AgentRecord, reference: str
) -> response.HTTPResponse:
    """Change the handling status of the story (audited)."""
    story = entitled_story(session, agent, reference, "stories.handle")
    status = params.choice((request.form.get("status") or "").strip(), "statut", STORY_STATUSES)
    update_status(session, story.reference, status, actor=agent.email)
    return _back_to_story(story, "status")


@dashboard_bp.post("/dashboard/stories/<reference:str>/notes")
@dashboard_page("stories.handle")
def story_note(
    request: Request, session: Session, agent: AgentRecord, reference: str
) -> response.HTTPResponse:
    """Add a reply or internal note to the story (audited, without its text)."""
    story = entitled_story(session, agent, reference, "stories.handle")
    body = (request.form.get("body") or "").strip()
    if not body:
        raise ApiError("La note ne peut pas être vide.")
    if len(body) > TEXT_MAX_LENGTH:
        raise ApiError(f"La note dépasse {TEXT_MAX_LENGTH} caractères.")
    add_note(session, story.reference, author=agent.email, body=body)
    audit.record(
        session, actor=agent.email, action="story.note", target_type="story", target=story.reference
    )
    return _back_to_story(story, "note")


# --- improvement actions ------------------------------------------------------------------------


def _actions_page(
    request: Request,
    session: Session,
    agent: AgentRecord,
    *,
    form: dict[str, Any],
    status: int = 200,
    error: str | None = None,
) -> response.HTTPResponse:
    scope = agent.structures_for("actions.read")
    return render(
        request,
        "dashboard/actions.html",
        status=status,
        error=error,
        notice=NOTICES["created"] if request.args.get("created") else None,
        actions=list_actions(session, structure_codes=scope),
        structures=_structures(session, agent, "actions.write"),
        structure_names={c.value: c.label for c in _structures(session, agent, "actions.read")},
        choices=_choices(),
        action_status_labels=ACTION_STATUS_LABELS,
        irritant_labels={code: item.label for code, item in IRRITANTS.items()},
        form=form,
        title="Actions d'amélioration",
    )


EMPTY_ACTION_FORM: dict[str, Any] = {
    "title": "",
    "structure": "",
    "owner": "",
    "due_date": "",
    "status": "proposee",
    "irritants": [],
    "stories": "",
    "description": "",
    "done_text": "",
}


@dashboard_bp.get("/dashboard/actions")
@dashboard_page("actions.read")
def actions(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Improvement actions of the agent's structures and the creation form."""
    form = dict(EMPTY_ACTION_FORM)
    irritant = request.args.get("irritant")
    if irritant in IRRITANTS:
        form["irritants"] = [irritant]
    return _actions_page(request, session, agent, form=form)


def _linked_stories(session: Session, agent: AgentRecord, text: str) -> list[str]:
    references = []
    for value in text.replace(";", ",").replace("\n", ",").split(","):
        if value.strip():
            story = entitled_story(session, agent, value.strip(), "stories.read")
            references.append(story.reference)
    return references


@dashboard_bp.post("/dashboard/actions")
@dashboard_page("actions.write")
def actions_create(request: Request, session: Session, agent: AgentRecord) -> response.HTTPResponse:
    """Create an improvement action from the form (audited); errors re-show the form."""
    raw = request.form
    form = {name: (raw.get(name) or "").strip() for name in EMPTY_ACTION_FORM}
    form["irritants"] = [code for code in raw.getlist("irritants") or () if code in IRRITANTS]
    try:
        if not form["title"]:
            raise ApiError("Le titre de l'action est obligatoire.")
        structure = params.structure_code(form["structure"] or "", "structure")
        scope = scope_filters(agent, (structure,), "actions.write")
        status = params.choice(form["status"], "statut", ACTION_STATUSES)
        due = params.iso_date(form["due_date"], "échéance") if form["due_date"] else None
        stories = _linked_stories(session, agent, form["stories"])
        action = create_action(
            session,
            title=form["title"],
            actor=agent.email,
            structure_code=scope[0],
            owner=form["owner"] or None,
            description=form["description"] or None,
            due_date=due,
            status=status,
            done_text=form["done_text"] or None,
            irritants=_form_codes(raw.getlist("irritants") or (), "irritant"),
            story_references=stories,
        )
    except ApiError as error:
        if error.status_code not in (400, 404):  # 403 (other structure) is an error page
            raise
        return _actions_page(request, session, agent, form=form, status=400, error=error.message)
    except ValueError as error:
        return _actions_page(request, session, agent, form=form, status=400, error=str(error))
    return response.redirect(
        f"/dashboard/actions?created={action.id}#action-{action.id}", status=303
    )
