"""Merge a conversation fragment (``bot/fragments/<name>/``) into the Rasa project.

A fragment is how a flow is developed beside the project: ``domain.yml`` (its intents,
entities, slots, forms, actions, responses), ``nlu.yml``, ``rules.yml``, ``stories.yml``,
``test_stories.yml``. Merging appends the domain sections to the root ``domain.yml`` (keeping
its comments and quoting) and moves the data files to ``bot/data/`` and ``tests/bot/stories/``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
LIST_KEYS = ("intents", "entities", "actions")
MAP_KEYS = ("slots", "forms", "responses")


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def merge_domain(fragment: Path, domain_path: Path = ROOT / "domain.yml") -> list[str]:
    """Append the fragment's domain entries to ``domain.yml``; return what was added."""
    yaml = _yaml()
    domain = yaml.load(domain_path.read_text(encoding="utf-8"))
    extra = yaml.load(fragment.read_text(encoding="utf-8")) or {}
    added: list[str] = []
    for key in LIST_KEYS:
        for item in extra.get(key) or []:
            name = item if isinstance(item, str) else next(iter(item))
            existing = {i if isinstance(i, str) else next(iter(i)) for i in domain.get(key) or []}
            if name not in existing:
                domain.setdefault(key, []).append(item)
                added.append(f"{key}:{name}")
    for key in MAP_KEYS:
        for name, value in (extra.get(key) or {}).items():
            if name in (domain.get(key) or {}):
                raise SystemExit(f"{key}.{name} already exists in domain.yml: resolve by hand.")
            domain.setdefault(key, {})[name] = value
            added.append(f"{key}:{name}")
    with domain_path.open("w", encoding="utf-8") as out:
        yaml.dump(domain, out)
    return added


def main(argv: list[str] | None = None) -> int:
    """Merge one fragment."""
    parser = argparse.ArgumentParser(prog="python -m scripts.merge_fragment", description=__doc__)
    parser.add_argument("name", help="fragment folder name under bot/fragments/")
    args = parser.parse_args(argv)
    folder = ROOT / "bot" / "fragments" / args.name
    if not folder.is_dir():
        print(f"No fragment at {folder}", file=sys.stderr)
        return 1
    if (folder / "domain.yml").exists():
        added = merge_domain(folder / "domain.yml")
        print(f"domain.yml: {len(added)} entries added")
    moves = {
        "nlu.yml": ROOT / "bot/data/nlu" / f"{args.name}.yml",
        "rules.yml": ROOT / "bot/data/rules" / f"{args.name}.yml",
        "stories.yml": ROOT / "bot/data/stories" / f"{args.name}.yml",
        "test_stories.yml": ROOT / "tests/bot/stories" / f"test_{args.name}.yml",
    }
    for source, target in moves.items():
        if (folder / source).exists():
            shutil.copyfile(folder / source, target)
            print(f"{source} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
