"""Benchmark the portal API: irritant aggregates over a quarter and the stories list page.

Usage: ``python -m bench.bench_portal [--stories 100000] [--db-url URL [--reuse]] [--repeat 30]``

Seeds N stories with labels over 2025 across 20 structures (bulk inserts with SQLAlchemy core)
in a temporary SQLite file, or in the empty database of ``--db-url`` (e.g. a PostgreSQL database
created for the run: ``psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE bench_portal'``), runs
VACUUM/ANALYZE, then serves the portal in-process (ASGI, httpx) and times:

- ``GET /api/irritants?date_from=2025-04-01&date_to=2025-06-30&period=month`` (target p95 ≤ 300 ms),
- ``GET /api/stories?date_from=...&date_to=...&page=K`` for pages 1..50 (target p95 ≤ 100 ms),

for the case of the issue, an agent of ONE structure (headline), and for a qualite agent of all
20 structures (secondary figure). Each line prints p50/p95 beside the row counts: stories in the
database, stories covered by the request. With ``--reuse`` a database that already holds exactly
N stories (from an earlier run with the same ``--stories``) is measured again without re-seeding.
"""

from __future__ import annotations

import argparse
import asyncio
import os
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
AGENTS = {  # e-mail, role, number of structures (the first ones)
    "agent": ("agent1@bench.fr", "agent", 1),
    "qualite": ("qualite@bench.fr", "qualite", STRUCTURES),
}
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


def structure_codes() -> list[str]:
    """Codes of the bench structures."""
    return [f"caf-{d:02d}" for d in range(1, STRUCTURES + 1)]


def ensure_accounts(factory) -> dict[str, str]:
    """Create the structures and agents if missing; return a fresh API token per agent."""
    codes = structure_codes()
    with factory.begin() as session:
        known = set(session.execute(select(Structure.code)).scalars())
        for number, code in enumerate(codes, start=1):
            if code not in known:
                accounts.add_structure(
                    session, code, f"CAF {number:02d}", departement=f"{number:02d}"
                )
        tokens = {}
        for who, (email, role, count) in AGENTS.items():
            if accounts.get_agent(session, email) is None:
                accounts.create_agent(
                    session,
                    email=email,
                    display_name=who.capitalize(),
                    role=role,
                    structure_codes=codes[:count],
                )
            tokens[who] = accounts.create_token(session, email, label="bench").token
    return tokens


def seed(factory, n: int, rng: random.Random) -> None:
    """Add ``n`` labelled stories over 2025, spread evenly at random over the bench structures."""
    codes = structure_codes()
    with factory.begin() as session:
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
                            "story_created_at": moment,
                            "story_structure_id": structure_ids[number],
                        }
                    )
        with factory.begin() as session:
            session.execute(insert(Story), stories)
            session.execute(insert(StoryLabel), labels)
        done = min(n, offset + chunk)
        if done % 100_000 == 0 or done == n:
            print(f"  seeded {done}/{n} stories", flush=True)


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
        f"{name:10s} {who:24s} p50={p50:7.1f} ms p95={p95:7.1f} ms n={len(latencies)} "
        f"(target p95 ≤ {target:.0f} ms: {verdict}) {rows}",
        flush=True,
    )


def describe(who: str) -> str:
    """``agent (1 structure)``-style name of a bench agent."""
    count = AGENTS[who][2]
    return f"{who} ({count} structure{'s' if count > 1 else ''})"


async def measure(url: str, tokens: dict[str, str], repeat: int, stored: int) -> None:
    settings = settings_module.load({"FEEDBACK_DB_URL": url, "PORTAL_SECRET_KEY": "bench"})
    Sanic.test_mode = True
    app = create_app(settings, name="portal_bench")
    date_from, date_to = QUARTER
    print(
        f"quarter {date_from}..{date_to}; {stored} stories in the database; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    async with serving(app) as client:
        for who in AGENTS:
            params = {"date_from": date_from, "date_to": date_to, "period": "month"}
            latencies, body = await timed(client, tokens[who], "/api/irritants", params, repeat)
            rows = (
                f"[{body['total']} of {stored} stories covered, {len(body['structures'])} "
                f"structure(s), {len(body['items'])} irritants x {len(body['trend'])} months]"
            )
            report("aggregates", describe(who), latencies, rows, TARGETS_MS["aggregates"])
        for who in AGENTS:
            quarter = {"date_from": date_from, "date_to": date_to}
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            first = await client.get("/api/stories", params=quarter, headers=headers)
            last_page = max(1, min(50, first.json()["pages"]))

            def page(i: int, last_page: int = last_page, quarter: dict = quarter) -> dict:
                return {**quarter, "page": 1 + (i * 7) % last_page}

            latencies, body = await timed(client, tokens[who], "/api/stories", page, repeat)
            rows = (
                f"[{body['total']} of {stored} stories covered, {body['per_page']} per page, "
                f"pages 1..{last_page} of {body['pages']}]"
            )
            report("stories", describe(who), latencies, rows, TARGETS_MS["stories"])
    print(f"load average {os.getloadavg()[0]:.1f} at the end (other processes slow every figure)")


def analyse(engine) -> None:
    """Refresh planner statistics (and PostgreSQL's visibility map), as after a real load."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(
            "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
        )


def count_rows(engine) -> tuple[int, int]:
    """Stories and labels stored."""
    with engine.connect() as connection:
        stories = connection.execute(select(func.count(Story.id))).scalar_one()
        labels = connection.execute(select(func.count(StoryLabel.id))).scalar_one()
    return stories, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_portal",
        description="Seed N stories and time the portal's irritant aggregates over a quarter and "
        "its stories list page (p50/p95), for an agent of one structure and a qualite agent of "
        "all 20.",
    )
    parser.add_argument(
        "--stories", type=int, default=100_000, help="stories to seed (default 100000)"
    )
    parser.add_argument(
        "--db-url",
        help="empty database to seed and use, e.g. postgresql+psycopg2://postgres@127.0.0.1/db "
        "(default: a temporary SQLite file)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --db-url: measure a database already seeded with --stories stories again "
        "instead of failing on a non-empty database",
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per measurement")
    parser.add_argument("--seed", type=int, default=6, help="random seed")
    args = parser.parse_args(argv)
    if args.reuse and not args.db_url:
        parser.error("--reuse needs --db-url (the default SQLite file is temporary)")

    with tempfile.TemporaryDirectory() as tmp:
        url = args.db_url or f"sqlite:///{Path(tmp) / 'bench_portal.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        stored, labels = count_rows(engine)
        started = time.perf_counter()
        tokens = ensure_accounts(factory)
        if stored == 0:
            seed(factory, args.stories, random.Random(args.seed))
            action = "seeded"
        elif args.reuse and stored == args.stories:
            action = "reused"
        else:
            parser.error(
                f"the database already holds {stored} stories: give an empty database, or "
                f"--reuse with --stories {stored}"
            )
        analyse(engine)
        stored, labels = count_rows(engine)
        engine.dispose()
        print(
            f"{action} {args.stories} stories in {time.perf_counter() - started:.1f}s "
            f"({engine.dialect.name}): {stored} stories, {labels} labels, {STRUCTURES} structures"
        )
        asyncio.run(measure(url, tokens, args.repeat, stored))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
