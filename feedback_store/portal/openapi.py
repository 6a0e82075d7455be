"""OpenAPI 3.0 document of the agent JSON API, written by hand (served at /api/openapi.json).

Enumerations come from the taxonomy and the models, so the document follows the label spaces.
A unit test checks that every ``/api`` route of the app is described here and vice versa.
"""

from __future__ import annotations

from typing import Any

from feedback_store.analytics import DEFAULT_TOP, MAX_TOP
from feedback_store.analytics_events import NO_FLOW
from feedback_store.models import ACTION_STATUSES, ANALYTICS_KINDS, STORY_STATUSES
from feedback_store.stories import AGGREGATE_KEYS, MAX_PER_PAGE
from feedback_store.taxonomy import (
    CANAUX,
    ENGAGEMENTS,
    IRRITANTS,
    RESSENTIS,
    TAGS_GENERAUX,
    TAXONOMY_VERSION,
)

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"
SECURITY = [{"bearerAuth": []}, {"sessionCookie": []}]
_REF = "#/components/{}/{}"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": _REF.format(kind, name)}


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _ref("responses", f"E{status}") for status in statuses}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": _ref("schemas", schema_name)}},
    }


def _parameters() -> dict[str, Any]:
    codes = {
        "irritant": (list(IRRITANTS), "Stories carrying this active irritant label."),
        "engagement": (list(ENGAGEMENTS), "Stories carrying this active engagement label."),
        "tag": (list(TAGS_GENERAUX), "Stories carrying this active tag général label."),
        "canal": (list(CANAUX), "Contact channel."),
        "ressenti": (list(RESSENTIS), "Usager feeling."),
    }
    parameters: dict[str, Any] = {
        name: _query(name, {"type": "string", "enum": values}, description)
        for name, (values, description) in codes.items()
    }
    parameters.update(
        {
            "structure": _query(
                "structure",
                {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"},
                },
                "Structure codes (repeat the parameter or separate by commas). Default: every "
                "structure the agent is entitled to; another structure gives 403.",
                style="form",
                explode=True,
            ),
            "departement": _query(
                "departement",
                {"type": "string", "pattern": "^(\\d{2}|2A|2B|97\\d|98\\d)$"},
                "Département code derived from the usager's postal code (05, 2A, 974…).",
            ),
            "status": _query(
                "status", {"type": "string", "enum": list(STORY_STATUSES)}, "Handling status."
            ),
            "partner": _query(
                "partner",
                {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"},
                "Partner site id of the widget.",
            ),
            "date_from": _query(
                "date_from",
                {"type": "string", "format": "date"},
                "First day (UTC) of the period, included.",
            ),
            "date_to": _query(
                "date_to",
                {"type": "string", "format": "date"},
                "Last day (UTC) of the period, included. Before date_from: 400.",
            ),
            "q": _query(
                "q",
                {"type": "string", "maxLength": 200},
                "Words that must all appear in the anonymised text or suggestion (case and "
                "accent blind).",
            ),
            "page": _query(
                "page",
                {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
                "Page number; beyond the last page the list is empty but total is given.",
            ),
            "per_page": _query(
                "per_page",
                {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
                "Stories per page.",
            ),
            "by": _query(
                "by",
                {"type": "string", "enum": list(AGGREGATE_KEYS), "default": "irritant"},
                "What to count stories by.",
            ),
            "period": _query(
                "period",
                {"type": "string", "enum": ["week", "month"]},
                "Adds a trend: counts per week (Monday start) or month, UTC.",
            ),
            "top": _query(
                "top",
                {"type": "integer", "minimum": 1, "maximum": MAX_TOP, "default": DEFAULT_TOP},
                "How many questions each top list gives.",
            ),
            "reference": {
                "name": "reference",
                "in": "path",
                "required": True,
                "description": "Story reference EXP-<year>-<number>.",
                "schema": {"type": "string", "pattern": "^EXP-\\d{4}-\\d{6,}$"},
            },
            "action_id": {
                "name": "action_id",
                "in": "path",
                "required": True,
                "description": "Improvement action id.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            },
            "action_structure": _query(
                "structure",
                {"type": "array", "items": {"type": "string"}},
                "Structure codes (default: all those of the agent).",
                style="form",
                explode=True,
            ),
            "action_status": _query(
                "status", {"type": "string", "enum": list(ACTION_STATUSES)}, "Action status."
            ),
            "action_irritant": _query(
                "irritant", {"type": "string", "enum": list(IRRITANTS)}, "Irritant addressed."
            ),
            "action_story": _query(
                "story",
                {"type": "string", "pattern": "^EXP-\\d{4}-\\d{6,}$"},
                "Actions linked to this story.",
            ),
            "export_from": {
                "name": "from",
                "in": "query",
                "required": True,
                "description": "First day of the period (Paris time), included.",
                "schema": {"type": "string", "format": "date", "example": "2024-01-01"},
            },
            "export_to": {
                "name": "to",
                "in": "query",
                "required": True,
                "description": "Last day of the period (Paris time), included; not before from.",
                "schema": {"type": "string", "format": "date", "example": "2024-03-31"},
            },
            "export_structure": _query(
                "structure",
                {"type": "array", "items": {"type": "string"}},
                "Structure codes (default: every structure on which the agent may export).",
                style="form",
                explode=True,
            ),
            "csrf": {
                "name": "X-CSRF-Token",
                "in": "header",
                "required": False,
                "description": "CSRF token of the dashboard session (required with the session "
                "cookie, ignored with a bearer token).",
                "schema": {"type": "string"},
            },
        }
    )
    return parameters


FILTERS = (
    "structure", "irritant", "engagement", "tag", "canal", "ressenti", "departement", "status",
    "partner", "date_from", "date_to", "q",
)  # fmt: skip


def _schemas() -> dict[str, Any]:
    structure = _nullable(
        {
            "type": "object",
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
            "required": ["code", "name"],
        }
    )
    count_item = {
        "type": "object",
        "properties": {
            "key": _nullable({"type": "string"}),
            "label": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "share": _nullable({"type": "number", "description": "count / total stories"}),
            "stories_url": _nullable({"type": "string", "description": "Stories behind it."}),
        },
        "required": ["key", "label", "count", "share", "stories_url"],
    }
    string_list = {"type": "array", "items": {"type": "string"}}
    return {
        "Error": {
            "type": "object",
            "properties": {
                "error": _string("Machine code, e.g. bad_request, forbidden."),
                "message": _string("Explanation in French."),
            },
            "required": ["error", "message"],
        },
        "Agent": {
            "type": "object",
            "properties": {
                "email": {"type": "string"},
                "display_name": {"type": "string"},
                "role": _nullable({"type": "string", "enum": ["agent", "qualite", "admin"]}),
                "structures": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "role": {"type": "string"}},
                    },
                },
            },
            "required": ["email", "display_name", "role", "structures"],
        },
        "Login": {
            "type": "object",
            "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
            "required": ["email", "password"],
            "additionalProperties": False,
        },
        "SessionInfo": {
            "type": "object",
            "properties": {
                "agent": _ref("schemas", "Agent"),
                "auth": {"type": "string", "enum": ["token", "session"]},
                "csrf_token": _nullable({"type": "string"}),
            },
            "required": ["agent", "csrf_token"],
        },
        "Label": {
            "type": "object",
            "properties": {
                "space": {"type": "string", "enum": ["irritant", "engagement", "tag"]},
                "code": {"type": "string"},
                "source": {"type": "string", "enum": ["model", "usager", "agent"]},
                "confidence": _nullable({"type": "number", "minimum": 0, "maximum": 1}),
                "active": {"type": "boolean"},
                "author": _nullable({"type": "string"}),
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "Story": {
            "type": "object",
            "properties": {
                "reference": {"type": "string"},
                "url": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "structure": structure,
                "structure_label": _nullable({"type": "string"}),
                "canal": {"type": "string", "enum": list(CANAUX)},
                "ressenti": {"type": "string", "enum": list(RESSENTIS)},
                "title": _nullable({"type": "string"}),
                "text": _string("Anonymised story text."),
                "suggestion": _nullable(_string("Anonymised suggestion.")),
                "postal_code": _nullable({"type": "string"}),
                "departement": _nullable({"type": "string"}),
                "partner": _nullable({"type": "string"}),
                "status": {"type": "string", "enum": list(STORY_STATUSES)},
                "taxonomy_version": {"type": "string", "example": TAXONOMY_VERSION},
                "model_version": _nullable({"type": "string"}),
                "irritants": {**string_list, "description": "Active irritant codes."},
                "engagements": {**string_list, "description": "Active engagement codes."},
                "tags": {**string_list, "description": "Active tag général codes."},
                "labels": {"type": "array", "items": _ref("schemas", "Label")},
            },
            "required": ["reference", "text", "status", "irritants", "labels"],
        },
        "StoryDetail": {
            "allOf": [
                _ref("schemas", "Story"),
                {
                    "type": "object",
                    "properties": {
                        "notes": {"type": "array", "items": _ref("schemas", "Note")},
                        "actions": {"type": "array", "items": _ref("schemas", "Action")},
                    },
                },
            ]
        },
        "StoryPage": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": _ref("schemas", "Story")},
                "total": {"type": "integer"},
                "page": {"type": "integer"},
                "per_page": {"type": "integer"},
                "pages": {"type": "integer"},
                "structures": string_list,
                "filters": {"type": "object", "additionalProperties": {"type": "string"}},
                "links": {
                    "type": "object",
                    "properties": {
                        "self": {"type": "string"},
                        "next": _nullable({"type": "string"}),
                        "prev": _nullable({"type": "string"}),
                    },
                },
            },
            "required": ["items", "total", "page", "per_page", "pages"],
        },
        "CountItem": count_item,
        "Aggregate": {
            "type": "object",
            "properties": {
                "by": {"type": "string", "enum": list(AGGREGATE_KEYS)},
                "period": _nullable({"type": "string", "enum": ["week", "month"]}),
                "structures": string_list,
                "filters": {"type": "object", "additionalProperties": {"type": "string"}},
                "total": {"type": "integer", "description": "Matching stories."},
                "positive": {"type": "integer", "description": "Of which ressenti positif."},
                "positive_share": _nullable({"type": "number"}),
                "stories_url": {"type": "string"},
                "items": {"type": "array", "items": _ref("schemas", "CountItem")},
                "trend": {
                    "type": "array",
                    "description": "Only with period: one entry per week or month.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "period": {"type": "string", "format": "date"},
                            "period_end": {"type": "string", "format": "date"},
                            "total": {"type": "integer"},
                            "positive": {"type": "integer"},
                            "positive_share": _nullable({"type": "number"}),
                            "stories_url": {"type": "string"},
                            "items": {"type": "array", "items": _ref("schemas", "CountItem")},
                        },
                    },
                },
            },
            "required": ["by", "total", "positive", "positive_share", "items"],
        },
        "StatusPatch": {
            "type": "object",
            "properties": {"status": {"type": "string", "enum": list(STORY_STATUSES)}},
            "required": ["status"],
            "additionalProperties": False,
        },
        "NoteInput": {
            "type": "object",
            "properties": {"body": {"type": "string", "minLength": 1, "maxLength": 5000}},
            "required": ["body"],
            "additionalProperties": False,
        },
        "Note": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "author": {"type": "string"},
                "body": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "LabelsInput": {
            "type": "object",
            "description": "At least one field. Without tags, the irritants' tags are used.",
            "properties": {
                "irritants": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(IRRITANTS)},
                },
                "engagements": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(ENGAGEMENTS)},
                },
                "tags": {"type": "array", "items": {"type": "string", "enum": list(TAGS_GENERAUX)}},
            },
            "minProperties": 1,
            "additionalProperties": False,
        },
        "ActionInput": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "structure": {"type": "string"},
                "owner": _nullable({"type": "string", "maxLength": 200}),
                "description": _nullable({"type": "string", "maxLength": 5000}),
                "due_date": _nullable({"type": "string", "format": "date"}),
                "status": {"type": "string", "enum": list(ACTION_STATUSES)},
                "done_text": _nullable(
                    _string("What was done; required for status realisee.", maxLength=5000)
                ),
                "irritants": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(IRRITANTS)},
                },
                "stories": {**string_list, "description": "Story references."},
            },
            "required": ["title", "structure"],
            "additionalProperties": False,
        },
        "ActionPatch": {
            "type": "object",
            "description": "Fields to change (at least one); null clears an optional field.",
            "properties": {
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "structure": {"type": "string"},
                "owner": _nullable({"type": "string"}),
                "description": _nullable({"type": "string"}),
                "due_date": _nullable({"type": "string", "format": "date"}),
                "status": {"type": "string", "enum": list(ACTION_STATUSES)},
                "done_text": _nullable({"type": "string"}),
                "irritants": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(IRRITANTS)},
                },
                "stories": string_list,
            },
            "minProperties": 1,
            "additionalProperties": False,
        },
        "Action": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "url": {"type": "string"},
                "title": {"type": "string"},
                "description": _nullable({"type": "string"}),
                "owner": _nullable({"type": "string"}),
                "structure": structure,
                "due_date": _nullable({"type": "string", "format": "date"}),
                "status": {"type": "string", "enum": list(ACTION_STATUSES)},
                "status_label": {"type": "string"},
                "done_text": _nullable({"type": "string"}),
                "irritants": string_list,
                "stories": string_list,
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
            "required": ["id", "title", "status", "irritants", "stories"],
        },
        "VoteInput": {
            "type": "object",
            "properties": {
                "sender": {"type": "string", "pattern": "^[A-Za-z0-9_.:@-]{1,128}$"},
                "index": {"type": "integer", "minimum": 0, "maximum": 100_000},
                "vote": {"type": "string", "enum": ["up", "down"]},
                "partner": _nullable({"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"}),
            },
            "required": ["sender", "index", "vote"],
        },
        "VoteError": {
            "type": "object",
            "properties": {"error": _string("Explanation in French.")},
            "required": ["error"],
        },
        "QuestionCount": {
            "type": "object",
            "properties": {
                "question": _string("The usager's message, personal data scrubbed."),
                "count": {"type": "integer", "minimum": 1},
                "flows": {**string_list, "description": "Flows it was asked in, most first."},
                "last_seen": {"type": "string", "format": "date-time"},
            },
            "required": ["question", "count", "flows", "last_seen"],
        },
        "FallbackAnalytics": {
            "type": "object",
            "properties": {
                "date_from": _nullable({"type": "string", "format": "date"}),
                "date_to": _nullable({"type": "string", "format": "date"}),
                "total": {"type": "integer", "description": "Fallback events of the period."},
                "conversations": {"type": "integer", "description": "Conversations concerned."},
                "kinds": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "kind": {"type": "string", "enum": list(ANALYTICS_KINDS)},
                            "label": {"type": "string"},
                            "count": {"type": "integer"},
                        },
                        "required": ["kind", "label", "count"],
                    },
                },
                "flows": {
                    "type": "array",
                    "description": "Per flow (form, or hors_formulaire), most fallbacks first.",
                    "items": {
                        "type": "object",
                        "properties": {
                            "flow": {"type": "string", "example": NO_FLOW},
                            "label": {"type": "string"},
                            "total": {"type": "integer"},
                            "conversations": {"type": "integer"},
                            "kinds": {
                                "type": "object",
                                "additionalProperties": {"type": "integer"},
                            },
                        },
                        "required": ["flow", "label", "total", "conversations", "kinds"],
                    },
                },
                "top_not_understood": {
                    "type": "array",
                    "items": _ref("schemas", "QuestionCount"),
                },
                "top_out_of_scope": {
                    "type": "array",
                    "items": _ref("schemas", "QuestionCount"),
                },
            },
            "required": ["total", "conversations", "kinds", "flows", "top_not_understood"],
        },
        "ActionList": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": _ref("schemas", "Action")},
                "total": {"type": "integer"},
                "structures": string_list,
            },
            "required": ["items", "total"],
        },
    }


def _responses() -> dict[str, Any]:
    texts = {
        400: "Invalid input (unknown parameter or value, inverted period, malformed JSON).",
        401: "No credentials, or an invalid, expired or revoked token.",
        403: "Role missing, CSRF token missing, or another structure's data.",
        404: "Unknown story, action or address.",
        429: "Too many login attempts (see Retry-After).",
        500: "Unexpected error (no details are given).",
    }
    return {f"E{status}": _json(_ref("schemas", "Error"), text) for status, text in texts.items()}


def _params(*names: str) -> list[dict[str, str]]:
    return [_ref("parameters", name) for name in names]


def _paths() -> dict[str, Any]:
    protected = {"security": SECURITY}
    read_errors = _errors(400, 401, 403, 500)
    return {
        "/api/session": {
            "post": {
                "summary": "Log in to the dashboard (sets the session cookie)",
                "operationId": "login",
                "tags": ["session"],
                "security": [],
                "requestBody": _body("Login", "E-mail and password."),
                "responses": {
                    "200": _json(_ref("schemas", "SessionInfo"), "Logged in."),
                    **_errors(400, 401, 429, 500),
                },
            },
            "get": {
                "summary": "The authenticated agent and the session's CSRF token",
                "operationId": "whoami",
                "tags": ["session"],
                **protected,
                "responses": {
                    "200": _json(_ref("schemas", "SessionInfo"), "The agent."),
                    **_errors(401, 500),
                },
            },
            "delete": {
                "summary": "Log out (expires the session cookie)",
                "operationId": "logout",
                "tags": ["session"],
                **protected,
                "parameters": _params("csrf"),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"message": _string("Confirmation in French.")},
                            "required": ["message"],
                        },
                        "Logged out.",
                    ),
                    **_errors(401, 403, 500),
                },
            },
        },
        "/api/irritants": {
            "get": {
                "summary": "Story counts by irritant (or another key), positive share, trend",
                "operationId": "aggregateIrritants",
                "tags": ["irritants"],
                **protected,
                "parameters": _params(*FILTERS, "by", "period"),
                "responses": {
                    "200": _json(_ref("schemas", "Aggregate"), "Counts, with links to stories."),
                    **read_errors,
                },
            }
        },
        "/api/stories": {
            "get": {
                "summary": "Stories, newest first, paginated and filtered",
                "operationId": "listStories",
                "tags": ["stories"],
                **protected,
                "parameters": _params(*FILTERS, "page", "per_page"),
                "responses": {"200": _json(_ref("schemas", "StoryPage"), "A page."), **read_errors},
            }
        },
        "/api/stories/{reference}": {
            "parameters": _params("reference"),
            "get": {
                "summary": "One story with its notes and linked actions",
                "operationId": "getStory",
                "tags": ["stories"],
                **protected,
                "responses": {
                    "200": _json(_ref("schemas", "StoryDetail"), "The story."),
                    **_errors(400, 401, 403, 404, 500),
                },
            },
            "patch": {
                "summary": "Change the handling status of a story",
                "operationId": "updateStoryStatus",
                "tags": ["stories"],
                **protected,
                "parameters": _params("csrf"),
                "requestBody": _body("StatusPatch", "The new status."),
                "responses": {
                    "200": _json(_ref("schemas", "Story"), "The updated story."),
                    **_errors(400, 401, 403, 404, 500),
                },
            },
        },
        "/api/stories/{reference}/notes": {
            "parameters": _params("reference"),
            "post": {
                "summary": "Add a reply or internal note to a story",
                "operationId": "addStoryNote",
                "tags": ["stories"],
                **protected,
                "parameters": _params("csrf"),
                "requestBody": _body("NoteInput", "The note."),
                "responses": {
                    "201": _json(_ref("schemas", "Note"), "The note added."),
                    **_errors(400, 401, 403, 404, 500),
                },
            },
        },
        "/api/stories/{reference}/labels": {
            "parameters": _params("reference"),
            "put": {
                "summary": "Correct labels (kept as agent labels beside the model's)",
                "operationId": "setStoryLabels",
                "tags": ["stories"],
                **protected,
                "parameters": _params("csrf"),
                "requestBody": _body("LabelsInput", "Corrected codes per label space."),
                "responses": {
                    "200": _json(_ref("schemas", "Story"), "The story with its new labels."),
                    **_errors(400, 401, 403, 404, 500),
                },
            },
        },
        "/api/actions": {
            "get": {
                "summary": "Improvement actions of the agent's structures",
                "operationId": "listActions",
                "tags": ["actions"],
                **protected,
                "parameters": _params(
                    "action_structure", "action_status", "action_irritant", "action_story"
                ),
                "responses": {
                    "200": _json(_ref("schemas", "ActionList"), "Actions."),
                    **read_errors,
                },
            },
            "post": {
                "summary": "Create an improvement action from irritants and/or stories",
                "operationId": "createAction",
                "tags": ["actions"],
                **protected,
                "parameters": _params("csrf"),
                "requestBody": _body("ActionInput", "The action."),
                "responses": {
                    "201": _json(_ref("schemas", "Action"), "The action created."),
                    **read_errors,
                },
            },
        },
        "/api/actions/{action_id}": {
            "parameters": _params("action_id"),
            "get": {
                "summary": "One improvement action",
                "operationId": "getAction",
                "tags": ["actions"],
                **protected,
                "responses": {
                    "200": _json(_ref("schemas", "Action"), "The action."),
                    **_errors(400, 401, 403, 404, 500),
                },
            },
            "patch": {
                "summary": "Update an action (title, owner, due date, status, done text, links)",
                "operationId": "updateAction",
                "tags": ["actions"],
                **protected,
                "parameters": _params("csrf"),
                "requestBody": _body("ActionPatch", "Fields to change."),
                "responses": {
                    "200": _json(_ref("schemas", "Action"), "The updated action."),
                    **_errors(400, 401, 403, 404, 500),
                },
            },
        },
        "/api/analytics/fallbacks": {
            "get": {
                "summary": "Fallbacks and misunderstood questions per conversation flow",
                "description": "Needs the role qualite or admin on some structure (conversations "
                "are not tied to a structure). Filled by the analytics consumer from Rasa's "
                "event stream; questions are scrubbed of personal data.",
                "operationId": "analyticsFallbacks",
                "tags": ["analytics"],
                **protected,
                "parameters": _params("date_from", "date_to", "top"),
                "responses": {
                    "200": _json(_ref("schemas", "FallbackAnalytics"), "Counts and questions."),
                    **read_errors,
                },
            }
        },
        **_export_paths(),
        "/api/feedback/answer": {
            "post": {
                "summary": "Thumbs up or down on a bot answer (chat widget, public)",
                "operationId": "voteAnswer",
                "tags": ["widget"],
                "security": [],
                "requestBody": _body("VoteInput", "The vote; the sender id is stored hashed."),
                "responses": {
                    "201": {"description": "Vote recorded."},
                    **{
                        str(status): _json(_ref("schemas", "VoteError"), text)
                        for status, text in (
                            (400, "Invalid vote."),
                            (403, "Origin not in CORS_ORIGINS."),
                            (413, "Body too large."),
                            (429, "Too many votes from this address (see Retry-After)."),
                        )
                    },
                },
            },
            "options": {
                "summary": "CORS preflight of the vote route",
                "operationId": "voteAnswerPreflight",
                "tags": ["widget"],
                "security": [],
                "responses": {
                    "204": {"description": "Allowed origin (CORS headers) or no Origin."},
                    "403": _json(_ref("schemas", "VoteError"), "Origin not allowed."),
                },
            },
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "tags": ["meta"],
                "security": [],
                "responses": {"200": {"description": "The OpenAPI document."}},
            }
        },
    }


def _export_paths() -> dict[str, Any]:
    formats = {
        "/api/exports/stories.csv": (
            "exportStoriesCsv",
            "Stories of a period and perimeter as CSV (open-data columns + labels), streamed",
            "text/csv",
        ),
        "/api/exports/stories.xlsx": (
            "exportStoriesXlsx",
            "Stories of a period and perimeter as XLSX, streamed",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        "/api/reports/committee.pdf": (
            "committeeReportPdf",
            "Quality committee report of a period and perimeter, as PDF",
            "application/pdf",
        ),
    }
    return {
        path: {
            "get": {
                "summary": summary,
                "description": "Needs the role qualite or admin on every structure concerned; "
                "written to the audit log.",
                "operationId": operation_id,
                "tags": ["exports"],
                "security": SECURITY,
                "parameters": _params("export_from", "export_to", "export_structure"),
                "responses": {
                    "200": {
                        "description": "The file (attachment).",
                        "content": {
                            content_type: {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **_errors(400, 401, 403, 500),
                },
            }
        }
        for path, (operation_id, summary, content_type) in formats.items()
    }


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """Return the OpenAPI 3.0 document of the API (a fresh dict each call)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Portail agents – expériences usagers (Services Publics+)",
            "version": API_VERSION,
            "description": "Irritant aggregates, anonymised stories, labels and improvement "
            "actions of the structures an agent is entitled to. Authenticate with an API token "
            "(`Authorization: Bearer fsp_…`, created by `python -m feedback_store.cli token "
            "create`) or the dashboard session cookie plus the X-CSRF-Token header. Errors are "
            '`{"error": code, "message": French text}`.',
        },
        "servers": [{"url": server_url or "/"}],
        "security": SECURITY,
        "tags": [
            {"name": name}
            for name in ("session", "irritants", "stories", "actions", "analytics", "meta")
        ],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "fsp_<id>_<secret>",
                },
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "portal_session"},
            },
            "parameters": _parameters(),
            "schemas": _schemas(),
            "responses": _responses(),
        },
    }
