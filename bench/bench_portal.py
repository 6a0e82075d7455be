"""Benchmark the portal API: irritant aggregates over a quarter and the stories list page.

Usage: ``python -m bench.bench_portal [--stories 100000] [--db-url URL] [--repeat 30]``

Seeds N stories with labels over 2025 across 20 structures (bulk inserts with SQLAlchemy core)
in a temporary SQLite file, or in the empty database of ``--db-url`` (e.g. a PostgreSQL database
created for the run), then serves the portal in-process (ASGI, httpx) and times, for an agent of
3 structures and a qualite agent of all 20:

- ``GET /api/irritants?date_from=2025-04-01&date_to=2025-06-30&period=month`` (target p95 ≤ 300 ms),
- ``GET /api/stories?date_from=...&date_to=...&page=K`` for pages 1..50 (target p95 ≤ 100 ms),

printing p50/p95 with the number of stories the request covers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sanic import Sanic
from sqlalchemy import func, insert, select

import settings as settings_module
from feedback_store import accounts
from feedback_store.db import make_engine, make_session_factory
from feedback_store.migrate import upgrade
from feedback_store.models import Story, StoryLabel, Structure
from feedback_store.portal.app import create_app
from feedback_store.taxonomy import CANAUX, IRRITANTS, RESSENTIS, TAXONOMY_VERSION

STRUCTURES = 20
AGENT_STRUCTURES = 3
QUARTER = ("2025-04-01", "2025-06-30")
TARGETS_MS = {"aggregates": 300.0, "stories": 100.0}
SENTENCES = (
    "J'ai attendu plus d'une heure au guichet sans qu'on me dise combien de temps il restait.",
    "Personne ne répond au téléphone depuis trois semaines, la ligne sonne dans le vide.",
    "Mon dossier a été perdu deux fois et on m'a redemandé les mêmes pièces justificatives.",
    "Le site est en panne au moment de valider, impossible de finir la démarche en ligne.",
    "L'agente a pris le temps de m'expliquer chaque étape, c'était clair et bienveillant.",
    "Le courrier reçu est incompréhensible, plein de sigles, et personne ne peut l'expliquer.",
)


def seed(factory, n: int, rng: random.Random) -> dict[str, str]:
    """Create 20 structures, two agents with tokens, and ``n`` labelled stories over 2025.

    Returns:
        The API token of each agent (``agent``: 3 structures, ``qualite``: all of them).

    """
    codes = [f"caf-{d:02d}" for d in range(1, STRUCTURES + 1)]
    with factory.begin() as session:
        for number, code in enumerate(codes, start=1):
            accounts.add_structure(session, code, f"CAF {number:02d}", departement=f"{number:02d}")
        accounts.create_agent(
            session,
            email="agent@bench.fr",
            display_name="Agent",
            role="agent",
            structure_codes=codes[:AGENT_STRUCTURES],
        )
        accounts.create_agent(
            session,
            email="qualite@bench.fr",
            display_name="Qualité",
            role="qualite",
            structure_codes=codes,
        )
        tokens = {
            "agent": accounts.create_token(session, "agent@bench.fr").token,
            "qualite": accounts.create_token(session, "qualite@bench.fr").token,
        }
        ids = dict(session.execute(select(Structure.code, Structure.id)).all())
        first_id = (session.execute(select(func.max(Story.id))).scalar() or 0) + 1
    structure_ids = [ids[code] for code in codes]
    irritants, canaux, ressentis = list(IRRITANTS.values()), list(CANAUX), list(RESSENTIS)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    chunk = 10_000
    for offset in range(0, n, chunk):
        stories, labels = [], []
        for i in range(offset, min(n, offset + chunk)):
            story_id = first_id + i
            moment = start + timedelta(seconds=rng.randrange(0, 365 * 86400))
            text = " ".join(rng.sample(SENTENCES, 2))
            chosen = rng.sample(irritants, rng.choice((0, 1, 1, 2, 3)))
            number = rng.randrange(STRUCTURES)
            stories.append(
                {
                    "id": story_id,
                    "reference": f"EXP-2025-{i + 1:06d}",
                    "submission_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "created_at": moment,
                    "updated_at": moment,
                    "structure_id": structure_ids[number],
                    "canal": rng.choice(canaux),
                    "ressenti": rng.choice(ressentis) if chosen else "positif",
                    "text_anonymised": text,
                    "search_text": text.lower(),
                    "postal_code": f"{number + 1:02d}000",
                    "departement": f"{number + 1:02d}",
                    "consent": True,
                    "status": "nouveau",
                    "taxonomy_version": TAXONOMY_VERSION,
                    "model_version": "bench",
                }
            )
            engagements = {e for irritant in chosen for e in irritant.engagements} or {"E3"}
            for space, labelled in (
                ("irritant", [irritant.code for irritant in chosen]),
                ("engagement", sorted(engagements)),
                ("tag", sorted({irritant.tag for irritant in chosen})),
            ):
                for code in labelled:
                    labels.append(
                        {
                            "story_id": story_id,
                            "space": space,
                            "code": code,
                            "source": "model",
                            "confidence": None if space == "tag" else 0.8,
                            "active": True,
                            "created_at": moment,
                        }
                    )
        with factory.begin() as session:
            session.execute(insert(Story), stories)
            session.execute(insert(StoryLabel), labels)
    return tokens


@asynccontextmanager
async def serving(app: Sanic):
    """Run the app's ASGI lifespan (store opening) and yield an httpx client to it."""
    inbox: asyncio.Queue = asyncio.Queue()
    outbox: asyncio.Queue = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(outbox.get(), timeout=120)
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"portal did not start: {started}")
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.bench") as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(outbox.get(), timeout=60)
        with suppress(AttributeError):  # Sanic 21.12 handles one more "request" after shutdown
            await task


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


async def timed(client: httpx.AsyncClient, token: str, path: str, params: dict, repeat: int):
    """Send the request ``repeat`` times (after one warm-up); latencies in ms and the last body."""
    headers = {"Authorization": f"Bearer {token}"}
    answer = await client.get(
        path, params=params(0) if callable(params) else params, headers=headers
    )
    answer.raise_for_status()
    latencies = []
    for i in range(repeat):
        query = params(i) if callable(params) else params
        started = time.perf_counter()
        answer = await client.get(path, params=query, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return latencies, answer.json()


def report(name: str, who: str, latencies: list[float], rows: str, target: float) -> None:
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    verdict = "ok" if p95 <= target else "MISSED"
    print(
        f"{name:10s} {who:7s} {rows:42s} n={len(latencies):3d} p50={p50:7.1f} ms "
        f"p95={p95:7.1f} ms (target p95 ≤ {target:.0f} ms: {verdict})"
    )


async def measure(url: str, tokens: dict[str, str], repeat: int) -> None:
    settings = settings_module.load({"FEEDBACK_DB_URL": url, "PORTAL_SECRET_KEY": "bench"})
    Sanic.test_mode = True
    app = create_app(settings, name="portal_bench")
    date_from, date_to = QUARTER
    async with serving(app) as client:
        for who in ("agent", "qualite"):
            params = {"date_from": date_from, "date_to": date_to, "period": "month"}
            latencies, body = await timed(client, tokens[who], "/api/irritants", params, repeat)
            rows = f"{body['total']} stories, {len(body['structures'])} structures"
            report("aggregates", who, latencies, rows, TARGETS_MS["aggregates"])
        for who in ("agent", "qualite"):

            def page(i: int) -> dict:
                return {"date_from": date_from, "date_to": date_to, "page": 1 + (i * 7) % 50}

            latencies, body = await timed(client, tokens[who], "/api/stories", page, repeat)
            rows = f"{body['total']} stories, pages 1..50 of {body['pages']}"
            report("stories", who, latencies, rows, TARGETS_MS["stories"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_portal",
        description="Seed N stories and time the portal's irritant aggregates over a quarter and "
        "its stories list page (p50/p95), for an agent of 3 structures and a qualite agent of 20.",
    )
    parser.add_argument(
        "--stories", type=int, default=100_000, help="stories to seed (default 100000)"
    )
    parser.add_argument(
        "--db-url",
        help="empty database to seed and use, e.g. postgresql+psycopg2://postgres@127.0.0.1/db "
        "(default: a temporary SQLite file)",
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per measurement")
    parser.add_argument("--seed", type=int, default=6, help="random seed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db_url or f"sqlite:///{Path(tmp) / 'bench_portal.db'}"
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        tokens = seed(make_session_factory(engine), args.stories, random.Random(args.seed))
        with engine.connect() as connection:
            stories = connection.execute(select(func.count(Story.id))).scalar_one()
            labels = connection.execute(select(func.count(StoryLabel.id))).scalar_one()
            connection.exec_driver_sql("ANALYZE")  # planner statistics, as after a real load
            connection.commit()
        engine.dispose()
        print(
            f"seeded {args.stories} stories in {time.perf_counter() - started:.1f}s "
            f"({engine.dialect.name}): {stories} stories, {labels} labels"
        )
        asyncio.run(measure(url, tokens, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
