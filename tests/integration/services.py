"""Reach, stop and restart the machine's real Redis, RabbitMQ and PostgreSQL (fault tests).

Stopping a shared service breaks whoever else uses it, so :func:`wait_until_alone` first waits
until the only clients left are the processes of this test session (pytest itself and the
stack's process groups), up to ``QUIET_TIMEOUT_S``. Every stop is paired with a start in a
``try/finally`` (:func:`postgres_stopped`, :func:`rabbitmq_stopped`), and
:func:`ensure_services_running` restarts anything left stopped at the end of the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
PG_PORT, AMQP_PORT = 5432, 5672
QUIET_TIMEOUT_S = 600.0
_STOPPED: set[str] = set()  # services this session stopped and has not restarted yet
_SS_LINE = re.compile(r"\S+:(\d+)\s+\S+:(\d+)\s.*?pid=(\d+)")


def redis_problem(url: str = REDIS_URL) -> str | None:
    """Why Redis cannot be reached (None when it answers PING)."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as err:
        return f"Redis is missing at {url}: {err}"
    return None


async def _amqp(url: str, action: Callable | None = None) -> None:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=5)
    async with connection:
        if action is not None:
            await action(await connection.channel())


def _run_alone(coroutine) -> None:
    """Run ``coroutine`` on a fresh event loop in its own thread.

    Teardown can happen while another library's loop runs in this thread (Playwright's, in the
    browser tests that come last), where ``asyncio.run`` would refuse to start.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result(timeout=30)


def rabbitmq_problem(url: str = AMQP_URL) -> str | None:
    """Why RabbitMQ cannot be reached (None when an AMQP connection opens)."""
    try:
        _run_alone(_amqp(url))
    except Exception as err:  # noqa: BLE001 - any failure means "missing" here
        return f"RabbitMQ is missing at {url.split('@')[-1]}: {type(err).__name__} {err}"
    return None


def delete_queue(name: str, url: str = AMQP_URL) -> None:
    """Delete a queue (test teardown); a missing queue is fine."""

    async def _delete(channel) -> None:
        await channel.queue_delete(name)

    with contextlib.suppress(Exception):
        _run_alone(_amqp(url, _delete))


# --- who else is connected --------------------------------------------------------------------


def _client_pids(server_port: int) -> dict[int, int]:
    """Local port -> pid of every TCP client connected to ``server_port`` on this machine."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"dport = :{server_port}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    owners = {}
    for line in out.splitlines():
        match = _SS_LINE.search(line)
        if match:
            owners[int(match.group(1))] = int(match.group(3))
    return owners


def _ours(pid: int, groups: set[int]) -> bool:
    if pid == os.getpid():
        return True
    try:
        return os.getpgid(pid) in groups
    except ProcessLookupError:
        return True  # gone already


def _command(pid: int) -> str:
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return raw.replace(b"\0", b" ")[:80].decode(errors="replace").strip()
    return "?"


def _postgres_socket_clients() -> list[str]:
    """Client backends connected through the Unix socket (invisible to ``ss`` by port)."""
    reply = subprocess.run(
        [
            "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc",
            "select pid || ' ' || coalesce(datname, '') || ' ' || coalesce(application_name, '')"
            " from pg_stat_activity where backend_type = 'client backend'"
            " and (client_port is null or client_port = -1) and pid <> pg_backend_pid()",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    return [f"unix socket backend {line}" for line in reply.stdout.splitlines() if line.strip()]


def foreign_clients(server_port: int, groups: Iterable[int]) -> list[str]:
    """Processes other than this session's connected to a local server (``pid command``)."""
    mine = set(groups)
    others = [
        f"{pid} {_command(pid)}"
        for pid in sorted(set(_client_pids(server_port).values()))
        if not _ours(pid, mine)
    ]
    if server_port == PG_PORT:
        others += _postgres_socket_clients()
    return others


def wait_until_alone(server_port: int, groups: Iterable[int], service: str) -> None:
    """Wait until no other process uses ``service``; skip the test after ``QUIET_TIMEOUT_S``."""
    deadline = time.monotonic() + QUIET_TIMEOUT_S
    announced: list[str] = []
    while True:
        others = foreign_clients(server_port, groups)
        if not others:
            return
        if time.monotonic() > deadline:
            pytest.skip(
                f"{service} is in use by other processes for {QUIET_TIMEOUT_S:.0f} s, not "
                f"stopping it under them: {'; '.join(others)}"
            )
        if others != announced:
            print(f"waiting for {service} to be free: {'; '.join(others)}", flush=True)
            announced = others
        time.sleep(5)


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_version() -> str | None:
    root = Path("/etc/postgresql")
    versions = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    return versions[-1] if versions else None


def can_control_postgres() -> str | None:
    """Why this session cannot stop/start the local PostgreSQL (None when it can)."""
    if shutil.which("pg_ctlcluster") is None or _pg_version() is None:
        return "pg_ctlcluster or /etc/postgresql is missing: cannot stop PostgreSQL here"
    if os.geteuid() != 0:
        return "stopping PostgreSQL needs root"
    return None


def _pg_ctl(action: str) -> None:
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", _pg_version(), "main", action]
    if action == "stop":
        command += ["-m", "fast"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def postgres_running() -> bool:
    """Whether the local cluster is online."""
    version = _pg_version()
    if version is None:
        return True
    reply = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "status"],
        capture_output=True,
        check=False,
    )
    return reply.returncode == 0


def start_postgres() -> None:
    """Start the local cluster if it is down and wait until it accepts connections."""
    if not postgres_running():
        _pg_ctl("start")
    deadline = time.monotonic() + 60
    while subprocess.run(
        ["pg_isready", "-h", "127.0.0.1", "-p", str(PG_PORT)], capture_output=True, check=False
    ).returncode:
        if time.monotonic() > deadline:
            raise TimeoutError("PostgreSQL did not accept connections 60 s after its start")
        time.sleep(0.5)


@contextlib.contextmanager
def postgres_stopped(groups: Iterable[int]) -> Iterator[None]:
    """Stop PostgreSQL (once nobody else uses it) for the block; always start it again."""
    problem = can_control_postgres()
    if problem:
        pytest.skip(problem)
    wait_until_alone(PG_PORT, groups, "PostgreSQL")
    _STOPPED.add("postgresql")
    try:
        _pg_ctl("stop")
        yield
    finally:
        start_postgres()
        _STOPPED.discard("postgresql")


# --- RabbitMQ ---------------------------------------------------------------------------------


def can_control_rabbitmq() -> str | None:
    """Why this session cannot stop/start the local RabbitMQ (None when it can)."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is missing: cannot stop RabbitMQ here"
    if os.geteuid() != 0:
        return "stopping RabbitMQ needs root"
    return None


def _rabbitmqctl(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, check=False, timeout=timeout
    )


def start_rabbitmq() -> None:
    """Start the RabbitMQ application (or the node when it is down) and wait for AMQP."""
    if rabbitmq_problem() is None:
        return
    if _rabbitmqctl("start_app").returncode != 0:
        subprocess.run(["rabbitmq-server", "-detached"], check=False, capture_output=True)
        _rabbitmqctl("wait", "--timeout", "60", "--pid", "0", timeout=90)
        _rabbitmqctl("start_app")
    deadline = time.monotonic() + 60
    while rabbitmq_problem() is not None:
        if time.monotonic() > deadline:
            raise TimeoutError("RabbitMQ did not accept AMQP connections 60 s after its start")
        time.sleep(0.5)


@contextlib.contextmanager
def rabbitmq_stopped(groups: Iterable[int]) -> Iterator[None]:
    """Stop the RabbitMQ application (once nobody else uses it); always start it again."""
    problem = can_control_rabbitmq()
    if problem:
        pytest.skip(problem)
    wait_until_alone(AMQP_PORT, groups, "RabbitMQ")
    _STOPPED.add("rabbitmq")
    try:
        reply = _rabbitmqctl("stop_app")
        assert reply.returncode == 0, reply.stderr
        yield
    finally:
        start_rabbitmq()
        _STOPPED.discard("rabbitmq")


def ensure_services_running() -> None:
    """Start again what this session stopped and did not restart (session teardown)."""
    if "postgresql" in _STOPPED:
        start_postgres()
        _STOPPED.discard("postgresql")
    if "rabbitmq" in _STOPPED:
        start_rabbitmq()
        _STOPPED.discard("rabbitmq")
