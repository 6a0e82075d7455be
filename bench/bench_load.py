"""Load benchmark: scripted French conversations against the whole stack, and stock Rasa.

Run with ``python -m bench.bench_load`` (``--help`` for the options). For each stack it starts
every process (``scripts.launch.Stack``), times how long they take to be ready, then plays the
scripts of :mod:`bench.load_conversations` (orientation, France services search, droit à l'erreur
check, a full experience story) as N concurrent usagers in a closed loop: each usager sends its
next turn as soon as the previous reply arrives (or after ``--think-time`` seconds on average),
and starts a new conversation (new sender id) when its script ends. Each level N runs a short
warm-up, then ``--duration`` seconds that are measured.

It prints, per level: p50/p95/p99 latency per turn, messages per second, errors (HTTP status other
than 200, an empty reply or the ``utter_service_unavailable`` text), replies that left the script
(a valid answer but not the one the e2e tests expect: counted apart), and the CPU the servers used;
then the knee of the throughput curve, the peak memory of each process (each Sanic worker of each
Rasa replica on its own), the ready time of each stack, the ratio to the baseline and the targets.

Stacks:

- ``prod``: ``profiles/prod.env`` (2 replicas x 2 workers, PostgreSQL, Redis lock store, RabbitMQ
  broker and the analytics consumer) with throw-away databases and a throw-away queue, dropped at
  the end;
- ``embedded``: SQLite files in a temporary directory, one Rasa process;
- baseline: the same domain, training data, action server and conversations, but the model trained
  with Rasa 3.6's default configuration (``bench/baseline_config.yml``, as ``rasa init``), embedded,
  one replica, one worker. Its model is cached by hash like the assistant's (the first run trains).

Requests go to the replicas like nginx's ``least_conn`` (deploy/nginx.conf): the replica with the
fewest requests in flight. The webhook's rate limits are raised for the run (all usagers share the
address 127.0.0.1); in the prod profile their counters live in Redis database 15, apart from others.
Figures are also written to ``results/bench_load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_conversations import SCRIPTS, button_payload, on_script, texts  # noqa: E402
from bench.process_memory import MemorySampler, rasa_worker_peaks  # noqa: E402
from scripts import model_cache  # noqa: E402
from scripts.launch import Stack, load_profile  # noqa: E402

RESULTS = ROOT / "results" / "bench_load.json"
BASELINE_CONFIG = "bench/baseline_config.yml"
ADMIN_POSTGRES_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
RATE_LIMIT_REDIS_DB = 15
HIGH_LIMIT = "1000000"
REQUEST_TIMEOUT_S = 30.0
KNEE_GAIN = 1.10
"""Throughput must grow by at least 10 % from one level to the next, else the knee is reached."""
TARGET_P95_MS = 250.0
TARGET_P95_LEVEL = 20
TARGET_RATIO = 2.0
TARGET_WORKER_MB = 1536.0
TARGET_READY_S = 60.0


# --- Load -------------------------------------------------------------------------------------


@dataclass
class TurnResult:
    """One request: its scenario, when it ended, how long it took, what went wrong."""

    scenario: str
    end: float
    latency_s: float
    error: str = ""
    on_script: bool = True


class Balancer:
    """Pick the replica with the fewest requests in flight (nginx ``least_conn``), ties in turn."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.in_flight = [0] * len(urls)
        self._next = 0

    def acquire(self) -> int:
        """Index of the replica to use; call :meth:`release` after the request."""
        count = len(self.urls)
        order = [(self._next + i) % count for i in range(count)]
        index = min(order, key=self.in_flight.__getitem__)
        self._next = (index + 1) % count
        self.in_flight[index] += 1
        return index

    def release(self, index: int) -> None:
        """The request sent to replica ``index`` is over."""
        self.in_flight[index] -= 1


@dataclass
class LevelRun:
    """Everything recorded while one level runs."""

    run_id: str
    unavailable: str
    balancer: Balancer
    stopping: bool = False
    turns: list[TurnResult] = field(default_factory=list)
    conversations_done: list[float] = field(default_factory=list)
    scripts_left: int = 0
    """Conversations that left their script (a button missing, not the expected end)."""
    think_s: float = 0.0
    """Mean pause of a usager between a reply and its next message (0: the issue's closed loop)."""


async def send(client: httpx.AsyncClient, run: LevelRun, sender: str, message: str) -> tuple:
    """POST one message; return (error or "", reply messages, latency in seconds)."""
    index = run.balancer.acquire()
    started = time.perf_counter()
    error, reply = "", []
    try:
        response = await client.post(
            run.balancer.urls[index], json={"sender": sender, "message": message}
        )
        if response.status_code != 200:
            error = f"HTTP {response.status_code}"
        else:
            reply = response.json()
            if not isinstance(reply, list) or not reply:
                error, reply = "empty reply", []
            elif run.unavailable and run.unavailable in texts(reply):
                error = "service unavailable"
    except httpx.TimeoutException:
        error = "timeout"
    except httpx.HTTPError as err:
        error = type(err).__name__
    except ValueError:
        error = "invalid JSON"
    finally:
        run.balancer.release(index)
    return error, reply, time.perf_counter() - started


async def usager(index: int, client: httpx.AsyncClient, run: LevelRun) -> None:
    """Play scripts one after the other (closed loop) until the level stops.

    With ``run.think_s`` > 0 the usager pauses between a reply and its next message, uniformly
    between half and one and a half times that mean (seeded: the same pauses on every run).
    """
    conversation = 0
    pauses = random.Random(index)
    while not run.stopping:
        script = SCRIPTS[(index + conversation) % len(SCRIPTS)]
        sender = f"bench-{run.run_id}-{index}-{conversation}"
        conversation += 1
        previous: list[dict] = []
        finished = True
        for turn in script.turns:
            if run.stopping:
                return
            message = turn.say
            if turn.button:
                message = button_payload(previous, turn.button)
                if message is None:
                    if turn.optional:
                        continue
                    run.scripts_left += 1
                    finished = False
                    break
            error, previous, latency = await send(client, run, sender, message)
            run.turns.append(
                TurnResult(
                    script.name,
                    time.perf_counter(),
                    latency,
                    error,
                    bool(error) or on_script(turn, previous),
                )
            )
            if error:
                finished = False
                break
            if run.think_s > 0:
                await asyncio.sleep(run.think_s * pauses.uniform(0.5, 1.5))
        if finished:
            run.conversations_done.append(time.perf_counter())
            if script.end and not any(fragment in texts(previous) for fragment in script.end):
                run.scripts_left += 1


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (0 when empty)."""
    if not values:
        return 0.0
    return values[min(len(values) - 1, max(0, math.ceil(q / 100 * len(values)) - 1))]


def latency_summary(turns: list[TurnResult]) -> dict[str, float]:
    """Count and p50/p95/p99/max latency in milliseconds."""
    ms = sorted(t.latency_s * 1000 for t in turns)
    return {
        "turns": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(ms[-1], 1) if ms else 0.0,
    }


async def run_level(
    urls: list[str],
    usagers: int,
    warmup_s: float,
    duration_s: float,
    unavailable: str,
    sampler: MemorySampler,
    think_s: float = 0.0,
) -> dict:
    """Run ``usagers`` concurrent conversations; measure ``duration_s`` after ``warmup_s``."""
    run = LevelRun(uuid.uuid4().hex[:8], unavailable, Balancer(urls), think_s=think_s)
    limits = httpx.Limits(max_connections=usagers + 4, max_keepalive_connections=usagers + 4)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        tasks = [asyncio.create_task(usager(i, client, run)) for i in range(usagers)]
        await asyncio.sleep(warmup_s)
        start, server_cpu, client_cpu = time.perf_counter(), sampler.cpu_s(), time.process_time()
        await asyncio.sleep(duration_s)
        end = time.perf_counter()
        server_cpu, client_cpu = sampler.cpu_s() - server_cpu, time.process_time() - client_cpu
        run.stopping = True
        _, pending = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 5)
        for task in pending:
            task.cancel()
    window = [t for t in run.turns if start <= t.end <= end]
    elapsed = end - start
    errors = Counter(t.error for t in run.turns if t.error)
    by_scenario = {
        name: latency_summary([t for t in window if t.scenario == name])
        for name in sorted({t.scenario for t in window})
    }
    return {
        "usagers": usagers,
        "duration_s": round(elapsed, 1),
        "msg_per_s": round(len(window) / elapsed, 2) if elapsed else 0.0,
        "conversations_per_s": round(
            sum(start <= t <= end for t in run.conversations_done) / elapsed, 2
        )
        if elapsed
        else 0.0,
        **latency_summary(window),
        "errors": sum(errors.values()),
        "errors_in_window": sum(bool(t.error) for t in window),
        "error_kinds": dict(errors),
        "off_script_replies": sum(not t.on_script for t in window),
        "scripts_left": run.scripts_left,
        "server_cpu_cores": round(server_cpu / elapsed, 2) if elapsed else 0.0,
        "client_cpu_cores": round(client_cpu / elapsed, 2) if elapsed else 0.0,
        "by_scenario": by_scenario,
    }


def knee(levels: list[dict]) -> dict:
    """Where throughput stops growing by at least 10 % from one level to the next."""
    ordered = sorted(levels, key=lambda level: level["usagers"])
    if not ordered:
        return {}
    at = ordered[-1]
    following = None
    for current, nxt in zip(ordered, ordered[1:], strict=False):
        if nxt["msg_per_s"] < current["msg_per_s"] * KNEE_GAIN:
            at, following = current, nxt
            break
    best = max(ordered, key=lambda level: level["msg_per_s"])
    return {
        "usagers": at["usagers"],
        "msg_per_s": at["msg_per_s"],
        "p95_ms": at["p95_ms"],
        "next_usagers": following["usagers"] if following else None,
        "next_msg_per_s": following["msg_per_s"] if following else None,
        "next_p95_ms": following["p95_ms"] if following else None,
        "reached": following is not None,
        "best_usagers": best["usagers"],
        "best_msg_per_s": best["msg_per_s"],
    }


# --- Stacks -----------------------------------------------------------------------------------


def free_ports(count: int) -> int:
    """First of ``count`` consecutive free TCP ports on 127.0.0.1."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        try:
            with contextlib.ExitStack() as held:
                for port in range(first, first + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class StackSpec:
    """A stack to measure: its label, profile, environment and model."""

    label: str
    profile: str
    env: dict[str, str]
    model: Path

    @property
    def scale(self) -> tuple[int, int]:
        """(replicas, workers per replica)."""
        return int(self.env.get("RASA_REPLICAS", "1")), int(self.env.get("RASA_WORKERS", "1"))


def common_env(work: Path, replicas: int, workers: int) -> dict[str, str]:
    """Ports, SQLite files and raised rate limits for one stack."""
    rasa = free_ports(replicas)
    taken = set(range(rasa, rasa + replicas))
    actions = portal = rasa
    while actions in taken:
        actions = free_ports(1)
    taken.add(actions)
    while portal in taken:
        portal = free_ports(1)
    env = {
        "ASSISTANT_HOST": "127.0.0.1",
        "RASA_PORT": str(rasa),
        "ACTIONS_PORT": str(actions),
        "PORTAL_PORT": str(portal),
        "CORS_ORIGINS": f"http://127.0.0.1:{portal}",
        "TRACKER_DB_URL": f"sqlite:///{work / 'tracker.db'}",
        "FEEDBACK_DB_URL": f"sqlite:///{work / 'feedback.db'}",
        "STORY_OUTBOX_PATH": str(work / "story_outbox.jsonl"),
        "LOG_LEVEL": "INFO",
        "RATE_LIMIT_USAGER_PER_MIN": HIGH_LIMIT,
        "RATE_LIMIT_IP_PER_MIN": HIGH_LIMIT,
        "RASA_REPLICAS": str(replicas),
        "RASA_WORKERS": str(workers),
    }
    if replicas * workers > 1:
        env["LOCK_STORE_URL"] = load_profile("prod", {})["LOCK_STORE_URL"]
    return env


def _admin_engine(admin_url: str):
    from sqlalchemy import create_engine

    return create_engine(
        admin_url, future=True, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )


def create_database(admin_url: str, name: str) -> Callable[[], None]:
    """Create database ``name``; return the function dropping it."""
    from sqlalchemy import text

    engine = _admin_engine(admin_url)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
        print(f"  dropped database {name}", flush=True)

    return drop


def delete_queue_later(broker_url: str, queue: str) -> Callable[[], None]:
    """Return the function deleting RabbitMQ queue ``queue``."""

    async def _delete() -> None:
        import aio_pika

        connection = await aio_pika.connect(broker_url, timeout=5)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(queue)

    def delete() -> None:
        try:
            asyncio.run(_delete())
            print(f"  deleted queue {queue}", flush=True)
        except Exception as err:  # noqa: BLE001 - the queue may never have been declared
            print(f"  queue {queue} not deleted: {type(err).__name__}: {err}", flush=True)

    return delete


def prod_spec(
    work: Path,
    model: Path,
    scale: tuple[int, int],
    admin_url: str,
    cleanups: list[Callable[[], None]],
) -> StackSpec:
    """The production profile with throw-away databases and queue (removed by ``cleanups``)."""
    from sqlalchemy.engine import make_url

    profile = load_profile("prod", {})
    tag = uuid.uuid4().hex[:8]
    env = common_env(work, *scale)
    spec = StackSpec("prod", "prod", env, model)
    admin = make_url(admin_url)
    for variable, driver in (("TRACKER_DB_URL", "postgresql"), ("FEEDBACK_DB_URL", None)):
        name = f"bench_load_{variable.split('_')[0].lower()}_{tag}"
        cleanups.append(create_database(admin_url, name))
        url = admin.set(database=name)
        if driver:
            url = url.set(drivername=driver)
        env[variable] = url.render_as_string(hide_password=False)
    lock = profile["LOCK_STORE_URL"]
    env["LOCK_STORE_URL"] = lock
    env["RATE_LIMIT_REDIS_URL"] = f"{lock.rsplit('/', 1)[0]}/{RATE_LIMIT_REDIS_DB}"
    env["EVENT_BROKER_URL"] = profile["EVENT_BROKER_URL"]
    env["EVENT_BROKER_QUEUE"] = f"bench_load_{tag}"
    cleanups.append(delete_queue_later(env["EVENT_BROKER_URL"], env["EVENT_BROKER_QUEUE"]))
    return spec


def unavailable_text() -> str:
    """Text of ``utter_service_unavailable`` in domain.yml."""
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"]["utter_service_unavailable"][0]["text"]


async def measure(spec: StackSpec, args: argparse.Namespace, work: Path) -> dict:
    """Start one stack, run every level, stop it; return its figures."""
    replicas, workers = spec.scale
    print(
        f"\n== {spec.label}: profile {spec.profile}, {replicas} replica(s) x {workers} worker(s), "
        f"model {spec.model.name}",
        flush=True,
    )
    stack = Stack(env=spec.env, model=spec.model, log_dir=work / "log")
    started = time.monotonic()
    stack.start()
    sampler = None
    try:
        try:
            stack.wait_ready(timeout_s=args.ready_timeout)
        except Exception:
            for log in sorted((work / "log").glob("*.log")):
                print(f"==== {log.name}\n{log.read_text(errors='replace')[-3000:]}", flush=True)
            raise
        ready_s = time.monotonic() - started
        print(f"  all processes ready in {ready_s:.1f} s", flush=True)
        sampler = MemorySampler({name: p.pid for name, p in stack.processes.items()})
        sampler.start()
        urls = [f"{base}/webhooks/rest/webhook" for base in stack.settings.rasa_urls]
        unavailable = unavailable_text()
        prime = max(4, 2 * replicas * workers)
        print(f"  priming every worker: {prime} usagers for {args.warmup:.0f} s", flush=True)
        primed = await run_level(urls, prime, 0, args.warmup, unavailable, sampler)
        levels = []
        for usagers in args.levels:
            level = await run_level(
                urls, usagers, args.warmup, args.duration, unavailable, sampler, args.think_time
            )
            levels.append(level)
            print(format_level(level), flush=True)
            if level["error_kinds"]:
                print(f"      errors: {level['error_kinds']}", flush=True)
    finally:
        if sampler is not None:
            sampler.stop()
        stack.stop()
    memory = sampler.report()
    return {
        "profile": spec.profile,
        "replicas": replicas,
        "workers": workers,
        "model": spec.model.name,
        "ready_s": round(ready_s, 1),
        "prime_errors": primed["errors"],
        "levels": levels,
        "knee": knee(levels),
        "memory": memory,
        "max_worker_mb": max(rasa_worker_peaks(memory), default=0.0),
    }


# --- Report -----------------------------------------------------------------------------------


def format_level(level: dict) -> str:
    """One line of figures for a level."""
    return (
        f"  N={level['usagers']:<3} {level['msg_per_s']:7.1f} msg/s  "
        f"p50 {level['p50_ms']:6.0f} ms  p95 {level['p95_ms']:6.0f} ms  "
        f"p99 {level['p99_ms']:6.0f} ms  errors {level['errors']}  "
        f"off-script {level['off_script_replies']}/{level['turns']} "
        f"({level['scripts_left']} conv.)  "
        f"conv/s {level['conversations_per_s']:.2f}  CPU servers {level['server_cpu_cores']:.2f} "
        f"client {level['client_cpu_cores']:.2f}"
    )


def print_stack(label: str, figures: dict) -> None:
    """Print the knee and the memory of one stack."""
    k = figures["knee"]
    print(f"\n{label}: ready in {figures['ready_s']:.1f} s", flush=True)
    for level in figures["levels"]:
        print(format_level(level))
    if k.get("reached"):
        print(
            f"  knee at N={k['usagers']}: {k['msg_per_s']:.1f} msg/s (p95 {k['p95_ms']:.0f} ms); "
            f"N={k['next_usagers']} gives {k['next_msg_per_s']:.1f} msg/s "
            f"(p95 {k['next_p95_ms']:.0f} ms)"
        )
    elif k:
        print(f"  no knee up to N={k['usagers']}: throughput still grows by 10 % or more per level")
    print("  peak resident memory, RSS in MB (PSS at the end: shared pages split):")
    for name, tree in figures["memory"].items():
        parts = ", ".join(
            f"{p['role']} {p['peak_mb']:.0f} (PSS {p['pss_end_mb']:.0f})" for p in tree["processes"]
        )
        print(f"    {name:<10} whole tree {tree['tree_peak_mb']:7.0f}  ({parts})")


def targets(figures: dict, baseline: dict | None, think_s: float = 0.0) -> list[dict]:
    """The issue's targets for one measured stack (they assume no think time)."""
    at20 = next((lv for lv in figures["levels"] if lv["usagers"] == TARGET_P95_LEVEL), None)
    errors = figures["prime_errors"] + sum(lv["errors"] for lv in figures["levels"])
    rows = [
        {
            "target": f"p95 <= {TARGET_P95_MS:.0f} ms at {TARGET_P95_LEVEL} conversations"
            + (f" (think time {think_s:g} s, not the issue's setting)" if think_s else ""),
            "value": at20["p95_ms"] if at20 else None,
            "ok": at20["p95_ms"] <= TARGET_P95_MS if at20 else None,
        },
        {"target": "zero errors", "value": errors, "ok": errors == 0},
        {
            "target": f"memory per Rasa worker <= {TARGET_WORKER_MB:.0f} MB",
            "value": figures["max_worker_mb"],
            "ok": figures["max_worker_mb"] <= TARGET_WORKER_MB,
        },
        {
            "target": f"all processes ready <= {TARGET_READY_S:.0f} s",
            "value": figures["ready_s"],
            "ok": figures["ready_s"] <= TARGET_READY_S,
        },
    ]
    if baseline is not None:
        ratio = throughput_ratio(figures, baseline)
        rows.insert(
            1,
            {
                "target": f"best throughput >= {TARGET_RATIO:.0f}x the baseline's",
                "value": ratio,
                "ok": ratio >= TARGET_RATIO if ratio is not None else None,
            },
        )
    return rows


def throughput_ratio(figures: dict, baseline: dict) -> float | None:
    """Best msg/s of a stack over the baseline's best msg/s."""
    best, base = figures["knee"].get("best_msg_per_s"), baseline["knee"].get("best_msg_per_s")
    return round(best / base, 2) if best and base else None


def print_summary(results: dict) -> None:
    """Per stack figures, comparison with the baseline, targets."""
    stacks = results["stacks"]
    for label, figures in stacks.items():
        print_stack(label, figures)
    for label, reason in results["failed"].items():
        print(f"\n{label}: FAILED ({reason})")
    baseline = stacks.get("baseline")
    print("\nSummary")
    for label, figures in stacks.items():
        k = figures["knee"]
        print(
            f"  {label:<9} {figures['replicas']}x{figures['workers']}"
            f"  ready {figures['ready_s']:5.1f} s"
            f"  best {k.get('best_msg_per_s', 0):6.1f} msg/s at N={k.get('best_usagers')}"
            f"  knee N={k.get('usagers')}  max worker {figures['max_worker_mb']:.0f} MB"
        )
    for label, rows in results["targets"].items():
        if baseline is not None:
            ratio = throughput_ratio(stacks[label], baseline)
            print(f"\n{label} / baseline best throughput: {ratio}x")
        print(f"Targets ({label}):")
        for row in rows:
            state = {True: "ok    ", False: "MISSED", None: "n/a   "}[row["ok"]]
            print(f"  [{state}] {row['target']}: {row['value']}")


def _levels(raw: str) -> list[int]:
    try:
        values = sorted({int(v) for v in raw.split(",") if v.strip()})
    except ValueError:
        values = []
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError("expected positive whole numbers, e.g. 1,5,20,50")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_load",
        description="Closed-loop load test of the assistant (scripted French conversations) "
        "against a baseline trained with Rasa's default configuration.",
    )
    parser.add_argument("--profile", choices=("prod", "embedded", "both"), default="prod")
    parser.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the baseline (Rasa's default config, 1 worker; trains it once)",
    )
    parser.add_argument(
        "--levels", type=_levels, default=[1, 5, 20, 50], help="concurrent usagers (1,5,20,50)"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="measured s per level (30)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up s per level (5)")
    parser.add_argument(
        "--think-time",
        type=float,
        default=0.0,
        help="mean s a usager pauses before its next message (0: no pause, the issue's targets)",
    )
    parser.add_argument("--workers", type=int, help="Sanic workers per replica (profile's)")
    parser.add_argument("--replicas", type=int, help="Rasa replicas (profile's)")
    parser.add_argument(
        "--postgres-url",
        default=ADMIN_POSTGRES_URL,
        help="admin connection creating the prod profile's throw-away databases",
    )
    parser.add_argument("--ready-timeout", type=float, default=300.0, help="s to wait (300)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON figures")
    args = parser.parse_args(argv)
    for name in ("workers", "replicas"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    if args.duration <= 0 or args.warmup < 0 or args.think_time < 0:
        parser.error("--duration must be positive, --warmup and --think-time not negative")
    return args


def stack_specs(
    args: argparse.Namespace, work: Path, cleanups: list[Callable[[], None]]
) -> list[StackSpec]:
    """The stacks to measure, in order (databases and queue created for prod)."""
    model = model_cache.ensure_model()
    prod = load_profile("prod", {})
    specs = []
    if args.profile in ("prod", "both"):
        replicas = args.replicas or int(prod["RASA_REPLICAS"])
        workers = args.workers or int(prod["RASA_WORKERS"])
        (work / "prod").mkdir()
        specs.append(
            prod_spec(work / "prod", model, (replicas, workers), args.postgres_url, cleanups)
        )
    if args.profile in ("embedded", "both"):
        (work / "embedded").mkdir()
        env = common_env(work / "embedded", args.replicas or 1, args.workers or 1)
        specs.append(StackSpec("embedded", "embedded", env, model))
    if args.baseline:
        baseline_model = model_cache.ensure_model(config=BASELINE_CONFIG)
        (work / "baseline").mkdir()
        env = common_env(work / "baseline", 1, 1)
        specs.append(StackSpec("baseline", "embedded", env, baseline_model))
    return specs


async def run_all(args: argparse.Namespace, specs: list[StackSpec], work: Path) -> dict:
    """Measure every stack in turn (one at a time: they would share the 2 cores)."""
    stacks, failed = {}, {}
    for spec in specs:
        try:
            stacks[spec.label] = await measure(spec, args, work / spec.label)
        except Exception as err:  # noqa: BLE001 - report it, measure the other stacks
            failed[spec.label] = f"{type(err).__name__}: {err}"
            print(f"  {spec.label} FAILED: {failed[spec.label]}", flush=True)
    baseline = stacks.get("baseline")
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },
        "options": {
            "profile": args.profile,
            "baseline": args.baseline,
            "levels": args.levels,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "think_time_s": args.think_time,
            "scripts": [s.name for s in SCRIPTS],
        },
        "stacks": stacks,
        "failed": failed,
        "throughput_ratio_to_baseline": {
            label: throughput_ratio(figures, baseline)
            for label, figures in stacks.items()
            if baseline is not None and label != "baseline"
        },
        "targets": {
            label: targets(figures, baseline, args.think_time)
            for label, figures in stacks.items()
            if label != "baseline"
        },
    }


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(143)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, write the JSON figures."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that the stacks are stopped and cleaned
    os.chdir(ROOT)
    work = Path(tempfile.mkdtemp(prefix="bench_load_"))
    cleanups: list[Callable[[], None]] = []
    try:
        results = asyncio.run(run_all(args, stack_specs(args, work, cleanups), work))
    finally:
        print("Cleaning up...", flush=True)
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as err:  # noqa: BLE001 - report and go on cleaning
                print(f"  cleanup failed: {type(err).__name__}: {err}", flush=True)
        shutil.rmtree(work, ignore_errors=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    print_summary(results)
    print(f"\nFigures written to {args.output}")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
