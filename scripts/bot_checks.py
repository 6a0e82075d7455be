"""Rasa-level checks run by ``make test-bot``.

1. NLU held-out evaluation (``tests/bot/nlu_holdout*.yml``, never trained on): fails under the
   accuracy threshold and prints the worst intents.
2. Test stories (``tests/bot/stories``) with ``--fail-on-prediction-errors``: every intent and
   every predicted action of every test story must match.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "var" / "results"


def _rasa(*args: str) -> int:
    return subprocess.run([sys.executable, "-m", "rasa", *args], cwd=ROOT).returncode


def check_nlu(model: Path, threshold: float) -> bool:
    """Evaluate the held-out NLU set; return whether accuracy reaches the threshold."""
    out = RESULTS / "nlu"
    holdout = sorted((ROOT / "tests" / "bot").glob("nlu_holdout*.yml"))
    ok = True
    for path in holdout:
        if _rasa("test", "nlu", "--nlu", str(path), "--model", str(model), "--out", str(out)):
            print(f"rasa test nlu failed on {path}", file=sys.stderr)
            return False
        report = json.loads((out / "intent_report.json").read_text())
        accuracy = report["accuracy"]
        worst = sorted(
            (
                (k, v["f1-score"])
                for k, v in report.items()
                if isinstance(v, dict)
                and "support" in v
                and k not in ("macro avg", "weighted avg", "micro avg")
            ),
            key=lambda kv: kv[1],
        )[:5]
        print(
            f"NLU held-out {path.name}: accuracy {accuracy:.3f} "
            f"(weighted F1 {report['weighted avg']['f1-score']:.3f}, threshold {threshold})"
        )
        print("  lowest F1: " + ", ".join(f"{k} {v:.2f}" for k, v in worst))
        ok = ok and accuracy >= threshold
    return ok


def check_stories(model: Path) -> bool:
    """Run the test stories and fail on any prediction error."""
    code = _rasa(
        "test",
        "core",
        "--stories",
        "tests/bot/stories",
        "--model",
        str(model),
        "--out",
        str(RESULTS / "core"),
        "--fail-on-prediction-errors",
        "--no-plot",
    )
    if code:
        failed = RESULTS / "core" / "failed_test_stories.yml"
        if failed.exists():
            print(failed.read_text()[:5000], file=sys.stderr)
    return code == 0


def main(argv: list[str] | None = None) -> int:
    """Run both checks against the cached model for the current training inputs."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bot_checks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--nlu-threshold",
        type=float,
        default=0.85,
        help="minimum intent accuracy on the held-out set (default 0.85)",
    )
    args = parser.parse_args(argv)
    from scripts import model_cache

    model = model_cache.ensure_model()
    started = time.monotonic()
    nlu_ok = check_nlu(model, args.nlu_threshold)
    stories_ok = check_stories(model)
    print(
        f"Bot checks: NLU {'ok' if nlu_ok else 'FAILED'}, "
        f"test stories {'ok' if stories_ok else 'FAILED'} ({time.monotonic() - started:.0f} s)"
    )
    return 0 if nlu_ok and stories_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
