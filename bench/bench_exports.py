"""Benchmark the committee exports: seed N stories in a temporary SQLite store, export CSV + XLSX.

Usage: ``python -m bench.bench_exports [--n 100000] [--tracemalloc] [--keep DIR]``

Prints, per format: rows, seconds, rows per second, output size, and the peak resident memory
during the export (VmHWM of the process, reset just before it on Linux) above the resident
memory before it; with ``--tracemalloc``, the peak of Python allocations too (slower run).
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select

from feedback_store.db import make_engine, make_session_factory
from feedback_store.exports import ExportScope, write_csv, write_xlsx
from feedback_store.migrate import upgrade
from feedback_store.models import Story, StoryLabel, Structure
from feedback_store.taxonomy import CANAUX, IRRITANTS, TAXONOMY_VERSION

SENTENCES = (
    "J'ai attendu plus d'une heure au guichet sans qu'on me dise combien de temps il restait.",
    "Personne ne répond au téléphone depuis trois semaines, la ligne sonne dans le vide.",
    "Mon dossier a été perdu deux fois et on m'a redemandé les mêmes pièces justificatives.",
    "Le site est en panne au moment de valider, impossible de finir la démarche en ligne.",
    "L'agente a pris le temps de m'expliquer chaque étape, c'était clair et bienveillant.",
    "Le courrier reçu est incompréhensible, plein de sigles, et personne ne peut l'expliquer.",
    "On m'a renvoyé de la mairie à la préfecture puis de nouveau à la mairie.",
    "Ma réclamation est restée sans réponse malgré deux relances par écrit.",
)


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def seed(factory, n: int, rng: random.Random) -> None:
    """Bulk-insert ``n`` stories with 0–3 irritants each (plus engagements and tags)."""
    irritants = list(IRRITANTS.values())
    canaux = list(CANAUX)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with factory.begin() as session:
        session.execute(
            insert(Structure),
            [
                {
                    "code": f"caf-{d:02d}",
                    "name": f"CAF {d:02d}",
                    "kind": "caf",
                    "departement": f"{d:02d}",
                }
                for d in range(1, 21)
            ],
        )
        structure_ids = list(session.execute(select(Structure.id)).scalars())
    story_id = 0
    chunk = 10_000
    for offset in range(0, n, chunk):
        stories, labels = [], []
        for i in range(offset, min(n, offset + chunk)):
            story_id += 1
            moment = start + timedelta(seconds=rng.randrange(0, 365 * 86400))
            text = " ".join(rng.sample(SENTENCES, 2))
            chosen = rng.sample(irritants, rng.choice((0, 1, 1, 2, 3)))
            dept = rng.randrange(1, 21)
            stories.append(
                {
                    "id": story_id,
                    "reference": f"EXP-2025-{i + 1:06d}",
                    "submission_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "created_at": moment,
                    "updated_at": moment,
                    "structure_id": structure_ids[dept - 1],
                    "structure_label": None,
                    "canal": rng.choice(canaux),
                    "ressenti": "negatif" if chosen else "positif",
                    "title": None,
                    "text_anonymised": text,
                    "suggestion_anonymised": None,
                    "search_text": text.lower(),
                    "postal_code": f"{dept:02d}000",
                    "departement": f"{dept:02d}",
                    "partner": None,
                    "consent": True,
                    "status": "nouveau",
                    "taxonomy_version": TAXONOMY_VERSION,
                    "model_version": "bench",
                }
            )
            engagements = {e for irritant in chosen for e in irritant.engagements} or {"E3"}
            tags = {irritant.tag for irritant in chosen}
            for space, codes in (
                ("irritant", [irritant.code for irritant in chosen]),
                ("engagement", engagements),
                ("tag", tags),
            ):
                for code in codes:
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
                            "story_structure_id": structure_ids[dept - 1],
                        }
                    )
        with factory.begin() as session:
            session.execute(insert(Story), stories)
            session.execute(insert(StoryLabel), labels)


def measure(name: str, run, out: Path, use_tracemalloc: bool) -> None:
    before = _rss_kb()
    exact_peak = _reset_peak()
    if use_tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    rows = run(out)
    elapsed = time.perf_counter() - started
    traced = ""
    if use_tracemalloc:
        traced = f"  python-peak={tracemalloc.get_traced_memory()[1] / 2**20:.1f} MiB"
        tracemalloc.stop()
    peak = _peak_kb()
    label = "peak-rss-above-start" if exact_peak else "max-rss(process)"
    print(
        f"{name:5s} rows={rows} time={elapsed:.2f}s rate={rows / elapsed:,.0f} rows/s "
        f"size={out.stat().st_size / 2**20:.1f} MiB {label}={(peak - before) / 1024:.1f} MiB"
        f"{traced}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_exports",
        description="Seed N stories in a temporary SQLite store and time the CSV and XLSX exports.",
    )
    parser.add_argument("--n", type=int, default=100_000, help="stories to seed (default 100000)")
    parser.add_argument("--seed", type=int, default=6, help="random seed")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also report the peak of Python allocations"
    )
    parser.add_argument("--keep", type=Path, help="write the database and exports in this folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / 'bench_exports.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        seed(factory, args.n, random.Random(args.seed))
        print(f"seeded {args.n} stories in {time.perf_counter() - started:.1f}s ({url})")
        filters = ExportScope(datetime(2025, 1, 1).date(), datetime(2025, 12, 31).date()).filters()

        def run_csv(out: Path) -> int:
            with factory() as session, out.open("wb") as handle:
                return write_csv(session, filters, handle)

        def run_xlsx(out: Path) -> int:
            with factory() as session, out.open("wb") as handle:
                return write_xlsx(session, filters, handle)

        measure("csv", run_csv, folder / "export.csv", args.tracemalloc)
        measure("xlsx", run_xlsx, folder / "export.xlsx", args.tracemalloc)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
