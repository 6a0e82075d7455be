"""The load benchmark's own logic: knee, percentiles, balancing, scripts, memory of forked trees."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bench.bench_load import Balancer, knee, percentile
from bench.load_conversations import FIRST_INFORM, SCRIPTS, Turn, button_payload, on_script
from bench.process_memory import MemorySampler, rasa_worker_peaks

ROOT = Path(__file__).resolve().parents[2]


def level(usagers: int, msg_per_s: float, p95_ms: float) -> dict:
    return {"usagers": usagers, "msg_per_s": msg_per_s, "p95_ms": p95_ms}


def test_knee_is_the_last_level_before_throughput_stops_growing_by_ten_percent():
    levels = [level(1, 10, 50), level(5, 40, 90), level(20, 42, 400), level(50, 41, 1200)]
    found = knee(levels)
    assert (found["usagers"], found["next_usagers"], found["next_p95_ms"]) == (5, 20, 400)
    assert found["reached"] is True
    assert (found["best_usagers"], found["best_msg_per_s"]) == (20, 42)


def test_no_knee_while_throughput_keeps_growing():
    found = knee([level(1, 10, 50), level(5, 30, 60), level(20, 60, 90)])
    assert found["reached"] is False and found["usagers"] == 20


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) == 0.0


def test_balancer_picks_the_replica_with_fewest_requests_in_flight_then_alternates():
    balancer = Balancer(["a", "b"])
    first, second = balancer.acquire(), balancer.acquire()
    assert {first, second} == {0, 1}
    balancer.release(second)
    assert balancer.acquire() == second
    balancer.release(0)
    balancer.release(1)
    assert [balancer.acquire() for _ in range(2)] in ([0, 1], [1, 0])


def test_button_turns_take_the_payload_from_the_previous_reply():
    reply = [
        {
            "text": "Avez-vous agi de bonne foi ?",
            "buttons": [
                {"title": "Oui", "payload": '/inform{"de_good_faith":"yes"}'},
                {"title": "Une autre commune", "payload": "/find_france_services"},
            ],
        }
    ]
    assert button_payload(reply, FIRST_INFORM) == '/inform{"de_good_faith":"yes"}'
    assert button_payload(reply, "Une autre commune") == "/find_france_services"
    assert button_payload([{"text": "Au revoir"}], FIRST_INFORM) is None
    assert on_script(Turn("x", expect=("bonne foi",)), reply)
    assert not on_script(Turn("x", expect=("ANTS",)), reply)


def test_every_script_sends_something_on_each_turn():
    assert {s.name for s in SCRIPTS} == {"orientation", "france_services", "droit_erreur", "story"}
    for script in SCRIPTS:
        assert all(turn.say or turn.button for turn in script.turns), script.name


def test_baseline_config_is_rasa_default_config_in_french():
    spec = importlib.util.find_spec("rasa")
    default_path = Path(spec.origin).parent / "engine/recipes/config_files/default_config.yml"
    default = yaml.safe_load(default_path.read_text(encoding="utf-8"))
    baseline = yaml.safe_load((ROOT / "bench/baseline_config.yml").read_text(encoding="utf-8"))
    assert baseline["language"] == "fr" and baseline["recipe"] == default["recipe"]
    assert baseline["pipeline"] == default["pipeline"]
    rule_policy = {"name": "RulePolicy", "restrict_rules": False}
    expected = [rule_policy if p["name"] == "RulePolicy" else p for p in default["policies"]]
    assert baseline["policies"] == expected


def test_sampler_tells_forked_workers_from_their_parent():
    code = (
        "import os, time\n"
        "data = b'x' * (40 << 20)\n"  # 40 MB in the parent before the fork (shared)
        "read, write = os.pipe()\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    more = b'y' * (30 << 20)\n"  # the worker's own 30 MB
        "    os.write(write, b'1')\n"
        "    time.sleep(30)\n"
        "    os._exit(0)\n"
        "os.read(read, 1)\n"
        "print(child, flush=True)\n"
        "time.sleep(30)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(proc.stdout.readline())
        sampler = MemorySampler({"rasa": proc.pid}, interval_s=0.05)
        sampler.start()
        time.sleep(0.3)
        sampler.stop()
        report = sampler.report()["rasa"]
    finally:
        if child:
            os.kill(child, signal.SIGKILL)
        proc.kill()
        proc.wait()
    roles = {p["role"]: p for p in report["processes"]}
    assert set(roles) == {"main", "worker 1"}
    assert roles["worker 1"]["peak_mb"] > roles["main"]["peak_mb"] + 20
    assert roles["worker 1"]["uss_end_mb"] > 25
    assert report["tree_peak_mb"] >= roles["main"]["peak_mb"] + roles["worker 1"]["peak_mb"] - 1
    assert rasa_worker_peaks({"rasa": report}) == [roles["worker 1"]["peak_mb"]]


def test_think_time_spaces_a_usagers_messages_and_is_named_in_the_target():
    import asyncio

    import httpx

    from bench.bench_load import LevelRun, targets, usager

    sent: list[float] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        sent.append(time.perf_counter())
        return httpx.Response(200, json=[{"text": "Bonjour, que puis-je faire pour vous ?"}])

    async def play() -> None:
        run = LevelRun("t", "indisponible", Balancer(["http://rasa/webhook"]), think_s=0.2)
        async with httpx.AsyncClient(transport=httpx.MockTransport(rasa)) as client:
            task = asyncio.create_task(usager(0, client, run))
            await asyncio.sleep(1.5)
            run.stopping = True
            await task

    asyncio.run(play())
    gaps = [b - a for a, b in zip(sent, sent[1:], strict=False)]
    assert 4 <= len(sent) <= 16
    assert all(0.09 <= gap <= 0.6 for gap in gaps), gaps  # 0.5 to 1.5 times 0.2 s, + slack
    figures = {"levels": [level(20, 6.0, 80.0) | {"errors": 0}], "prime_errors": 0}
    figures |= {"max_worker_mb": 900.0, "ready_s": 40.0}
    row = targets(figures, None, think_s=3.0)[0]
    assert row["target"].endswith("(think time 3 s, not the issue's setting)")
    assert row["ok"] is True
