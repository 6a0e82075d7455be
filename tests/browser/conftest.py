"""Browser fixtures: one Debian Chromium per session (Python Playwright), the portal serving the
widget, and a small driver of the chat widget."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.launch import ROOT, Stack

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
HOST = "#asp-chat-widget"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def portal(stack: Stack) -> str:
    """Base URL of the stack's portal, which serves /widget.js and /demo."""
    url = stack.settings.portal_url
    reply = httpx.get(f"{url}/widget.js", timeout=10)
    if reply.status_code != 200:
        pytest.fail(
            f"{url}/widget.js answered {reply.status_code}: is the widget blueprint "
            "registered in create_app?"
        )
    return url


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/install_test_packages.sh")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser) -> Iterator:
    ctx = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.dialogs = []
    page.errors = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    return page


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/install_node_deps.sh")
    return AXE.read_text(encoding="utf-8")


class Chat:
    """Drives the widget of a page the way a usager does (roles and names, not internals)."""

    def __init__(self, page) -> None:
        self.page = page
        self.launcher = page.get_by_role("button", name="Une question ?")
        self.dialog = page.get_by_role("dialog")
        self.input = page.get_by_role("textbox", name="Votre message")
        self.alert = page.get_by_role("alert")

    def open(self) -> None:
        """Open the dialog, unless the widget reopened it by itself (it was open before)."""
        if not self.dialog.is_visible():
            self.launcher.click()
        self.dialog.wait_for(state="visible")

    def bot_count(self) -> int:
        return self.page.locator(f"{HOST} .msg.bot").count()

    def _texts(self, role: str) -> list[str]:
        """Text of the message bubbles, without the prefix read to screen-reader users."""
        return self.page.evaluate(
            """([sel, role]) => [...document.querySelector(sel).shadowRoot
                .querySelectorAll(`.msg.${role} .bubble`)].map((bubble) => {
                    const copy = bubble.cloneNode(true);
                    copy.querySelectorAll('.sr').forEach((node) => node.remove());
                    return copy.textContent;
                })""",
            [HOST, role],
        )

    def bot_texts(self) -> list[str]:
        return self._texts("bot")

    def user_texts(self) -> list[str]:
        return self._texts("user")

    def wait_answer(self, before: int) -> list[str]:
        """Wait until the answer to the last message is shown; return the new bot texts."""
        self.page.wait_for_function(
            """([sel, n]) => {
                const root = document.querySelector(sel).shadowRoot;
                return root.querySelectorAll('.msg.bot').length > n
                    && root.querySelector('.typing').hidden;
            }""",
            arg=[HOST, before],
            timeout=TIMEOUT_MS,
        )
        return self.bot_texts()[before:]

    def say(self, text: str) -> list[str]:
        before = self.bot_count()
        self.input.fill(text)
        self.input.press("Enter")
        return self.wait_answer(before)

    def choose(self, title: str) -> list[str]:
        before = self.bot_count()
        self.quick_replies().get_by_role("button", name=title, exact=True).click()
        return self.wait_answer(before)

    def quick_replies(self):
        return self.page.get_by_role("group", name="Réponses proposées")

    def quick_reply_titles(self) -> list[str]:
        return self.quick_replies().get_by_role("button").all_inner_texts()

    def active(self) -> dict:
        """Where the keyboard focus is: inside the widget (and which element) or not."""
        return self.page.evaluate(
            """(sel) => {
                const host = document.querySelector(sel);
                const inWidget = document.activeElement === host;
                const el = inWidget ? host.shadowRoot.activeElement : document.activeElement;
                const panel = host.shadowRoot.querySelector('.panel');
                return {
                    inWidget,
                    inPanel: inWidget && !!el && panel.contains(el),
                    tag: el ? el.tagName.toLowerCase() : null,
                    cls: el ? el.className : null,
                    text: el ? (el.innerText || '').trim() : null,
                    outline: el ? getComputedStyle(el).outlineStyle : null,
                };
            }""",
            HOST,
        )


@pytest.fixture
def chat(page) -> Chat:
    return Chat(page)
