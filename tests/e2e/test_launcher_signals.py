"""``make run``'s launcher stops every process it started, even when stopped during startup."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _children_alive(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (every child inherits the launcher's)."""
    alive = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
            state = (proc / "stat").read_text().split(") ", 1)[1][0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            alive.append(int(proc.name))
    return alive


def test_sigterm_while_starting_stops_every_child(tmp_path):
    from scripts import model_cache

    model_cache.ensure_model()
    marker = str(tmp_path / "tracker.db")
    env = {
        **os.environ,
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "PORTAL_PORT": str(free_port()),
        "TRACKER_DB_URL": f"sqlite:///{marker}",
        "FEEDBACK_DB_URL": f"sqlite:///{tmp_path / 'feedback.db'}",
        "STORY_OUTBOX_PATH": str(tmp_path / "outbox.jsonl"),
    }
    launcher = subprocess.Popen(
        [sys.executable, "-m", "scripts.launch", "--no-train"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(_children_alive(marker)) < 4:  # the launcher and its three servers
        assert time.monotonic() < deadline, "the launcher started nothing"
        time.sleep(0.2)
    launcher.send_signal(signal.SIGTERM)  # long before the model is loaded
    output, _ = launcher.communicate(timeout=15)  # loading the model alone takes longer
    assert "Stopped." in output, output
    time.sleep(0.5)
    assert launcher.returncode == 0
    assert _children_alive(marker) == []
