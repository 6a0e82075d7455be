"""``rasa data validate --fail-on-warnings``, with one reasoned exception.

Rasa 3.6 warns about every response that no story or rule predicts, even when a custom action
or the input channel sends it with ``utter_message(response=...)`` (the house rule: every French
sentence lives in ``domain.yml``). This runs exactly the checks of ``rasa data validate`` and
fails on every warning, except "utterance not used in any story" for a response whose name
appears, quoted, in the Python code under ``bot/`` (or as a value in ``orientation/data``),
that Rasa's own default actions send (``utter_restart``, ``utter_default``…) or a form asks
(``utter_ask_<slot>``) — and it then checks the reverse: every response name quoted in that
code must exist in the domain.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNUSED_RE = re.compile(r"The utterance '([^']+)' is not used in any story or rule\.")
QUOTED_RE = re.compile(r"[\"'](utter_[a-z0-9_]+)[\"']")
DATA_RE = re.compile(r":\s*(utter_[a-z0-9_]+)\s*$", re.MULTILINE)
# f"utter_droit_erreur_reason_{code}": a family of responses chosen by code.
PREFIX_RE = re.compile(r"f[\"'](utter_[a-z0-9_]+)\{")
# Sent by Rasa's default actions (action_restart, action_default_fallback, action_back...).
# Rasa 3.6 emits this for every domain that has slots (rasa/shared/core/domain.py calls
# validate_slot_mappings unconditionally); stock `rasa data validate` does not fail on it either.
UNCONDITIONAL_RASA_WARNINGS = ("Slot auto-fill has been removed in 3.0",)
RASA_DEFAULT_RESPONSES = {"utter_restart", "utter_default", "utter_back", "utter_ask_rephrase"}


def responses_used_in_code(root: Path = ROOT) -> set[str]:
    """Names of responses quoted in the bot's code, or named by data files it reads."""
    names: set[str] = set()
    for path in (root / "bot").rglob("*.py"):
        names.update(QUOTED_RE.findall(path.read_text(encoding="utf-8")))
    for path in (root / "orientation" / "data").rglob("*.yml"):
        names.update(DATA_RE.findall(path.read_text(encoding="utf-8")))
    return names


def response_prefixes_in_code(root: Path = ROOT) -> set[str]:
    """Prefixes of response families built in code (``f"utter_x_{code}"``)."""
    prefixes: set[str] = set()
    for path in (root / "bot").rglob("*.py"):
        prefixes.update(PREFIX_RE.findall(path.read_text(encoding="utf-8")))
    return prefixes


def main(argv: list[str] | None = None) -> int:
    """Validate the Rasa project; exit 1 on any error or unexplained warning."""
    argparse.ArgumentParser(
        prog="python -m scripts.validate_data",
        description="Run rasa data validate with --fail-on-warnings semantics (see module doc).",
    ).parse_args(argv)
    from rasa.cli.utils import _validate_domain, _validate_nlu, _validate_story_structure
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.validator import Validator

    importer = TrainingDataImporter.load_from_config(
        config_path=str(ROOT / "config.yml"),
        domain_path=str(ROOT / "domain.yml"),
        training_data_paths=[str(ROOT / "bot" / "data")],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        validator = Validator.from_importer(importer)
        ok = _validate_domain(validator)
        ok = _validate_nlu(validator, fail_on_warnings=False) and ok
        ok = _validate_story_structure(validator, None, fail_on_warnings=True) and ok
    in_code = responses_used_in_code()
    asked_by_forms = {
        f"utter_ask_{prefix}{slot}"
        for form, slots in validator.domain.forms.items()
        for slot in slots.get("required_slots", [])
        for prefix in ("", f"{form}_")
    }
    accepted = in_code | RASA_DEFAULT_RESPONSES | asked_by_forms
    prefixes = tuple(response_prefixes_in_code())
    problems: list[str] = []
    for warning in caught:
        if not issubclass(warning.category, UserWarning):
            continue
        message = str(warning.message)
        if message.startswith(UNCONDITIONAL_RASA_WARNINGS):
            continue
        match = UNUSED_RE.search(message)
        if match and (match.group(1) in accepted or match.group(1).startswith(prefixes)):
            continue
        problems.append(message)
    missing = sorted(in_code - set(validator.domain.responses))
    missing += [
        f"{prefix}*"
        for prefix in prefixes
        if not any(name.startswith(prefix) for name in validator.domain.responses)
    ]
    problems += [
        f"Response '{name}' is used in bot/ code but not defined in domain.yml." for name in missing
    ]
    for problem in problems:
        print(f"WARNING: {problem}")
    if problems or not ok:
        print(f"Validation failed: {len(problems)} warning(s).", file=sys.stderr)
        return 1
    print(
        f"Validation passed ({len(validator.domain.responses)} responses, "
        f"{len(validator.domain.intents)} intents, {len(in_code)} responses sent from code)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
