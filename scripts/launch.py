"""Start the Rasa server, the action server and the portal; stop them all on Ctrl-C.

Used by ``make run`` and by the end-to-end tests (``Stack``), so both run the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import settings as settings_module  # noqa: E402


@dataclass
class Stack:
    """The three processes of the assistant, configured from an environment mapping."""

    env: Mapping[str, str]
    model: Path
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.settings = settings_module.load(self.env)

    def _endpoints(self) -> tuple[Path, dict[str, str]]:
        from scripts import endpoints

        if endpoints.is_embedded(self.settings):
            return ROOT / "endpoints.yml", endpoints.build(self.settings)[1]
        return endpoints.write(self.settings, self.log_dir)

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env.update(self._endpoints()[1])
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("RASA_TELEMETRY_ENABLED", "false")
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def commands(self) -> dict[str, list[str]]:
        """Return the command line of each process."""
        s = self.settings
        rasa = [
            sys.executable,
            "-m",
            "rasa",
            "run",
            "--model",
            str(self.model),
            "--endpoints",
            str(self._endpoints()[0]),
            "--credentials",
            "credentials.yml",
            "--interface",
            s.host,
            "--port",
            str(s.rasa_port),
            "--log-file",
            str(self.log_dir / "rasa-internal.log"),
            "--cors",
            *s.cors_origins,
        ]
        if s.rasa_api_token:
            rasa += ["--enable-api", "--auth-token", s.rasa_api_token]
        actions = [sys.executable, "-m", "bot.action_server"]
        portal = [sys.executable, "-m", "feedback_store.portal"]
        return {"actions": actions, "rasa": rasa, "portal": portal}

    def health_urls(self) -> dict[str, str]:
        """URL answering 200 once each process is ready."""
        s = self.settings
        return {
            "actions": f"http://{s.host}:{s.actions_port}/health",
            "rasa": f"http://{s.host}:{s.rasa_port}/webhooks/rest/",
            "portal": f"http://{s.host}:{s.portal_port}/health",
        }

    def start(self) -> None:
        """Start every process, logs under ``log_dir``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = self._child_env()
        for name, cmd in self.commands().items():
            log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
            self.processes[name] = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_tracker_store(self) -> None:
        """Fail unless Rasa really uses the scrubbing tracker store (no silent fallback)."""
        from bot.tracker_store import ACTIVE_MARKER

        log = (self.log_dir / "rasa.log").read_text(encoding="utf-8", errors="replace")
        if ACTIVE_MARKER not in log:
            raise RuntimeError(
                "Rasa is not using bot.tracker_store.ScrubbingSQLTrackerStore (it may have "
                f"fallen back to the in-memory store); see {self.log_dir / 'rasa.log'}"
            )

    def check_cors(self) -> None:
        """Fail unless Rasa answers a browser preflight from the first allowed origin."""
        origin = self.settings.cors_origins[0] if self.settings.cors_origins else None
        if origin is None:
            return
        reply = httpx.options(
            f"{self.settings.rasa_url}/webhooks/rest/webhook",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            timeout=5,
        )
        if reply.headers.get("access-control-allow-origin") != origin:
            raise RuntimeError(
                f"Rasa does not allow the origin {origin} (CORS): the widget could not talk to it."
            )

    def wait_ready(self, timeout_s: float = 180.0) -> float:
        """Wait until every process answers its health URL; return the seconds it took."""
        started = time.monotonic()
        pending = dict(self.health_urls())
        while pending:
            for name, url in list(pending.items()):
                proc = self.processes[name]
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with code {proc.returncode}; see {self.log_dir / name}.log"
                    )
                try:
                    if httpx.get(url, timeout=1.0).status_code == 200:
                        print(
                            f"  {name} ready after {time.monotonic() - started:.0f} s", flush=True
                        )
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"not ready after {timeout_s:.0f} s: {', '.join(pending)}")
            if pending:
                time.sleep(0.5)
        self.check_tracker_store()
        self.check_cors()
        return time.monotonic() - started

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after 10 s)."""
        for proc in self.processes.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main(argv: list[str] | None = None) -> int:
    """Train if needed, start everything, print the URLs and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.launch",
        description="Start the Rasa server, the action server and the portal (see README).",
    )
    parser.add_argument("--no-train", action="store_true", help="fail instead of training")
    args = parser.parse_args(argv)
    try:
        settings = settings_module.load()
    except settings_module.SettingsError as err:
        print(f"Invalid configuration: {err}", file=sys.stderr)
        return 2
    from scripts import model_cache

    os.chdir(ROOT)
    (ROOT / "var").mkdir(exist_ok=True)
    model = model_cache.model_path()
    if not model.exists():
        if args.no_train:
            print(f"No trained model at {model}.", file=sys.stderr)
            return 1
        model = model_cache.ensure_model()
    stack = Stack(env=dict(os.environ), model=model, log_dir=ROOT / "var" / "log")
    stop_requested = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print("Starting the action server, the Rasa server and the portal...", flush=True)
    stack.start()
    try:
        took = stack.wait_ready()
        s = settings
        print(f"\nAll processes ready in {took:.0f} s. Logs in var/log/.", flush=True)
        print(f"  Chat (REST webhook): {s.rasa_url}/webhooks/rest/webhook", flush=True)
        print(f"  Chat (socket.io):    {s.rasa_url}/socket.io", flush=True)
        print(f"  Action server:       http://{s.host}:{s.actions_port}/health", flush=True)
        print(
            f"  Portal:              {s.portal_url}/  (health: {s.portal_url}/health)", flush=True
        )
        print("Press Ctrl-C to stop.", flush=True)
        while not stop_requested:
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    print(f"{name} stopped (code {proc.returncode}); see var/log/{name}.log")
                    stop_requested = True
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as err:
        print(f"Startup failed: {err}", file=sys.stderr)
        stack.stop()
        return 1
    print("\nStopping...", flush=True)
    stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
