"""Train the Rasa model only when config, domain or training data changed.

The model file is named after a SHA-256 of ``config.yml``, ``domain.yml`` and every file under
``bot/data`` and kept in a cache directory (``MODEL_CACHE_DIR``, default
``~/.cache/assistant-services-publics/models``), so a fresh clone on the same machine reuses it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ("config.yml", "domain.yml", "bot/data")


def cache_dir() -> Path:
    """Directory holding trained models."""
    default = Path.home() / ".cache" / "assistant-services-publics" / "models"
    return Path(os.environ.get("MODEL_CACHE_DIR", default)).expanduser()


def training_hash(root: Path = ROOT, config: str = "config.yml") -> str:
    """SHA-256 (first 16 hex chars) of every training input, path and content.

    ``config`` (relative to ``root``) replaces ``config.yml``, e.g. the benchmark's baseline.
    """
    digest = hashlib.sha256()
    files: list[Path] = []
    for name in (config, *INPUTS[1:]):
        path = root / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(root: Path = ROOT, config: str = "config.yml") -> Path:
    """Where the model for the current inputs lives (whether or not it exists yet)."""
    prefix = "model" if config == "config.yml" else f"model-{Path(config).stem}"
    return cache_dir() / f"{prefix}-{training_hash(root, config)}.tar.gz"


def ensure_model(root: Path = ROOT, force: bool = False, config: str = "config.yml") -> Path:
    """Return the trained model for the current inputs, training it first if needed."""
    target = model_path(root, config)
    if target.exists() and not force:
        print(f"Model up to date: {target}", flush=True)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    print(f"Training the Rasa model (inputs changed) -> {target}", flush=True)
    started = time.monotonic()
    cmd = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        config,
        "--domain",
        "domain.yml",
        "--data",
        "bot/data",
        "--out",
        str(target.parent),
        "--fixed-model-name",
        target.name[: -len(".tar.gz")],
    ]
    subprocess.run(cmd, cwd=root, check=True)
    print(f"Model trained in {time.monotonic() - started:.0f} s: {target}", flush=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.model_cache",
        description="Train the Rasa model if config.yml, domain.yml or bot/data changed, and the "
        "story classifier if its corpus changed.",
    )
    parser.add_argument("--force", action="store_true", help="train even if a cached model exists")
    parser.add_argument("--print-path", action="store_true", help="only print the model path")
    args = parser.parse_args(argv)
    if args.print_path:
        print(model_path())
        return 0
    try:
        ensure_model(force=args.force)
    except subprocess.CalledProcessError as err:
        print(f"Training failed (exit code {err.returncode}).", file=sys.stderr)
        return 1
    ensure_story_classifier()
    return 0


def ensure_story_classifier() -> None:
    """Train the story classifier if its file is missing or older than the corpus."""
    os.chdir(ROOT)
    from feedback_store.classifier.registry import get_classifier

    started = time.monotonic()
    classifier = get_classifier()
    print(f"Story classifier {classifier.model_version} ready ({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    raise SystemExit(main())
