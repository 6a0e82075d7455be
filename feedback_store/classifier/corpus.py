"""Labelled experience stories: loading, validation and fingerprinting of the YAML corpus.

The corpus is a folder of YAML files (one per theme), each holding ``stories:``, a list of items
with ``text``, ``ressenti``, ``irritants`` and ``engagements``. Run
``python -m feedback_store.classifier.corpus <folder>`` to print label counts.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from feedback_store import taxonomy

# Shipped corpus (written for this project), relative to the repository root.
DEFAULT_CORPUS_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "stories"


@dataclass(frozen=True)
class LabelledStory:
    """One labelled story of the corpus.

    Attributes:
        text: What the usager wrote.
        ressenti: ``positif``, ``neutre`` or ``negatif``.
        irritants: Irritant codes (possibly empty).
        engagements: Engagement codes (implied by the irritants, plus praised ones).
        source: ``file.yml#index`` for error messages.
    """

    text: str
    ressenti: str
    irritants: frozenset[str]
    engagements: frozenset[str]
    source: str = ""


def corpus_files(folder: str | Path) -> list[Path]:
    """Return the YAML files of a corpus folder, sorted by name.

    Raises:
        FileNotFoundError: If the folder holds no ``.yml`` file.
    """
    files = sorted(Path(folder).glob("*.yml"))
    if not files:
        raise FileNotFoundError(f"No story corpus (*.yml) found in {folder}.")
    return files


def corpus_hash(folder: str | Path) -> str:
    """Return a SHA-256 fingerprint of the corpus files (names and bytes).

    Cheap (no YAML parsing): used to tell whether a trained model is outdated.
    """
    digest = hashlib.sha256()
    for path in corpus_files(folder):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _check_item(item: object, source: str) -> LabelledStory:
    if not isinstance(item, dict):
        raise ValueError(f"{source}: a story must be a mapping, got {type(item).__name__}.")
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{source}: 'text' must be a non-empty string.")
    try:
        ressenti = taxonomy.check_code("ressenti", item.get("ressenti"))
        irritants = frozenset(taxonomy.check_codes("irritant", item.get("irritants") or []))
        engagements = frozenset(taxonomy.check_codes("engagement", item.get("engagements") or []))
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    missing = taxonomy.engagements_for(irritants) - engagements
    if missing:
        raise ValueError(
            f"{source}: engagements {sorted(missing)} implied by the irritants are missing."
        )
    return LabelledStory(text.strip(), ressenti, irritants, engagements, source)


def load_corpus(folder: str | Path = DEFAULT_CORPUS_DIR) -> list[LabelledStory]:
    """Load and validate every story of a corpus folder.

    Args:
        folder: Folder of ``*.yml`` files.

    Returns:
        The stories, file by file in name order.

    Raises:
        FileNotFoundError: If the folder holds no corpus file.
        ValueError: On a malformed item, an unknown code, a taxonomy version mismatch or a
            missing implied engagement.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    stories: list[LabelledStory] = []
    for path in corpus_files(folder):
        with path.open(encoding="utf-8") as handle:
            document = yaml.load(handle, Loader=loader)  # noqa: S506 - safe loader
        if not isinstance(document, dict) or not isinstance(document.get("stories"), list):
            raise ValueError(f"{path.name}: expected a mapping with a 'stories' list.")
        version = str(document.get("taxonomy_version", taxonomy.TAXONOMY_VERSION))
        if version != taxonomy.TAXONOMY_VERSION:
            raise ValueError(
                f"{path.name}: labelled with taxonomy {version}, "
                f"expected {taxonomy.TAXONOMY_VERSION}."
            )
        for index, item in enumerate(document["stories"]):
            stories.append(_check_item(item, f"{path.name}#{index}"))
    return stories


def label_counts(stories: Sequence[LabelledStory]) -> dict[str, collections.Counter]:
    """Count ressentis, irritants, engagements and derived tags over stories."""
    counts: dict[str, collections.Counter] = {
        key: collections.Counter() for key in ("ressenti", "irritant", "engagement", "tag")
    }
    for story in stories:
        counts["ressenti"][story.ressenti] += 1
        counts["irritant"].update(story.irritants)
        counts["engagement"].update(story.engagements)
        counts["tag"].update(taxonomy.derive_tags(story.irritants))
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    """Print the label counts of a corpus folder."""
    parser = argparse.ArgumentParser(description="Validate a story corpus and print its counts.")
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_CORPUS_DIR))
    args = parser.parse_args(argv)
    stories = load_corpus(args.folder)
    counts = label_counts(stories)
    print(f"{len(stories)} stories, hash {corpus_hash(args.folder)[:12]}")
    for space, counter in counts.items():
        print(f"{space}:")
        for code, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {code:32s}{count:5d}")


if __name__ == "__main__":
    main()
