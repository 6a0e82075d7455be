"""Export and committee report routes: auth, role, scoping, formats, audit (ASGI, SQLite)."""

from __future__ import annotations

import codecs
import csv
import io
import shutil
import uuid

import httpx
import openpyxl
import pytest
from sanic import Sanic

import settings as settings_module
from feedback_store.audit import list_entries
from feedback_store.exports import EXPORT_HEADER
from feedback_store.portal.app import create_app
from feedback_store.portal.export_routes import exports_bp
from tests.unit.portal.conftest import SECRET, Portal, lifespan

ROUTES = (
    "/api/exports/stories.csv",
    "/api/exports/stories.xlsx",
    "/api/reports/committee.pdf",
    "/reports/committee",
)
Q1 = {"from": "2024-01-01", "to": "2024-03-31"}


@pytest.fixture()
async def portal(seed, tmp_path):
    path = tmp_path / "feedback.db"
    shutil.copyfile(seed.path, path)
    url = f"sqlite:///{path}"
    settings = settings_module.load({"FEEDBACK_DB_URL": url, "PORTAL_SECRET_KEY": SECRET})
    Sanic.test_mode = True
    app = create_app(settings, name=f"exports_test_{uuid.uuid4().hex[:12]}")
    if exports_bp.name not in app.blueprints:  # until app.py registers it
        app.blueprint(exports_bp)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            yield Portal(app, client, seed, url)


def csv_records(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(codecs.BOM_UTF8)
    reader = csv.DictReader(io.StringIO(body[3:].decode("utf-8"), newline=""), delimiter=";")
    assert tuple(reader.fieldnames) == EXPORT_HEADER
    return list(reader)


@pytest.mark.parametrize("path", ROUTES)
async def test_routes_need_a_quality_role(portal, path):
    anonymous = await portal.get(path, params=Q1)
    assert anonymous.status_code == 401
    agent = await portal.get(path, "agent05", params=Q1)
    assert agent.status_code == 403
    assert "qualite" in agent.json()["message"]
    foreign = await portal.get(path, "qualite", params={**Q1, "structure": "caf-04"})
    assert foreign.status_code == 403


async def test_csv_export_is_scoped_to_the_agent_structures(portal):
    answer = await portal.get("/api/exports/stories.csv", "qualite", params=Q1)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="experiences_2024-01-01_2024-03-31.csv"'
    )
    records = csv_records(answer.content)
    wanted = {"attente", "merci", "site", "neutre", "cpam"}  # not "digne" (caf-04)
    assert {r["reference"] for r in records} == {portal.ref(name) for name in wanted}
    assert {r["code_structure"] for r in records} == {"caf-05", "cpam-05"}

    only = await portal.get(
        "/api/exports/stories.csv", "qualite", params={**Q1, "structure": "cpam-05"}
    )
    (record,) = csv_records(only.content)
    assert record["reference"] == portal.ref("cpam")
    assert record["ressenti_usager"] == "Négatif"
    assert record["irritants"] == "delai_traitement"

    with portal.session_factory()() as session:
        (entry, *_) = list_entries(session, action="export.stories.csv")
    assert entry.actor == "qualite@caf.fr"
    assert entry.details == {"from": "2024-01-01", "to": "2024-03-31", "structures": ["cpam-05"]}


async def test_xlsx_export(portal):
    answer = await portal.get(
        "/api/exports/stories.xlsx", "qualite", params={"from": "2024-02-01", "to": "2024-02-29"}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert answer.headers["content-disposition"].endswith('2024-02-29.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert [c.value for c in sheet[1]] == list(EXPORT_HEADER)
    references = {sheet.cell(r, EXPORT_HEADER.index("reference") + 1).value for r in (2, 3)}
    assert sheet.max_row == 3 and references == {portal.ref("site"), portal.ref("neutre")}


async def test_committee_report_pdf_and_html(portal):
    pdf = await portal.get("/api/reports/committee.pdf", "qualite", params=Q1)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    html = await portal.get("/reports/committee", "qualite", params={**Q1, "structure": "caf-05"})
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "script-src" not in html.headers["content-security-policy"]
    page = html.text
    assert "Rapport du comité qualité" in page
    assert "CAF des Hautes-Alpes (caf-05)" in page
    assert "Expériences reçues : 4</strong>" in page
    assert "Attente trop longue" in page and "CPAM" not in page
    with portal.session_factory()() as session:
        actions = {e.action for e in list_entries(session, target_type="export")}
    assert actions == {"export.committee_report.pdf", "export.committee_report.html"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"to": "2024-03-31"}, "Paramètre obligatoire manquant : from"),
        ({"from": "2024-03-31", "to": "2024-01-01"}, "Période inversée"),
        ({"from": "2024-02-30", "to": "2024-03-31"}, "n'est pas une date valide"),
        ({**Q1, "format": "csv"}, "Paramètre inconnu : format"),
        ({"from": "2020-01-01", "to": "2024-03-31"}, "ne peut pas dépasser"),
        ({"from": "0001-01-01", "to": "0001-01-05"}, "from doit être comprise entre"),
        ({"from": "9999-12-25", "to": "9999-12-31"}, "from doit être comprise entre"),
    ],
)
async def test_bad_parameters_are_400(portal, params, message):
    answer = await portal.get("/api/exports/stories.csv", "qualite", params=params)
    assert answer.status_code == 400
    assert message in answer.json()["message"]
