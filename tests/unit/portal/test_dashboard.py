"""The agent dashboard pages, in-process over ASGI on a copy of the seeded SQLite store."""

from __future__ import annotations

import html
import re

import httpx
import pytest
from sqlalchemy import select

from feedback_store.models import AuditLog
from feedback_store.stories import get_story_by_reference
from tests.unit.portal.conftest import PASSWORD

QUALITE = "qualite@caf.fr"  # qualite on caf-05 and cpam-05 (not caf-04)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def client(portal) -> httpx.AsyncClient:
    """The in-process client of the conftest's portal (a fresh copy of the seeded store)."""
    portal.client.app = portal.app
    return portal.client


def csrf_of(page: httpx.Response) -> str:
    found = CSRF_RE.search(page.text)
    assert found, "no CSRF field in the page"
    return html.unescape(found.group(1))


async def log_in(client: httpx.AsyncClient, password: str = PASSWORD, **extra) -> httpx.Response:
    form = await client.get("/login")
    data = {"email": QUALITE, "password": password, "csrf_token": csrf_of(form), **extra}
    return await client.post("/login", data=data)


async def logged_in(client: httpx.AsyncClient) -> str:
    """Log in as the qualite agent; return the CSRF token of the dashboard session."""
    answer = await log_in(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    return csrf_of(await client.get("/dashboard"))


def audit_actions(client) -> list[tuple[str, str, str | None]]:
    with client.app.ctx.session_factory() as session:
        rows = session.execute(select(AuditLog).order_by(AuditLog.id)).scalars().all()
        return [(row.actor, row.action, row.target) for row in rows]


@pytest.mark.parametrize(
    "path", ["/dashboard", "/dashboard/stories", "/dashboard/actions", "/logout"]
)
async def test_pages_need_a_session(client, path):
    answer = await client.get(path, params={"irritant": "attente"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")
    assert "%2Fdashboard" in answer.headers["location"] or path == "/logout"


async def test_login_page_is_a_dsfr_form(client):
    answer = await client.get("/login", params={"next": "/dashboard/actions"})
    assert answer.status_code == 200
    text = answer.text
    assert '<html lang="fr"' in text
    assert "Assistant des services publics — Espace agents" in text
    assert 'href="#contenu"' in text and 'id="contenu"' in text
    assert "/static/dsfr/dsfr.min.css" in text
    assert 'value="/dashboard/actions"' in text
    assert "default-src 'self'" in answer.headers["content-security-policy"]


async def test_static_dsfr_is_served(client):
    answer = await client.get("/static/dsfr/dsfr.min.css")
    assert answer.status_code == 200, "run scripts/vendor_dsfr.sh"
    assert ".fr-btn" in answer.text


async def test_wrong_password_shows_a_french_error(client):
    answer = await log_in(client, password="pas le bon mot de passe")
    assert answer.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in answer.text
    assert "portal_session" not in answer.cookies


async def test_login_is_rate_limited(client):
    for _ in range(5):
        assert (await log_in(client, password="mauvais mot de passe")).status_code == 401
    answer = await log_in(client)  # even the right password, while the limit holds
    assert answer.status_code == 429
    assert "Trop de tentatives de connexion" in answer.text
    assert int(answer.headers["retry-after"]) >= 1


async def test_login_without_csrf_is_refused(client):
    await client.get("/login")
    answer = await client.post("/login", data={"email": QUALITE, "password": PASSWORD})
    assert answer.status_code == 403
    assert "expiré" in answer.text
    assert "portal_session" not in answer.cookies


async def test_login_redirects_to_next_but_never_off_site(client):
    answer = await log_in(client, next="/dashboard/actions")
    assert answer.headers["location"] == "/dashboard/actions"
    client.cookies.clear()
    answer = await log_in(client, next="//evil.example/dashboard")
    assert answer.headers["location"] == "/dashboard"


async def test_overview_counts_and_links(client, seed):
    await logged_in(client)
    answer = await client.get("/dashboard")
    assert answer.status_code == 200
    text = answer.text
    # caf-05 (4 stories) + cpam-05 (1); the caf-04 story is outside the perimeter
    assert 'id="total-histoires">5<' in text
    assert 'id="part-positive">20\u00a0%<' in text
    assert "<svg" in text and 'aria-hidden="true"' in text
    assert '<a href="/dashboard/stories?irritant=attente">Attente trop longue</a>' in text
    assert "janvier 2024" in text and "février 2024" in text
    assert 'formaction="/api/exports/stories.xlsx"' in text  # qualite may export
    filtered = await client.get("/dashboard", params={"structure": "caf-05", "canal": "telephone"})
    assert 'id="total-histoires">2<' in filtered.text
    assert "structure=caf-05&amp;canal=telephone&amp;irritant=attente" in filtered.text


async def test_overview_bad_filter_is_a_400_page(client):
    await logged_in(client)
    answer = await client.get(
        "/dashboard", params={"date_from": "2024-03-01", "date_to": "2024-01-01"}
    )
    assert answer.status_code == 400
    assert "Période inversée" in answer.text


async def test_other_structure_is_forbidden(client, seed):
    await logged_in(client)
    answer = await client.get("/dashboard", params={"structure": "caf-04"})
    assert answer.status_code == 403
    assert "caf-04" in answer.text
    story = await client.get(f"/dashboard/stories/{seed.references['digne']}")
    assert story.status_code == 403
    assert "structure à laquelle vous n&#39;avez pas accès" in story.text
    assert "Impossible de joindre" not in story.text


async def test_stories_list_filters_and_searches(client, seed):
    await logged_in(client)
    answer = await client.get("/dashboard/stories", params={"irritant": "attente"})
    assert answer.status_code == 200
    assert seed.references["attente"] in answer.text and seed.references["neutre"] in answer.text
    assert seed.references["site"] not in answer.text
    assert seed.references["digne"] not in answer.text
    found = await client.get("/dashboard/stories", params={"q": "formulaire"})
    assert "1 histoire trouvée" in found.text and seed.references["site"] in found.text


async def test_story_detail_shows_labels_with_confidence(client, seed):
    await logged_in(client)
    answer = await client.get(f"/dashboard/stories/{seed.references['attente']}")
    assert answer.status_code == 200
    text = answer.text
    assert "J&#39;ai attendu quarante minutes" in text
    assert "<td>Attente trop longue</td><td>Modèle</td><td>90\u00a0%</td>" in text
    assert 'value="attente" checked' in text and 'value="injoignable" checked' in text


async def test_label_correction_without_csrf_is_refused(client, seed):
    await logged_in(client)
    reference = seed.references["attente"]
    answer = await client.post(
        f"/dashboard/stories/{reference}/labels", data={"irritants": "delai_traitement"}
    )
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    with client.app.ctx.session_factory() as session:
        assert get_story_by_reference(session, reference).codes("irritant", "agent") == ()


async def test_label_correction_is_stored_as_agent_labels(client, seed):
    token = await logged_in(client)
    reference = seed.references["attente"]
    answer = await client.post(
        f"/dashboard/stories/{reference}/labels",
        data={"csrf_token": token, "irritants": ["delai_traitement", "attente"]},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/dashboard/stories/{reference}?saved=labels"
    with client.app.ctx.session_factory() as session:
        story = get_story_by_reference(session, reference)
    assert story.codes("irritant", "agent") == ("attente", "delai_traitement")
    assert set(story.irritants) == {"attente", "delai_traitement"}  # injoignable overridden
    assert set(story.codes("irritant", "model")) == {"attente", "injoignable"}  # kept beside
    assert (QUALITE, "story.labels", reference) in audit_actions(client)
    page = await client.get(answer.headers["location"])
    assert "Les thèmes corrigés ont été enregistrés." in page.text


async def test_status_and_note_forms(client, seed):
    token = await logged_in(client)
    reference = seed.references["site"]
    answer = await client.post(
        f"/dashboard/stories/{reference}/status", data={"csrf_token": token, "status": "en_cours"}
    )
    assert answer.status_code == 303
    answer = await client.post(
        f"/dashboard/stories/{reference}/notes",
        data={"csrf_token": token, "body": "Signalé à l'équipe du site."},
    )
    assert answer.status_code == 303
    page = await client.get(f"/dashboard/stories/{reference}")
    assert "En cours" in page.text and "Signalé à l&#39;équipe du site." in page.text
    bad = await client.post(
        f"/dashboard/stories/{reference}/status", data={"csrf_token": token, "status": "perdu"}
    )
    assert bad.status_code == 400 and "Valeur inconnue pour statut" in bad.text


async def test_create_an_action(client, seed):
    token = await logged_in(client)
    answer = await client.post(
        "/dashboard/actions",
        data={
            "csrf_token": token,
            "title": "Rappel sous 48 h",
            "structure": "caf-05",
            "owner": "Accueil téléphonique",
            "due_date": "2024-06-30",
            "status": "engagee",
            "irritants": ["attente", "injoignable"],
            "stories": seed.references["attente"],
        },
    )
    assert answer.status_code == 303
    page = await client.get(answer.headers["location"].split("#")[0])
    assert "L&#39;action d&#39;amélioration a été créée." in page.text
    assert "Rappel sous 48 h" in page.text and "30 juin 2024" in page.text
    assert "Service injoignable" in page.text and seed.references["attente"] in page.text
    assert any(action == "action.create" for _, action, _ in audit_actions(client))


async def test_action_form_errors_are_shown_and_other_structures_refused(client):
    token = await logged_in(client)
    empty = await client.post(
        "/dashboard/actions", data={"csrf_token": token, "title": "", "structure": "caf-05"}
    )
    assert empty.status_code == 400 and "Le titre de l&#39;action est obligatoire." in empty.text
    done = await client.post(
        "/dashboard/actions",
        data={"csrf_token": token, "title": "Fait", "structure": "caf-05", "status": "realisee"},
    )
    assert done.status_code == 400 and 'value="Fait"' in done.text
    other = await client.post(
        "/dashboard/actions", data={"csrf_token": token, "title": "X", "structure": "caf-04"}
    )
    assert other.status_code == 403


async def test_logout_needs_csrf_and_ends_the_session(client):
    token = await logged_in(client)
    assert (await client.post("/logout")).status_code == 403
    answer = await client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/login?logout=1"
    assert (await client.get("/dashboard")).status_code == 303


def test_charts_escape_labels_and_scale_bars():
    from feedback_store.portal.dashboard_charts import (
        Bar,
        column_chart_svg,
        horizontal_bar_chart_svg,
    )

    svg = str(
        horizontal_bar_chart_svg(
            [Bar("<script>alert(1)</script>", 4, "/x?a=1&b=2"), Bar("Moitié", 2, None)]
        )
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'href="/x?a=1&amp;b=2" tabindex="-1"' in svg and svg.count("<a ") == 1
    widths = [int(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="(\d+)"', svg)]
    assert widths[0] == 2 * widths[1] > 0
    assert 'aria-hidden="true"' in svg
    columns = str(column_chart_svg([Bar("janv. 2024", 3), Bar("févr. 2024", 0)]))
    heights = [int(h) for h in re.findall(r'height="(\d+)" fill=', columns)]
    assert heights[0] > 0 and heights[1] == 0
    assert horizontal_bar_chart_svg([]) == "" and column_chart_svg([]) == ""
