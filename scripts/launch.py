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

RASA_UP_LINE = "Rasa server is up and running."
# Processes with no health URL: ready once their log holds this line.
LOG_READY_LINES = {"analytics": "analytics consumer ready"}
PROFILES = ROOT / "profiles"


@dataclass
class Stack:
    """The three processes of the assistant, configured from an environment mapping."""

    env: Mapping[str, str]
    model: Path
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    log_offsets: dict[str, int] = field(default_factory=dict)

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
        # Many TensorFlow threads in several workers on a small machine: fewer malloc arenas keep
        # each worker's memory down, one TF thread per op avoids oversubscribing the cores.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        env.setdefault("TF_INTRA_OP_PARALLELISM_THREADS", "1")
        env.setdefault("TF_INTER_OP_PARALLELISM_THREADS", "1")
        return env

    def rasa_names(self) -> list[str]:
        """Process name of each Rasa replica: ``rasa``, ``rasa-2``, ..."""
        return ["rasa"] + [f"rasa-{i + 1}" for i in range(1, self.settings.rasa_replicas)]

    def _rasa_command(self, replica: int) -> list[str]:
        s = self.settings
        name = self.rasa_names()[replica]
        command = [
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
            str(s.rasa_port + replica),
            "--log-file",
            str(self.log_dir / f"{name}-internal.log"),
            "--cors",
            *s.cors_origins,
        ]
        if s.rasa_api_token:
            command += ["--enable-api", "--auth-token", s.rasa_api_token]
        return command

    def commands(self) -> dict[str, list[str]]:
        """Return the command line of each process."""
        commands = {"actions": [sys.executable, "-m", "bot.action_server"]}
        for replica, name in enumerate(self.rasa_names()):
            commands[name] = self._rasa_command(replica)
        commands["portal"] = [sys.executable, "-m", "feedback_store.portal"]
        if self.settings.event_broker_url:
            # Events reach the broker already scrubbed by the tracker store (rules + spaCy NER):
            # the consumer scrubs them again with the rules only, without a second spaCy.
            commands["analytics"] = [
                sys.executable,
                "-m",
                "feedback_store.analytics_consumer",
                "--no-ner",
            ]
        return commands

    def health_urls(self) -> dict[str, str]:
        """URL answering 200 once each process is ready (the consumer has none)."""
        s = self.settings
        urls = {"actions": f"http://{s.host}:{s.actions_port}/health"}
        for name, base in zip(self.rasa_names(), s.rasa_urls, strict=True):
            urls[name] = f"{base}/webhooks/rest/"
        urls["portal"] = f"http://{s.host}:{s.portal_port}/health"
        return urls

    def process_env(self, name: str) -> dict[str, str]:
        """Environment of one process: the shared one, plus what only Rasa reads."""
        env = self._child_env()
        if name.startswith("rasa"):
            env["SANIC_WORKERS"] = str(self.settings.rasa_workers)
            if not self.settings.rasa_api_token:
                # Sanic refuses larger bodies before reading them (413). Not with Rasa's HTTP API
                # on (model uploads), nor for the action server (it receives whole trackers).
                env.setdefault("SANIC_REQUEST_MAX_SIZE", str(self.settings.webhook_max_bytes))
        return env

    def start(self) -> None:
        """Start every process, logs under ``log_dir``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, cmd in self.commands().items():
            path = self.log_dir / f"{name}.log"
            self.log_offsets[name] = path.stat().st_size if path.exists() else 0
            log = open(path, "ab")  # noqa: SIM115 - owned by the child
            self.processes[name] = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.process_env(name),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _log(self, name: str) -> str:
        """What one process wrote since it was last started (logs are appended across runs)."""
        data = (self.log_dir / f"{name}.log").read_bytes()[self.log_offsets.get(name, 0) :]
        return data.decode("utf-8", errors="replace")

    def check_tracker_store(self) -> None:
        """Fail unless every Rasa worker uses the scrubbing tracker store (no silent fallback)."""
        from bot.tracker_store import ACTIVE_MARKER

        for name in self.rasa_names():
            if ACTIVE_MARKER not in self._log(name):
                raise RuntimeError(
                    f"{name} is not using bot.tracker_store.ScrubbingSQLTrackerStore (it may have "
                    f"fallen back to the in-memory store); see {self.log_dir / name}.log"
                )

    def rasa_workers_ready(self, name: str) -> bool:
        """Whether every Sanic worker of one replica has loaded the model and is serving."""
        return self._log(name).count(RASA_UP_LINE) >= self.settings.rasa_workers

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

    def is_ready(self, name: str) -> bool:
        """Whether one process serves: its health URL (and every Rasa worker), or its log line."""
        url = self.health_urls().get(name)
        if url is None:
            return LOG_READY_LINES[name] in self._log(name)
        try:
            ok = httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False
        return ok and (not name.startswith("rasa") or self.rasa_workers_ready(name))

    def wait_ready(self, timeout_s: float = 180.0) -> float:
        """Wait until every process is ready; return the seconds it took."""
        started = time.monotonic()
        pending = list(self.processes)
        while pending:
            for name in list(pending):
                proc = self.processes[name]
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with code {proc.returncode}; see {self.log_dir / name}.log"
                    )
                if self.is_ready(name):
                    print(f"  {name} ready after {time.monotonic() - started:.0f} s", flush=True)
                    pending.remove(name)
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"not ready after {timeout_s:.0f} s: {', '.join(pending)}")
            if pending:
                time.sleep(0.5)
        self.check_tracker_store()
        self.check_cors()
        return time.monotonic() - started

    def kill(self, name: str) -> None:
        """Kill one process and its children at once (SIGKILL to its group), like a crash."""
        proc = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def start_one(self, name: str) -> None:
        """Start one process again (same command, environment and log file), e.g. after kill."""
        proc = self.processes.get(name)
        if proc is not None and proc.poll() is None:
            raise RuntimeError(f"{name} is still running (pid {proc.pid})")
        env = self.process_env(name)
        path = self.log_dir / f"{name}.log"
        self.log_offsets[name] = path.stat().st_size if path.exists() else 0
        log = open(path, "ab")  # noqa: SIM115 - owned by the child
        self.processes[name] = subprocess.Popen(
            self.commands()[name],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_one(self, name: str, timeout_s: float = 180.0) -> float:
        """Wait until one (re)started process is ready (:meth:`is_ready`); return the seconds."""
        started = time.monotonic()
        while not self.is_ready(name):
            proc = self.processes[name]
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {proc.returncode}; see {self.log_dir / name}.log"
                )
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{name} not ready after {timeout_s:.0f} s")
            time.sleep(0.25)
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


def load_profile(name: str, environ: Mapping[str, str]) -> dict[str, str]:
    """Return ``environ`` completed by ``profiles/<name>.env`` (set variables win).

    Raises:
        FileNotFoundError: No such profile.
    """
    path = PROFILES / f"{name}.env"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.env")))
        raise FileNotFoundError(f"unknown profile {name!r} (known: embedded, {known})")
    env = dict(environ)
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env.setdefault(key.strip(), value.strip())
    return env


def print_urls(settings: settings_module.Settings, took: float) -> None:
    """Print where each process answers."""
    s = settings
    print(f"\nAll processes ready in {took:.0f} s. Logs in var/log/.", flush=True)
    for i, base in enumerate(s.rasa_urls, start=1):
        label = f"Chat, Rasa replica {i}" if s.rasa_replicas > 1 else "Chat (REST webhook)"
        print(f"  {label + ':':21}{base}/webhooks/rest/webhook", flush=True)
    if s.rasa_replicas > 1 or s.rasa_workers > 1:
        print(
            f"  ({s.rasa_replicas} Rasa replicas x {s.rasa_workers} workers; put nginx in front: "
            "deploy/nginx.conf)",
            flush=True,
        )
    print(f"  Chat (socket.io):    {s.rasa_url}/socket.io", flush=True)
    print(f"  Action server:       http://{s.host}:{s.actions_port}/health", flush=True)
    print(f"  Portal:              {s.portal_url}/  (health: {s.portal_url}/health)", flush=True)
    if s.event_broker_url:
        print("  Analytics consumer:  reading the rasa_events queue (see var/log/analytics.log)")


def main(argv: list[str] | None = None) -> int:
    """Train if needed, start everything, print the URLs and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.launch",
        description="Start the Rasa server(s), the action server and the portal (see README).",
    )
    parser.add_argument("--no-train", action="store_true", help="fail instead of training")
    parser.add_argument(
        "--profile",
        default="embedded",
        help="embedded (default: SQLite, one Rasa process) or prod (profiles/prod.env: "
        "PostgreSQL, Redis lock store, RabbitMQ broker, replicas and workers)",
    )
    args = parser.parse_args(argv)
    try:
        environ = (
            dict(os.environ)
            if args.profile in ("", "embedded")
            else load_profile(args.profile, os.environ)
        )
        settings = settings_module.load(environ)
    except FileNotFoundError as err:
        print(f"Invalid profile: {err}", file=sys.stderr)
        return 2
    except settings_module.SettingsError as err:
        print(f"Invalid configuration: {err}", file=sys.stderr)
        return 2
    from scripts import model_cache, preflight

    checks = preflight.run_checks(settings)
    for check in checks:
        print(f"  {'ok     ' if check.ok else 'MISSING'} {check.name}: {check.detail}", flush=True)
    if not all(c.ok for c in checks):
        print("Startup stopped: a service above is missing.", file=sys.stderr)
        return 1
    os.chdir(ROOT)
    (ROOT / "var").mkdir(exist_ok=True)
    model = model_cache.model_path()
    if not model.exists():
        if args.no_train:
            print(f"No trained model at {model}.", file=sys.stderr)
            return 1
        model = model_cache.ensure_model()
    stack = Stack(env=environ, model=model, log_dir=ROOT / "var" / "log")

    class _Stop(Exception):
        """Ctrl-C or SIGTERM, at any moment (also while waiting for readiness)."""

    def _on_signal(signum: int, _frame: object) -> None:
        raise _Stop

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(f"Starting {', '.join(stack.commands())} (profile {args.profile})...", flush=True)
    code = 0
    try:
        stack.start()
        print_urls(settings, stack.wait_ready())
        print("Press Ctrl-C to stop.", flush=True)
        while code == 0:
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    print(f"{name} stopped (code {proc.returncode}); see var/log/{name}.log")
                    code = 1
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as err:
        print(f"Startup failed: {err}", file=sys.stderr)
        code = 1
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nStopping...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
