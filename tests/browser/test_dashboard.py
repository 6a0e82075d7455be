"""The agent dashboard in Debian Chromium: a portal alone on a seeded SQLite store.

Login, filtering the overview, opening a story, correcting a label and creating an action are
done with the keyboard (Tab, Space, Enter) where a user would; axe-core checks the overview.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from feedback_store.migrate import upgrade
from scripts.launch import ROOT
from tests.unit.portal.conftest import PASSWORD, seed_store

pytestmark = [pytest.mark.browser]

EMAIL = "qualite@caf.fr"  # qualite on caf-05 and cpam-05; caf-04 is out of reach


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """Base URL of a portal started alone (``python -m feedback_store.portal``), and the seed."""
    if not (ROOT / "feedback_store/portal/static/dsfr/dsfr.min.css").exists():
        pytest.fail("DSFR is not vendored: run scripts/vendor_dsfr.sh")
    folder = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{folder / 'feedback.db'}"
    upgrade(url)
    references = seed_store(url).references
    port = free_port()
    env = {
        **os.environ,
        "FEEDBACK_DB_URL": url,
        "PORTAL_PORT": str(port),
        "PORTAL_SECRET_KEY": "browser-test-secret",
        "ASSISTANT_HOST": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    log = (folder / "portal.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "feedback_store.portal"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"portal exited: {(folder / 'portal.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("portal did not start within 60 s")
            time.sleep(0.2)
        yield base, references
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def log_in(page, base: str, target: str = "/dashboard") -> None:
    page.goto(f"{base}{target}")
    expect(page).to_have_url(f"{base}/login?next={target.replace('/', '%2F')}")
    page.get_by_label("Adresse e-mail").focus()
    page.keyboard.type(EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}{target}")


def run_axe(page, axe_source: str) -> list[dict]:
    page.evaluate(axe_source)
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(' ')),
            }));
        }"""
    )


def test_wrong_password_shows_a_french_error(page, dashboard):
    base, _ = dashboard
    page.goto(f"{base}/login")
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_label("Mot de passe").fill("ce n'est pas le bon")
    page.get_by_role("button", name="Se connecter").press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    expect(page.get_by_label("Adresse e-mail")).to_have_value(EMAIL)


def test_filter_open_story_and_correct_a_label(page, dashboard):
    base, references = dashboard
    log_in(page, base)
    expect(page.locator("#total-histoires")).to_have_text("5")
    expect(page.locator("#part-positive")).to_have_text("20\u00a0%")
    assert page.locator("svg.dashboard-chart").count() == 3
    assert page.errors == []

    page.get_by_label("Canal").select_option("telephone")
    page.get_by_role("button", name="Appliquer les filtres").press("Enter")
    expect(page).to_have_url(f"{base}/dashboard?date_from=&date_to=&structure=&irritant="
                             "&engagement=&canal=telephone&ressenti=")  # fmt: skip
    expect(page.locator("#total-histoires")).to_have_text("2")
    expect(page.get_by_label("Canal")).to_have_value("telephone")

    page.locator("#table-irritants").get_by_role("link", name="Attente trop longue").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Histoires des usagers")
    expect(page.locator("#nombre-resultats")).to_have_text("2 histoires trouvées")
    page.get_by_role("link", name=references["attente"]).press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Histoire {references['attente']}")
    expect(page.locator("#texte-histoire")).to_contain_text("attendu quarante minutes")
    retained = page.locator("#irritants-retenus")
    expect(retained).to_contain_text("Service injoignable")
    expect(retained).to_contain_text("Attente trop longue")

    page.get_by_label("Service injoignable").focus()
    page.keyboard.press("Space")
    page.get_by_label("Délai de traitement trop long").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Enregistrer les irritants").press("Enter")
    expect(page.get_by_role("status")).to_have_text("Les thèmes corrigés ont été enregistrés.")
    expect(retained).to_have_text("Attente trop longue, Délai de traitement trop long")
    expect(page.get_by_label("Service injoignable")).not_to_be_checked()
    agent_rows = page.locator("#table-etiquettes tbody tr", has_text="Agent")
    expect(agent_rows).to_have_count(3)  # 2 irritants + their one tag général (Réactivité)
    expect(agent_rows.filter(has_text="Tag général")).to_contain_text("Réactivité")


def test_other_structure_story_is_forbidden(page, dashboard):
    base, references = dashboard
    log_in(page, base)
    answer = page.goto(f"{base}/dashboard/stories/{references['digne']}")
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
    expect(page.locator("body")).not_to_contain_text("Digne au téléphone")


def test_create_an_action_with_the_keyboard(page, dashboard):
    base, _ = dashboard
    log_in(page, base, "/dashboard/actions")
    page.get_by_label("Titre de l'action (obligatoire)").focus()
    page.keyboard.type("Rappel des usagers sous 48 heures")
    page.keyboard.press("Tab")  # structure select
    page.keyboard.press("Tab")
    page.keyboard.type("Pôle accueil")
    page.get_by_label("Attente trop longue").focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Créer l'action").press("Enter")
    expect(page.get_by_role("status")).to_have_text("L'action d'amélioration a été créée.")
    row = page.locator("#table-actions tbody tr", has_text="Rappel des usagers sous 48 heures")
    expect(row).to_contain_text("Pôle accueil")
    expect(row).to_contain_text("Attente trop longue")
    expect(row).to_contain_text("Proposée")


def test_overview_has_no_serious_axe_violation_and_a_visible_focus(page, dashboard, axe_source):
    base, _ = dashboard
    log_in(page, base)
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => ({text: document.activeElement.textContent.trim(),
                   outline: getComputedStyle(document.activeElement).outlineStyle})"""
    )
    assert focused == {"text": "Contenu", "outline": "solid"}, focused
    violations = run_axe(page, axe_source)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, ensure_ascii=False, indent=1)
    page.get_by_role("button", name="Se déconnecter").press("Enter")
    expect(page.get_by_role("status")).to_have_text("Vous êtes déconnecté.")


def test_download_a_csv_export_of_the_period(page, dashboard):
    base, references = dashboard
    log_in(page, base)
    page.get_by_label("Du (obligatoire)").fill("2024-01-01")
    page.get_by_label("Au (obligatoire, inclus)").fill("2024-01-31")
    with page.expect_download() as info:
        page.get_by_role("button", name="Télécharger en CSV").press("Enter")
    download = info.value
    assert download.suggested_filename == "experiences_2024-01-01_2024-01-31.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert references["attente"] in text and references["cpam"] in text  # January, in scope
    assert references["site"] not in text  # February
    assert references["digne"] not in text  # caf-04: outside the qualite perimeter
