"""Where the droit à l'erreur domain lives: the fragment until it is merged, then domain.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
FRAGMENT = ROOT / "bot" / "fragments" / "droit_erreur" / "domain.yml"


def load_droit_erreur_domain() -> dict[str, Any]:
    """Return the domain (as a dict) that declares ``droit_erreur_form``."""
    path = FRAGMENT if FRAGMENT.exists() else ROOT / "domain.yml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))
