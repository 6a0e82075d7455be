"""The portal app served in-process over ASGI (httpx), on a seeded SQLite store per test."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import pytest
from sanic import Sanic

import settings as settings_module
from feedback_store import accounts
from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import upgrade
from feedback_store.portal.app import create_app
from feedback_store.stories import Classification, StoryInput, submit_story

PASSWORD = "mot de passe assez long"
SECRET = "test-secret-key"

# name: (structure, created_at, canal, ressenti, postal code, irritants, engagements, tags, text)
STORIES = {
    "attente": (
        "caf-05", datetime(2024, 1, 8, 9), "telephone", "negatif", "05000",
        {"attente": 0.9, "injoignable": 0.7}, {"E2": 0.8}, {"reactivite", "accessibilite"},
        "J'ai attendu quarante minutes au téléphone sans obtenir de réponse.",
    ),
    "merci": (
        "caf-05", datetime(2024, 1, 20, 10), "guichet", "positif", None,
        {}, {"E3": 0.9, "E5": 0.6}, set(),
        "L'agente a pris le temps de m'expliquer toute la démarche, merci.",
    ),
    "site": (
        "caf-05", datetime(2024, 2, 5, 14), "en_ligne", "negatif", "05100",
        {"numerique_defaillant": 0.95}, {"E2": 0.7}, {"accessibilite"},
        "Le site de déclaration en ligne plante à chaque validation du formulaire.",
    ),
    "neutre": (
        "caf-05", datetime(2024, 2, 14, 16), "telephone", "neutre", None,
        {"attente": 0.6}, {"E4": 0.5}, {"reactivite"},
        "Attente assez longue au téléphone mais la réponse était correcte.",
    ),
    "cpam": (
        "cpam-05", datetime(2024, 1, 10, 11), "courrier", "negatif", "05000",
        {"delai_traitement": 0.8}, {"E4": 0.8}, {"reactivite"},
        "Mon remboursement traîne depuis trois mois sans aucune nouvelle.",
    ),
    "digne": (
        "caf-04", datetime(2024, 1, 15, 8), "telephone", "negatif", "04000",
        {"attente": 0.9}, {"E2": 0.9}, {"reactivite"},
        "Impossible de joindre la caisse de Digne au téléphone, toujours occupé.",
    ),
}  # fmt: skip

# name: (email, role, structures, with password)
AGENTS = {
    "agent05": ("agent05@caf.fr", "agent", ("caf-05",), False),
    "agent04": ("agent04@caf.fr", "agent", ("caf-04",), False),
    "qualite": ("qualite@caf.fr", "qualite", ("caf-05", "cpam-05"), True),
}


@dataclass(frozen=True)
class Seed:
    """What the template database holds."""

    path: object
    tokens: dict[str, str]
    references: dict[str, str]
    revoked_token: str


def seed_store(url: str, path: object = None) -> Seed:
    """Fill a migrated, empty store with the structures, agents, tokens and stories above."""
    engine = make_engine(url)
    tokens, references = {}, {}
    with make_session_factory(engine).begin() as session:
        accounts.add_structure(session, "caf-05", "CAF des Hautes-Alpes", departement="05")
        accounts.add_structure(session, "caf-04", "CAF des Alpes-de-Haute-Provence")
        accounts.add_structure(session, "cpam-05", "CPAM des Hautes-Alpes")
        for name, (email, role, structures, with_password) in AGENTS.items():
            accounts.create_agent(
                session,
                email=email,
                display_name=name,
                role=role,
                structure_codes=structures,
                password=PASSWORD if with_password else None,
            )
            tokens[name] = accounts.create_token(session, email, label="tests").token
        revoked = accounts.create_token(session, "agent05@caf.fr")
        accounts.revoke_token(session, revoked.record.id)
        for name, row in STORIES.items():
            structure, created, canal, ressenti, postal, irritants, engagements, tags, text = row
            story = submit_story(
                session,
                StoryInput(
                    submission_id=str(uuid.uuid4()),
                    structure_code=structure,
                    canal=canal,
                    ressenti=ressenti,
                    text=text,
                    postal_code=postal,
                    consent=True,
                ),
                Classification(irritants, engagements, frozenset(tags), "test-model"),
                created_at=created.replace(tzinfo=timezone.utc),
            )
            references[name] = story.reference
    engine.dispose()
    return Seed(path, tokens, references, revoked.token)


@pytest.fixture(scope="session")
def seed(tmp_path_factory) -> Seed:
    path = tmp_path_factory.mktemp("portal") / "feedback.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return seed_store(url, path)


@asynccontextmanager
async def lifespan(app):
    """Run the ASGI lifespan (Sanic's before_server_start listeners) around the block."""
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(outbox.get(), timeout=60)
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(outbox.get(), timeout=60)
        # Sanic 21.12 goes on to handle a request once the lifespan ends and fails on it.
        with suppress(AttributeError):
            await task


class Portal:
    """The app, an HTTP client to it and the seed."""

    def __init__(self, app, client: httpx.AsyncClient, seed: Seed, url: str) -> None:
        self.app = app
        self.client = client
        self.seed = seed
        self.url = url

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seed.tokens[who]}"}

    def ref(self, name: str) -> str:
        return self.seed.references[name]

    async def get(self, path: str, who: str | None = None, **kwargs) -> httpx.Response:
        headers = self.auth(who) if who else {}
        return await self.client.get(path, headers=headers, **kwargs)

    async def send(self, method: str, path: str, who: str | None, **kwargs) -> httpx.Response:
        headers = {**(self.auth(who) if who else {}), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    def session_factory(self):
        return self.app.ctx.session_factory


@asynccontextmanager
async def open_portal(url: str, seed: Seed):
    """Start a portal app on the store at ``url`` and yield a :class:`Portal` talking to it."""
    settings = settings_module.load({"FEEDBACK_DB_URL": url, "PORTAL_SECRET_KEY": SECRET})
    Sanic.test_mode = True  # lets Sanic's start-up "touch-up" run again for each app
    app = create_app(settings, name=f"portal_test_{uuid.uuid4().hex[:12]}")
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            yield Portal(app, client, seed, url)


@pytest.fixture()
async def portal(seed: Seed, tmp_path):
    path = tmp_path / "feedback.db"
    shutil.copyfile(seed.path, path)
    async with open_portal(f"sqlite:///{path}", seed) as running:
        yield running
