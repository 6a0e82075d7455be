"""Per-administration data for the droit à l'erreur (``orientation/data/droit_erreur.yml``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from orientation.droit_erreur import ADMINISTRATIONS

DATA_FILE = Path(__file__).parent / "data" / "droit_erreur.yml"
_GENERAL_LINKS = ("oups", "service_public", "entreprises", "defenseur_des_droits")


@dataclass(frozen=True)
class AdministrationInfo:
    """What the bot shows about one administration.

    Attributes:
        code: Stable code (one of ``orientation.droit_erreur.ADMINISTRATIONS``).
        organisme: Matching code in ``organismes.yml``, or ``None`` for ``autre``.
        name: Full name shown to usagers.
        in_sentence: The name as it reads inside a sentence ("la Caf").
        url: Official site (https).
        phone: National phone number, or ``None`` when there is none.
        example: Name of the ``domain.yml`` response with an example.
        aliases: Accent-free, lower-case words an usager may type for it.

    """

    code: str
    organisme: str | None
    name: str
    in_sentence: str
    url: str
    phone: str | None
    example: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class DroitErreurData:
    """The whole data file: general links and one entry per administration.

    Attributes:
        links: General links by key (``oups``, ``service_public``, ``entreprises``,
            ``defenseur_des_droits``).
        administrations: Entries by code, in file order.

    """

    links: dict[str, str]
    administrations: dict[str, AdministrationInfo]

    def get(self, code: str) -> AdministrationInfo:
        """Return the entry of an administration.

        Args:
            code: Administration code.

        Returns:
            Its entry.

        Raises:
            ValueError: If the code is unknown.

        """
        try:
            return self.administrations[code]
        except KeyError:
            known = ", ".join(self.administrations)
            raise ValueError(f"unknown administration {code!r}; expected one of: {known}") from None


def _require_https(url: object, where: str) -> str:
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(f"{where}: link must be an https URL, got {url!r}")
    return url


def _parse_entry(raw: dict[str, Any]) -> AdministrationInfo:
    code = raw.get("code")
    where = f"administration {code!r}"
    missing = [key for key in ("name", "in_sentence", "url", "example") if not raw.get(key)]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    phone = raw.get("phone")
    if phone is not None and not isinstance(phone, str):
        raise ValueError(f"{where}: phone must be a quoted string or null, got {phone!r}")
    return AdministrationInfo(
        code=code,
        organisme=raw.get("organisme"),
        name=raw["name"],
        in_sentence=raw["in_sentence"],
        url=_require_https(raw["url"], where),
        phone=phone,
        example=raw["example"],
        aliases=tuple(str(alias) for alias in raw.get("aliases") or ()),
    )


def parse_data(raw: dict[str, Any]) -> DroitErreurData:
    """Build and validate the data from the parsed YAML document.

    Args:
        raw: The YAML document as loaded by ``yaml.safe_load``.

    Returns:
        The validated data.

    Raises:
        ValueError: If an administration is missing, unknown or duplicated, or if a field is
            missing or a link is not https.

    """
    general = raw.get("general") or {}
    links = {
        key: _require_https(general.get(key), f"general link {key!r}") for key in _GENERAL_LINKS
    }
    entries: dict[str, AdministrationInfo] = {}
    for item in raw.get("administrations") or ():
        entry = _parse_entry(item)
        if entry.code not in ADMINISTRATIONS:
            raise ValueError(f"unknown administration code {entry.code!r} in data file")
        if entry.code in entries:
            raise ValueError(f"administration {entry.code!r} is listed twice")
        entries[entry.code] = entry
    missing = [code for code in ADMINISTRATIONS if code not in entries]
    if missing:
        raise ValueError(f"data file lacks administrations: {', '.join(missing)}")
    return DroitErreurData(links=links, administrations=entries)


def load_data(path: Path = DATA_FILE) -> DroitErreurData:
    """Read and validate a droit à l'erreur data file.

    Args:
        path: YAML file to read.

    Returns:
        The validated data.

    """
    with path.open(encoding="utf-8") as handle:
        return parse_data(yaml.safe_load(handle))


@functools.lru_cache(maxsize=1)
def get_droit_erreur_data() -> DroitErreurData:
    """Return the project's droit à l'erreur data, read once per process."""
    return load_data(DATA_FILE)
