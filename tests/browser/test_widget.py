"""The chat widget in Debian Chromium, against the real Rasa server, action server and portal."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from playwright.sync_api import expect

from feedback_store.portal.widget_routes import votes_path
from tests.browser.conftest import HOST, Chat

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

MENU = [
    "Trouver le bon service",
    "France services près de chez moi",
    "Droit à l'erreur",
    "Raconter mon expérience",
]
WEBHOOK = "**/webhooks/rest/webhook"
XSS_VECTORS = [
    '<img src=x onerror="window.__xss=1;alert(1)">',
    '<svg onload="window.__xss=2;alert(2)"><circle r=9></circle></svg>',
    '<a href="javascript:window.__xss=3;alert(3)">cliquez</a> javascript:alert(3)',
    '<iframe srcdoc="<script>parent.__xss=4;parent.alert(4)</script>"></iframe>',
    "<script>window.__xss=5;alert(5)</script>",
]


def state(page, storage: str = "sessionStorage") -> dict:
    raw = page.evaluate(f"() => {storage}.getItem('asp-chat:v1:mairie-de-gap')")
    return json.loads(raw) if raw else {}


def assert_nothing_executed(page) -> None:
    found = page.evaluate(
        """(sel) => {
            const root = document.querySelector(sel).shadowRoot;
            return {
                xss: window.__xss === undefined ? null : window.__xss,
                injected: root.querySelectorAll('img, iframe, script, object, embed, circle').length
                    + document.querySelectorAll('img, iframe, circle').length,
                handlers: [...root.querySelectorAll('*')].filter(
                    (el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
                hrefs: [...root.querySelectorAll('a')].map((a) => a.getAttribute('href')),
            };
        }""",
        HOST,
    )
    assert found["xss"] is None
    assert found["injected"] == 0 and found["handlers"] == 0
    assert all(re.match(r"^https?://", href) for href in found["hrefs"]), found["hrefs"]
    assert page.dialogs == [] and page.errors == []


def test_full_conversation_through_the_widget(page, chat: Chat, portal, stack):
    sent = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data_json)
        if r.method == "POST" and r.url.endswith("/webhooks/rest/webhook")
        else None,
    )
    page.goto(f"{portal}/demo")
    expect(chat.dialog).to_be_hidden()
    chat.open()
    expect(chat.dialog).to_have_accessible_name("Assistant de la mairie de Gap")
    expect(chat.input).to_be_focused()

    greeting = chat.wait_answer(0)
    assert "assistant automatique" in greeting[0]
    assert chat.quick_reply_titles() == MENU
    assert chat.user_texts() == []  # the greeting is asked silently

    answer = chat.choose("Trouver le bon service")
    assert chat.user_texts() == ["Trouver le bon service"]
    assert "Quelle démarche" in answer[0]
    expect(chat.quick_replies()).to_have_count(0)

    answer = chat.say("je dois refaire ma carte d'identité, je suis à Briançon")
    text = "\n".join(answer)
    assert "adressez-vous à" in text and "France services les plus proches de Briançon" in text
    assert sum(" km\n" in t for t in answer) == 3
    link = chat.dialog.locator("a[href^='https://']").first
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    assert "(nouvelle fenêtre)" in link.inner_text()

    answer = chat.say("et la France services la plus proche de Gap ?")
    assert "France services les plus proches de Gap" in "\n".join(answer)
    assert sum(" km\n" in t for t in answer) == 3
    assert chat.user_texts() == [
        "Trouver le bon service",
        "je dois refaire ma carte d'identité, je suis à Briançon",
        "et la France services la plus proche de Gap ?",
    ]

    sender = state(page)["sender"]
    assert [m["message"] for m in sent] == [
        "/greet",
        "/find_service",
        "je dois refaire ma carte d'identité, je suis à Briançon",
        "et la France services la plus proche de Gap ?",
    ]
    assert all(m["sender"] == sender for m in sent)
    assert all(m["metadata"] == {"partner": "mairie-de-gap"} for m in sent)

    votes = chat.dialog.get_by_role("group", name="Cette réponse vous a-t-elle aidé ?")
    assert votes.count() == 4  # one per answer
    last = votes.last
    last.get_by_role("button", name="Oui, cette réponse m'a aidé").click()
    expect(last.get_by_role("status")).to_have_text("Merci pour votre avis.")
    expect(last.get_by_role("button", name="Oui, cette réponse m'a aidé")).to_have_attribute(
        "aria-pressed", "true"
    )
    record = json.loads(votes_path(stack.settings).read_text().splitlines()[-1])
    assert record["vote"] == "up" and record["partner"] == "mairie-de-gap"
    assert record["sender_hash"] == hashlib.sha256(sender.encode()).hexdigest()
    assert record["index"] == state(page)["messages"][-1]["n"]
    assert page.errors == []


def test_conversation_survives_reload_and_can_be_cleared(page, chat: Chat, portal):
    page.goto(f"{portal}/demo")
    chat.open()
    chat.wait_answer(0)
    assert "Avec plaisir" in chat.say("merci beaucoup")[0]
    before = state(page)

    page.reload()
    expect(chat.dialog).to_be_visible()  # it was open: it opens again
    expect(chat.input).to_be_focused()
    assert chat.user_texts() == ["merci beaucoup"]
    assert "Avec plaisir" in chat.bot_texts()[-1]
    assert state(page)["sender"] == before["sender"]

    chat.dialog.get_by_role("button", name="Effacer la conversation").click()
    chat.wait_answer(0)
    assert chat.user_texts() == []
    assert len(chat.bot_texts()) == 1 and "assistant automatique" in chat.bot_texts()[0]
    assert state(page)["sender"] != before["sender"]
    expect(chat.dialog.locator("[aria-live=polite]")).to_contain_text("conversation a été effacée")

    chat.dialog.get_by_role("button", name="Fermer l'assistant").click()
    page.reload()
    expect(chat.dialog).to_be_hidden()  # closed by the usager: stays closed


def test_session_storage_by_default_local_storage_on_request(context, portal):
    for query, storage in (("", "sessionStorage"), ("?storage=local", "localStorage")):
        first = Chat(context.new_page())
        first.page.goto(f"{portal}/demo{query}")
        first.open()
        first.wait_answer(0)
        first.say("merci beaucoup")
        other = Chat(context.new_page())  # another tab of the same site
        other.page.goto(f"{portal}/demo{query}")
        other.open()
        if storage == "localStorage":
            assert other.user_texts() == ["merci beaucoup"]
            assert state(other.page, storage)["sender"] == state(first.page, storage)["sender"]
        else:
            other.wait_answer(0)
            assert other.user_texts() == []
            assert state(other.page, storage)["sender"] != state(first.page, storage)["sender"]
        first.page.close()
        other.page.close()


def test_partner_options_open_position_and_accent(page, chat: Chat, portal):
    launcher_color = f"""() => getComputedStyle(document.querySelector('{HOST}')
        .shadowRoot.querySelector('.launcher')).backgroundColor"""
    page.goto(f"{portal}/demo?open=true&position=left&accent-color=%2318753c")
    expect(chat.dialog).to_be_visible()
    assert "assistant automatique" in chat.wait_answer(0)[0]
    assert chat.launcher.bounding_box()["x"] < 100
    assert page.evaluate(launcher_color) == "rgb(24, 117, 60)"
    page.goto(f"{portal}/demo?accent-color=%23ffff00")  # too light for white text: refused
    expect(chat.dialog).to_be_visible()  # was open on this site: opens again
    assert page.evaluate(launcher_color) == "rgb(0, 0, 145)"
    assert chat.launcher.bounding_box()["x"] > 600


def test_server_unreachable_keeps_the_text_then_retry_works(page, chat: Chat, portal):
    page.goto(f"{portal}/demo")
    chat.open()
    chat.wait_answer(0)
    page.route(WEBHOOK, lambda route: route.abort("connectionrefused"))
    chat.input.fill("merci beaucoup")
    chat.input.press("Enter")
    expect(chat.alert).to_contain_text("Le service ne répond pas pour le moment")
    expect(chat.input).to_have_value("merci beaucoup")
    assert chat.user_texts() == []
    assert chat.quick_reply_titles() == MENU  # the last choices are still offered
    expect(chat.page.locator(f"{HOST} .typing")).to_be_hidden()

    page.unroute(WEBHOOK)
    before = chat.bot_count()
    chat.alert.get_by_role("button", name="Réessayer").click()
    assert "Avec plaisir" in chat.wait_answer(before)[0]
    expect(chat.alert).to_be_hidden()
    expect(chat.input).to_have_value("")
    assert chat.user_texts() == ["merci beaucoup"]


def test_rate_limited_message_asks_to_wait_and_keeps_the_text(page, chat: Chat, portal):
    """The webhook's 429 (too many messages) is told as such, not as an unreadable message."""
    page.goto(f"{portal}/demo")
    chat.open()
    chat.wait_answer(0)
    page.route(
        WEBHOOK,
        lambda route: route.fulfill(
            status=429,
            json={"error": "Vous avez envoyé beaucoup de messages en peu de temps."},
            headers={"Access-Control-Allow-Origin": portal, "Retry-After": "42"},
        ),
    )
    chat.input.fill("encore une question")
    chat.input.press("Enter")
    expect(chat.alert).to_contain_text("Patientez une minute, puis réessayez.")
    expect(chat.alert).not_to_contain_text("reformuler")
    expect(chat.input).to_have_value("encore une question")
    assert chat.user_texts() == []
    page.unroute(WEBHOOK)


def test_xss_vectors_typed_and_sent_through_the_real_servers_stay_text(page, chat: Chat, portal):
    page.goto(f"{portal}/demo")
    chat.open()
    chat.wait_answer(0)
    chat.choose("France services près de chez moi")
    for vector in XSS_VECTORS:
        chat.say(vector)
    assert chat.user_texts()[1:] == XSS_VECTORS
    assert_nothing_executed(page)


def test_xss_vectors_echoed_by_the_server_stay_text(page, chat: Chat, portal):
    """A server echoing the usager's words (as slots do) in texts, buttons and links."""
    echo = []

    def echoing_rasa(route):
        message = route.request.post_data_json["message"]
        echo.append(message)
        body = [
            {"recipient_id": "x", "text": f"Vous avez écrit : {message}"},
            {
                "recipient_id": "x",
                "text": "Lien : javascript:alert(9) et https://www.service-public.fr/x.",
            },
            {
                "recipient_id": "x",
                "text": "Choisissez :",
                "buttons": [{"title": v, "payload": v} for v in XSS_VECTORS[:2]],
            },
        ]
        route.fulfill(
            status=200,
            json=body,
            headers={"Access-Control-Allow-Origin": portal, "Vary": "Origin"},
        )

    page.route(WEBHOOK, echoing_rasa)
    page.goto(f"{portal}/demo")
    chat.open()
    chat.wait_answer(0)
    for vector in XSS_VECTORS[2:]:
        chat.say(vector)
    chat.choose(XSS_VECTORS[0])
    sent = [*XSS_VECTORS[2:], XSS_VECTORS[0]]
    assert echo[1:] == sent and chat.user_texts() == sent
    assert [t for t in chat.bot_texts() if t.startswith("Vous avez écrit")] == [
        f"Vous avez écrit : {message}" for message in echo
    ]
    assert chat.quick_reply_titles() == XSS_VECTORS[:2]
    links = page.locator(f"{HOST} a")
    expect(links.first).to_have_attribute("href", "https://www.service-public.fr/x")
    assert_nothing_executed(page)


def test_keyboard_only(page, chat: Chat, portal):
    page.goto(f"{portal}/demo")
    for _ in range(20):
        page.keyboard.press("Tab")
        if chat.active()["cls"] == "launcher":
            break
    focus = chat.active()
    assert focus["cls"] == "launcher" and focus["outline"] == "solid"  # visible focus

    page.keyboard.press("Enter")
    expect(chat.dialog).to_be_visible()
    expect(chat.launcher).to_have_attribute("aria-expanded", "true")
    assert chat.active()["tag"] == "textarea"
    chat.wait_answer(0)

    for _ in range(12):  # back from the input to the last quick reply
        page.keyboard.press("Shift+Tab")
        if chat.active()["text"] == MENU[-1]:
            break
    assert chat.active()["text"] == MENU[-1] and chat.active()["outline"] == "solid"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert chat.active()["text"] == MENU[0]
    before = chat.bot_count()
    page.keyboard.press("Enter")
    assert "Quelle démarche" in chat.wait_answer(before)[0]
    assert chat.active()["tag"] == "textarea"  # focus kept in the dialog

    before = chat.bot_count()
    page.keyboard.type("merci beaucoup")
    page.keyboard.press("Enter")
    assert "Avec plaisir" in chat.wait_answer(before)[0]

    seen = set()
    for _ in range(20):  # the focus never leaves the dialog
        page.keyboard.press("Tab")
        focus = chat.active()
        assert focus["inPanel"], focus
        seen.add(focus["tag"])
    assert {"button", "textarea"} <= seen
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert chat.active()["inPanel"]

    page.keyboard.press("Escape")
    expect(chat.dialog).to_be_hidden()
    assert chat.active()["cls"] == "launcher"
    expect(chat.launcher).to_have_attribute("aria-expanded", "false")


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


def test_axe_finds_no_serious_or_critical_violation(page, chat: Chat, portal, axe_source):
    page.goto(f"{portal}/demo")
    closed = run_axe(page, axe_source)
    chat.open()
    chat.wait_answer(0)
    chat.say("la france services la plus proche de Gap")
    chat.dialog.get_by_role("button", name="Non, cette réponse ne m'a pas aidé").last.click()
    opened = run_axe(page, axe_source)
    page.route(WEBHOOK, lambda route: route.abort("connectionrefused"))
    chat.input.fill("merci")
    chat.input.press("Enter")
    expect(chat.alert).to_be_visible()
    failing = run_axe(page, axe_source)
    for violations in (closed, opened, failing):
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], json.dumps(serious, ensure_ascii=False, indent=1)


@pytest.mark.parametrize(
    ("width", "height", "scale"),
    [(320, 640, 1), (640, 400, 2)],  # a 320-px phone; a 1280x800 window at 200 % zoom
    ids=["320px", "zoom200"],
)
def test_usable_on_small_screens_and_at_200_percent(browser, portal, width, height, scale):
    context = browser.new_context(
        locale="fr-FR", viewport={"width": width, "height": height}, device_scale_factor=scale
    )
    try:
        page = context.new_page()
        chat = Chat(page)
        page.goto(f"{portal}/demo")
        launcher = chat.launcher.bounding_box()
        assert launcher["x"] >= 0 and launcher["x"] + launcher["width"] <= width
        chat.open()
        chat.wait_answer(0)
        chat.say("la france services la plus proche de Gap")
        box = chat.dialog.bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0
        assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
        for target in (
            chat.input,
            chat.dialog.get_by_role("button", name="Envoyer"),
            chat.dialog.get_by_role("button", name="Fermer l'assistant"),
        ):
            expect(target).to_be_in_viewport()
        overflow = page.evaluate(
            """(sel) => {
                const root = document.querySelector(sel).shadowRoot;
                const log = root.querySelector('.log');
                return [...root.querySelectorAll('.panel, .log, .form')]
                    .filter((el) => el.scrollWidth > el.clientWidth + 1).length
                    + (log.clientHeight < 80 ? 100 : 0);
            }""",
            HOST,
        )
        assert overflow == 0
    finally:
        context.close()


def test_reduced_motion_stops_the_typing_animation(browser, portal):
    names = {}
    for motion in ("no-preference", "reduce"):
        context = browser.new_context(reduced_motion=motion)
        page = context.new_page()
        page.goto(f"{portal}/demo")
        page.locator(HOST).wait_for(state="attached")
        names[motion] = page.evaluate(
            """(sel) => getComputedStyle(document.querySelector(sel)
                .shadowRoot.querySelector('.dots span')).animationName""",
            HOST,
        )
        context.close()
    assert names == {"no-preference": "aspb", "reduce": "none"}


def test_page_on_a_disallowed_origin_cannot_talk_to_the_assistant(page, chat: Chat, stack):
    # The same portal reached as localhost is another origin, absent from CORS_ORIGINS.
    other = f"http://localhost:{stack.settings.portal_port}"
    assert other not in stack.settings.cors_origins
    page.goto(f"{other}/demo")
    chat.open()
    expect(chat.alert).to_contain_text("Le service ne répond pas pour le moment")
    assert chat.bot_count() == 0
