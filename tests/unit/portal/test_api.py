"""The agent JSON API in-process: auth on every route, scoping, filters, labels, actions, errors."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from feedback_store.models import AuditLog
from feedback_store.portal.auth import RateLimiter, sign_session
from tests.unit.portal.conftest import PASSWORD, SECRET, Portal

pytestmark = pytest.mark.filterwarnings("ignore:You have set a listener:UserWarning")

PUBLIC = {
    ("POST", "/api/session"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/feedback/answer"),  # widget votes (usagers), guarded by CORS origins
    ("OPTIONS", "/api/feedback/answer"),
}


def api_routes(portal: Portal) -> set[tuple[str, str]]:
    """(method, OpenAPI-style path) of every /api route of the app."""
    routes = set()
    for route in portal.app.router.routes:
        path = "/" + route.path
        if not path.startswith("/api/"):
            continue
        path = re.sub(r"<(\w+):\w+>", r"{\1}", path)
        routes.update((method, path) for method in route.methods)
    return routes


def concrete(path: str, portal: Portal) -> str:
    return path.replace("{reference}", portal.ref("attente")).replace("{action_id}", "1")


def error_of(response) -> tuple[str, str]:
    body = response.json()
    assert set(body) == {"error", "message"}
    return body["error"], body["message"]


async def audit_rows(portal: Portal, action: str) -> list[AuditLog]:
    with portal.session_factory()() as session:
        return session.execute(select(AuditLog).where(AuditLog.action == action)).scalars().all()


# --- authentication -----------------------------------------------------------------------------


async def test_every_protected_api_route_answers_401_without_valid_credentials(portal):
    routes = api_routes(portal)
    assert len(routes) >= 13
    revoked = {"Authorization": f"Bearer {portal.seed.revoked_token}"}
    for method, path in sorted(routes - PUBLIC):
        url = concrete(path, portal)
        for headers in ({}, revoked, {"Authorization": "Basic YWdlbnQ6cGFzcw=="}):
            response = await portal.client.request(method, url, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.text)
            code, message = error_of(response)
            assert code in {"unauthorized", "invalid_token"}
            assert "jeton" in message.lower() or "authentification" in message.lower()
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_openapi_document_describes_exactly_the_api_routes(portal):
    response = await portal.client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.0")
    described = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert described == api_routes(portal)
    for method, path in described - PUBLIC:
        operation = document["paths"][path][method.lower()]
        assert "401" in operation["responses"], (method, path)
        assert operation.get("security", document["security"]), (method, path)
    text = response.text
    for ref in set(re.findall(r'"\$ref":\s*"#/components/(\w+)/(\w+)"', text)):
        assert ref[1] in document["components"][ref[0]], ref
    irritant = document["components"]["parameters"]["irritant"]["schema"]["enum"]
    assert "attente" in irritant and "delai_traitement" in irritant


async def test_health_and_unknown_addresses(portal):
    assert (await portal.client.get("/health")).json() == {"status": "ok"}
    response = await portal.get("/api/nothing", "agent05")
    assert response.status_code == 404
    assert error_of(response) == ("not_found", "Ressource introuvable : /api/nothing")
    response = await portal.send("DELETE", "/api/stories", "agent05")
    assert response.status_code == 405 and "DELETE" in error_of(response)[1]


# --- scoping ------------------------------------------------------------------------------------


async def test_agents_see_only_the_stories_of_their_structures(portal):
    own = await portal.get("/api/stories", "agent05")
    assert own.status_code == 200
    assert own.headers["Cache-Control"] == "no-store"
    body = own.json()
    assert body["structures"] == ["caf-05"]
    assert {item["reference"] for item in body["items"]} == {
        portal.ref(name) for name in ("attente", "merci", "site", "neutre")
    }
    assert {item["structure"]["code"] for item in body["items"]} == {"caf-05"}
    quality = (await portal.get("/api/stories", "qualite")).json()
    assert quality["total"] == 5 and quality["structures"] == ["caf-05", "cpam-05"]
    other = (await portal.get("/api/stories", "agent04")).json()
    assert [item["reference"] for item in other["items"]] == [portal.ref("digne")]


async def test_another_structures_data_is_refused_with_403(portal):
    for path in (
        "/api/stories?structure=caf-04",
        "/api/stories?structure=caf-05,caf-04",
        "/api/irritants?structure=caf-04",
        f"/api/stories/{portal.ref('digne')}",
        "/api/actions?structure=caf-04",
    ):
        response = await portal.get(path, "agent05")
        assert response.status_code == 403, path
        code, message = error_of(response)
        assert code == "forbidden" and ("caf-04" in message or "pas accès" in message)
    for method, path, body in (
        ("PATCH", f"/api/stories/{portal.ref('digne')}", {"status": "traite"}),
        ("POST", f"/api/stories/{portal.ref('digne')}/notes", {"body": "Vu."}),
        ("PUT", f"/api/stories/{portal.ref('digne')}/labels", {"irritants": []}),
    ):
        response = await portal.send(method, path, "agent05", json=body)
        assert response.status_code == 403, (method, path)
    detail = (await portal.get(f"/api/stories/{portal.ref('digne')}", "agent04")).json()
    assert detail["status"] == "nouveau" and detail["notes"] == []


async def test_story_detail_gives_text_labels_and_notes(portal):
    reference = portal.ref("attente")
    response = await portal.get(f"/api/stories/{reference.lower()}", "agent05")
    assert response.status_code == 200
    story = response.json()
    assert story["reference"] == reference and story["url"] == f"/api/stories/{reference}"
    assert story["text"].startswith("J'ai attendu quarante minutes")
    assert story["irritants"] == ["injoignable", "attente"]
    assert story["departement"] == "05" and story["canal"] == "telephone"
    assert {(lbl["space"], lbl["code"], lbl["source"]) for lbl in story["labels"]} >= {
        ("irritant", "attente", "model"),
        ("engagement", "E2", "model"),
    }
    for missing in ("EXP-2024-999999", "pas-une-reference"):
        response = await portal.get(f"/api/stories/{missing}", "agent05")
        assert response.status_code == 404 and missing in error_of(response)[1]


# --- filters and pagination ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("irritant=attente", {"attente", "neutre"}),
        ("engagement=E3", {"merci"}),
        ("tag=accessibilite", {"attente", "site"}),
        ("canal=telephone", {"attente", "neutre"}),
        ("ressenti=positif", {"merci"}),
        ("departement=05", {"attente", "site"}),
        ("status=nouveau", {"attente", "merci", "site", "neutre"}),
        ("date_from=2024-01-20&date_to=2024-02-05", {"merci", "site"}),
        ("date_to=2024-01-08", {"attente"}),
        ("q=TELEPHONE reponse", {"attente", "neutre"}),
        ("q=déclaration", {"site"}),
        ("irritant=attente&canal=telephone&ressenti=neutre", {"neutre"}),
        ("irritant=dossier_perdu", set()),
    ],
)
async def test_story_filters(portal, query, expected):
    response = await portal.get(f"/api/stories?{query}", "agent05")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {item["reference"] for item in body["items"]} == {portal.ref(n) for n in expected}
    assert body["total"] == len(expected)


async def test_pagination_newest_first_and_beyond_the_end(portal):
    first = (await portal.get("/api/stories?per_page=3", "agent05")).json()
    assert [item["reference"] for item in first["items"]] == [
        portal.ref("neutre"),
        portal.ref("site"),
        portal.ref("merci"),
    ]
    assert (first["total"], first["pages"], first["page"]) == (4, 2, 1)
    assert first["links"]["prev"] is None
    second = (await portal.get(first["links"]["next"], "agent05")).json()
    assert [item["reference"] for item in second["items"]] == [portal.ref("attente")]
    assert second["links"]["next"] is None
    beyond = await portal.get("/api/stories?per_page=3&page=7&irritant=attente", "agent05")
    assert beyond.status_code == 200
    body = beyond.json()
    assert (body["items"], body["total"], body["pages"], body["page"]) == ([], 2, 1, 7)
    assert parse_qs(urlsplit(body["links"]["prev"]).query)["page"] == ["1"]


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/api/stories?irritant=bruit", "Valeur inconnue pour irritant : 'bruit'"),
        ("/api/stories?canal=fax", "Valeurs possibles : guichet"),
        ("/api/stories?date_from=2024-03-01&date_to=2024-02-01", "Période inversée"),
        ("/api/stories?date_from=2024-02-30", "date_from n'est pas une date valide"),
        ("/api/stories?date_to=hier", "AAAA-MM-JJ"),
        ("/api/stories?page=0", "page doit être un nombre entier"),
        ("/api/stories?per_page=500", "entre 1 et 200"),
        ("/api/stories?page=-1", "page doit être"),
        ("/api/stories?irritants=attente", "Paramètre inconnu : irritants"),
        ("/api/stories?irritant=attente&irritant=injoignable", "qu'une fois"),
        ("/api/stories?departement=5", "departement"),
        ("/api/stories?structure=caf 05", "Code invalide pour structure"),
        ("/api/stories?q=" + "x" * 201, "q dépasse 200"),
        ("/api/irritants?by=humeur", "Valeur inconnue pour by"),
        ("/api/irritants?period=year", "Valeur inconnue pour period"),
        ("/api/actions?status=finie", "Valeur inconnue pour status"),
        (f"/api/stories/{'EXP-2024-000001'}?page=1", "Paramètre inconnu : page"),
    ],
)
async def test_bad_query_parameters_get_a_clear_400(portal, path, fragment):
    response = await portal.get(path, "agent05")
    assert response.status_code == 400, response.text
    code, message = error_of(response)
    assert code == "bad_request" and fragment in message


# --- aggregates ---------------------------------------------------------------------------------


async def test_irritant_aggregate_with_positive_share_and_links(portal):
    response = await portal.get("/api/irritants?structure=caf-05", "qualite")
    assert response.status_code == 200
    body = response.json()
    assert (body["by"], body["total"], body["positive"], body["positive_share"]) == (
        "irritant",
        4,
        1,
        0.25,
    )
    items = {item["key"]: item for item in body["items"]}
    assert {key: item["count"] for key, item in items.items()} == {
        "attente": 2,
        "injoignable": 1,
        "numerique_defaillant": 1,
    }
    assert body["items"][0]["key"] == "attente"
    assert items["attente"]["label"] == "Attente trop longue" and items["attente"]["share"] == 0.5
    linked = (await portal.get(items["attente"]["stories_url"], "qualite")).json()
    assert {s["reference"] for s in linked["items"]} == {
        portal.ref("attente"),
        portal.ref("neutre"),
    }
    assert linked["total"] == items["attente"]["count"]


async def test_aggregate_by_structure_canal_and_departement(portal):
    by_structure = (await portal.get("/api/irritants?by=structure", "qualite")).json()
    assert [(i["key"], i["label"], i["count"]) for i in by_structure["items"]] == [
        ("caf-05", "CAF des Hautes-Alpes", 4),
        ("cpam-05", "CPAM des Hautes-Alpes", 1),
    ]
    by_canal = (await portal.get("/api/irritants?by=canal&ressenti=negatif", "qualite")).json()
    assert {(i["key"], i["count"]) for i in by_canal["items"]} == {
        ("telephone", 1),
        ("en_ligne", 1),
        ("courrier", 1),
    }
    assert by_canal["positive"] == 0 and by_canal["filters"] == {"ressenti": "negatif"}
    by_dep = (await portal.get("/api/irritants?by=departement", "agent05")).json()
    assert {(i["key"], i["count"]) for i in by_dep["items"]} == {("05", 2), (None, 2)}
    unknown = next(i for i in by_dep["items"] if i["key"] is None)
    assert unknown["label"] == "Non renseigné" and unknown["stories_url"] is None


async def test_monthly_trend_with_links_bounded_to_each_month(portal):
    path = "/api/irritants?period=month&structure=caf-05&date_from=2024-01-10"
    body = (await portal.get(path, "qualite")).json()
    assert body["total"] == 3
    trend = {entry["period"]: entry for entry in body["trend"]}
    assert list(trend) == ["2024-01-01", "2024-02-01"]
    january, february = trend["2024-01-01"], trend["2024-02-01"]
    assert (january["total"], january["positive"], january["positive_share"]) == (1, 1, 1.0)
    assert january["items"] == [] and january["period_end"] == "2024-01-31"
    assert (february["total"], february["positive"]) == (2, 0)
    assert {(i["key"], i["count"]) for i in february["items"]} == {
        ("attente", 1),
        ("numerique_defaillant", 1),
    }
    query = parse_qs(urlsplit(january["stories_url"]).query)
    assert (query["date_from"], query["date_to"]) == (["2024-01-10"], ["2024-01-31"])
    linked = (await portal.get(january["stories_url"], "qualite")).json()
    assert [s["reference"] for s in linked["items"]] == [portal.ref("merci")]
    weekly = (await portal.get("/api/irritants?period=week", "agent05")).json()
    assert weekly["trend"][0]["period"] == "2024-01-08"  # a Monday
    assert sum(entry["total"] for entry in weekly["trend"]) == 4


# --- handling stories ---------------------------------------------------------------------------


async def test_label_correction_is_stored_as_agent_labels_and_audited(portal):
    reference = portal.ref("neutre")
    response = await portal.send(
        "PUT",
        f"/api/stories/{reference}/labels",
        "agent05",
        json={"irritants": ["info_incomprehensible", "suivi_dossier"]},
    )
    assert response.status_code == 200, response.text
    story = response.json()
    assert story["irritants"] == ["suivi_dossier", "info_incomprehensible"]
    assert story["tags"] == ["information"]
    labels = {(lbl["code"], lbl["source"]): lbl for lbl in story["labels"]}
    assert labels[("attente", "model")]["active"] is False  # the model's label is kept
    agent_label = labels[("info_incomprehensible", "agent")]
    assert agent_label["active"] and agent_label["author"] == "agent05@caf.fr"
    rows = await audit_rows(portal, "story.labels")
    assert [(r.actor, r.target) for r in rows] == [("agent05@caf.fr", reference)]
    assert rows[0].details["irritant"] == ["suivi_dossier", "info_incomprehensible"]
    attente = (await portal.get("/api/stories?irritant=attente", "agent05")).json()
    assert [s["reference"] for s in attente["items"]] == [portal.ref("attente")]


async def test_status_update_and_notes(portal):
    reference = portal.ref("site")
    response = await portal.send(
        "PATCH", f"/api/stories/{reference}", "agent05", json={"status": "traite"}
    )
    assert response.status_code == 200 and response.json()["status"] == "traite"
    note = await portal.send(
        "POST", f"/api/stories/{reference}/notes", "agent05", json={"body": "  Rappel fait.  "}
    )
    assert note.status_code == 201
    assert (note.json()["author"], note.json()["body"]) == ("agent05@caf.fr", "Rappel fait.")
    detail = (await portal.get(f"/api/stories/{reference}", "agent05")).json()
    assert detail["status"] == "traite"
    assert [n["body"] for n in detail["notes"]] == ["Rappel fait."]
    handled = (await portal.get("/api/stories?status=traite", "agent05")).json()
    assert [s["reference"] for s in handled["items"]] == [reference]
    [row] = await audit_rows(portal, "story.status")
    assert row.details == {"from": "nouveau", "to": "traite"} and row.actor == "agent05@caf.fr"


@pytest.mark.parametrize(
    ("method", "suffix", "kwargs", "fragment"),
    [
        ("PATCH", "", {"content": b'{"status": '}, "JSON mal formé"),
        ("PATCH", "", {"content": b"[1, 2]"}, "doit être un objet JSON"),
        ("PATCH", "", {"content": b""}, "Corps de requête JSON attendu"),
        ("PATCH", "", {"content": b"\xff\xfe"}, "JSON"),
        ("PATCH", "", {"json": {"status": "fini"}}, "Valeur inconnue pour status"),
        ("PATCH", "", {"json": {"status": "traite", "x": 1}}, "Champ(s) inconnu(s) : x"),
        ("PATCH", "", {"json": {"status": 3}}, "doit être un texte"),
        ("POST", "/notes", {"json": {"body": "   "}}, "ne peut pas être vide"),
        ("POST", "/notes", {"json": {}}, "obligatoire(s) manquant(s) : body"),
        ("PUT", "/labels", {"json": {}}, "au moins un des champs"),
        ("PUT", "/labels", {"json": {"irritants": ["bruit"]}}, "Valeur inconnue pour irritants"),
        ("PUT", "/labels", {"json": {"tags": "information"}}, "liste de codes"),
        ("PUT", "/labels", {"json": {"irritants": [1]}}, "liste de codes"),
    ],
)
async def test_bad_bodies_get_a_clear_400_and_change_nothing(
    portal, method, suffix, kwargs, fragment
):
    reference = portal.ref("attente")
    response = await portal.send(method, f"/api/stories/{reference}{suffix}", "agent05", **kwargs)
    assert response.status_code == 400, response.text
    assert fragment in error_of(response)[1]
    story = (await portal.get(f"/api/stories/{reference}", "agent05")).json()
    assert story["status"] == "nouveau" and story["notes"] == []
    assert not [lbl for lbl in story["labels"] if lbl["source"] == "agent"]


# --- improvement actions ------------------------------------------------------------------------


async def test_improvement_actions_create_list_update(portal):
    payload = {
        "title": "Rappeler sous 48 h",
        "structure": "caf-05",
        "owner": "Pôle accueil",
        "due_date": "2024-06-30",
        "irritants": ["attente", "injoignable"],
        "stories": [portal.ref("attente"), portal.ref("neutre").lower()],
    }
    created = await portal.send("POST", "/api/actions", "agent05", json=payload)
    assert created.status_code == 201, created.text
    action = created.json()
    assert created.headers["Location"] == action["url"] == f"/api/actions/{action['id']}"
    assert (action["status"], action["status_label"]) == ("proposee", "Proposée")
    assert action["irritants"] == ["injoignable", "attente"]
    assert action["stories"] == sorted([portal.ref("attente"), portal.ref("neutre")])
    assert action["structure"] == {"code": "caf-05", "name": "CAF des Hautes-Alpes"}

    listed = (await portal.get("/api/actions?irritant=attente", "qualite")).json()
    assert [a["id"] for a in listed["items"]] == [action["id"]] and listed["total"] == 1
    assert (await portal.get("/api/actions", "agent04")).json()["items"] == []
    assert (await portal.get(action["url"], "agent04")).status_code == 403
    story = (await portal.get(f"/api/stories/{portal.ref('attente')}", "agent05")).json()
    assert [a["id"] for a in story["actions"]] == [action["id"]]

    refused = await portal.send("PATCH", action["url"], "agent05", json={"status": "realisee"})
    assert refused.status_code == 400 and "done_text" in error_of(refused)[1]
    done = await portal.send(
        "PATCH",
        action["url"],
        "agent05",
        json={"status": "realisee", "done_text": "Rappel sous 48 h en place.", "due_date": None},
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["due_date"]) == ("realisee", None)
    shown = (await portal.get(action["url"], "qualite")).json()
    assert shown["done_text"] == "Rappel sous 48 h en place." and shown["owner"] == "Pôle accueil"
    assert [(a.action, a.actor) for a in await audit_rows(portal, "action.update")] == [
        ("action.update", "agent05@caf.fr")
    ]


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"title": "T", "structure": "caf-04"}, 403, "caf-04"),
        ({"title": "T", "structure": "caf-05", "stories": ["EXP-2024-000006"]}, 403, "pas accès"),
        ({"title": "T", "structure": "caf-05", "stories": ["EXP-2024-424242"]}, 400, "inconnue"),
        ({"title": "T"}, 400, "manquant(s) : structure"),
        ({"title": "T", "structure": "caf-05", "due_date": "30/06/2024"}, 400, "AAAA-MM-JJ"),
        ({"title": "T", "structure": "caf-05", "status": "finie"}, 400, "Valeur inconnue"),
        ({"title": "T", "structure": "caf-05", "irritants": ["bruit"]}, 400, "irritants"),
        ({"title": "x" * 201, "structure": "caf-05"}, 400, "dépasse 200"),
        ({"title": "T", "structure": "caf-05", "priority": 1}, 400, "priority"),
    ],
)
async def test_action_creation_refusals(portal, payload, status, fragment):
    assert portal.ref("digne") == "EXP-2024-000006"
    response = await portal.send("POST", "/api/actions", "agent05", json=payload)
    assert response.status_code == status, response.text
    assert fragment in error_of(response)[1]
    assert (await portal.get("/api/actions", "agent05")).json()["total"] == 0


async def test_unknown_action_ids_are_404(portal):
    for path in ("/api/actions/999", "/api/actions/99999999999999999999"):
        response = await portal.get(path, "agent05")
        assert response.status_code == 404, path
        assert "Aucune action" in error_of(response)[1]


# --- dashboard session, CSRF, login rate limit --------------------------------------------------


async def test_dashboard_session_cookie_and_csrf(portal):
    response = await portal.client.post(
        "/api/session", json={"email": "Qualite@caf.fr", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    csrf = response.json()["csrf_token"]
    assert response.json()["agent"]["email"] == "qualite@caf.fr"
    cookie = response.headers["set-cookie"]
    assert "portal_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = (await portal.client.get("/api/session")).json()
    assert (me["auth"], me["csrf_token"]) == ("session", csrf)
    assert (await portal.client.get("/api/stories")).json()["total"] == 5

    path = f"/api/stories/{portal.ref('cpam')}"
    refused = await portal.client.patch(path, json={"status": "en_cours"})
    assert refused.status_code == 403 and error_of(refused)[0] == "csrf"
    wrong = await portal.client.patch(
        path, json={"status": "en_cours"}, headers={"X-CSRF-Token": csrf[:-2] + "xx"}
    )
    assert wrong.status_code == 403
    accepted = await portal.client.patch(
        path, json={"status": "en_cours"}, headers={"X-CSRF-Token": csrf}
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "en_cours"

    value = portal.client.cookies["portal_session"]
    agent_id = value.split(".")[0]
    forged = (
        value[:-3] + "abc",  # bad signature
        value.replace(f"{agent_id}.", "1.", 1),  # another agent, same signature
        sign_session(b"another secret", int(agent_id)),
        sign_session(SECRET.encode(), int(agent_id), now=time.time() - 9 * 3600),  # expired
    )
    for cookie in forged:
        response = await portal.client.get(
            "/api/stories", headers={"Cookie": f"portal_session={cookie}"}
        )
        assert response.status_code == 401, cookie
    logout = await portal.client.delete("/api/session", headers={"X-CSRF-Token": csrf})
    assert logout.status_code == 200
    assert (await portal.client.get("/api/stories")).status_code == 401


async def login(portal, email, password):
    return await portal.client.post("/api/session", json={"email": email, "password": password})


async def test_login_is_rate_limited_per_login(portal):
    for _ in range(5):
        wrong = await login(portal, "qualite@caf.fr", "pas le bon mot")
        assert wrong.status_code == 401
        assert error_of(wrong) == ("invalid_credentials", "Identifiant ou mot de passe incorrect.")
    blocked = await login(portal, "QUALITE@caf.fr", PASSWORD)  # even the right password
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert "Trop de tentatives" in error_of(blocked)[1]
    assert "set-cookie" not in blocked.headers
    other = await login(portal, "agent05@caf.fr", "pas le bon mot")
    assert other.status_code == 401  # other logins from the same address still get an answer


async def test_login_is_rate_limited_per_client_address(portal):
    for number in range(20):
        assert (await login(portal, f"x{number}@caf.fr", "pas le bon mot")).status_code == 401
    assert (await login(portal, "qualite@caf.fr", PASSWORD)).status_code == 429


def test_rate_limiter_window_slides():
    now = [0.0]
    limiter = RateLimiter(2, 60.0, clock=lambda: now[0])
    assert limiter.hit("k") == 0 and limiter.hit("k") == 0
    assert limiter.hit("k") == 60.0
    now[0] = 30.0
    assert limiter.hit("k") == 30.0 and limiter.hit("other") == 0
    now[0] = 60.0
    assert limiter.hit("k") == 0  # the first attempt left the window
    limiter.reset("k")
    assert limiter.hit("k") == 0 and limiter.hit("k") == 0


async def test_unexpected_errors_are_a_generic_500_without_details(portal, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("feedback_store.portal.api_routes.list_stories", broken)
    response = await portal.get("/api/stories", "agent05")
    assert response.status_code == 500
    code, message = error_of(response)
    assert code == "internal" and "Erreur interne" in message
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
