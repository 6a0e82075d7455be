"""Run the production nginx example (deploy/nginx.conf) in front of local test servers."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render(
    workdir: Path,
    listen_port: int,
    rasa_ports: list[int],
    portal_port: int,
    example: Path = EXAMPLE,
) -> Path:
    """Write a copy of the example for a test: plain HTTP on ``listen_port``, local upstreams.

    Only what a test machine cannot have is changed: the TLS listener and certificates (swapped for
    a plain listener), the HTTP-to-HTTPS redirect server, file locations and upstream ports. Rate
    limits, body size limit, routing and balancing are the example's own.
    """
    text = example.read_text(encoding="utf-8")
    text = re.sub(r"\n    server \{\n        listen 80;.*?\n    \}\n", "\n", text, flags=re.S)
    text = text.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{listen_port};")
    text = re.sub(r"\n\s*ssl_[a-z_]+ [^\n]*;", "", text)
    text = re.sub(r"\n\s*add_header Strict-Transport-Security[^\n]*;", "", text)
    text = text.replace("pid /run/nginx-assistant.pid;", f"pid {workdir / 'nginx.pid'};")
    text = re.sub(r"error_log \S+", f"error_log {workdir / 'error.log'}", text)
    text = re.sub(r"access_log \S+;", f"access_log {workdir / 'access.log'};", text)
    for upstream in ("rasa_rest", "rasa_socketio"):
        block = re.search(rf"upstream {upstream} \{{.*?\n    \}}", text, flags=re.S).group(0)
        servers = re.findall(r"\n        server 127\.0\.0\.1:\d+([^\n]*);", block)
        options = servers[0] if servers else ""
        lines = "".join(f"\n        server 127.0.0.1:{p}{options};" for p in rasa_ports)
        new_block = re.sub(r"(\n        server 127\.0\.0\.1:\d+[^\n]*;)+", lines, block, count=1)
        text = text.replace(block, new_block)
    text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{portal_port};")
    conf = workdir / "nginx.conf"
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (workdir / temp).mkdir(parents=True, exist_ok=True)
    text = text.replace(
        "    server_tokens off;",
        "    server_tokens off;\n"
        + "".join(f"    {t}_temp_path {workdir / t};\n" for t in ("client_body", "proxy"))
        + "".join(f"    {t}_temp_path {workdir / t};\n" for t in ("fastcgi", "uwsgi", "scgi")),
    )
    conf.write_text(text, encoding="utf-8")
    return conf


@contextmanager
def running_nginx(conf: Path, port: int) -> Iterator[str]:
    """Start nginx on ``conf`` (foreground, own prefix), yield its base URL, stop it."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is missing: run scripts/install_test_packages.sh (apt nginx-light)")
    check = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(conf.parent)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(conf.parent), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{base}/nginx-probe", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {proc.stderr.read()!r}") from None
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
