"""Catalogue of démarches, competent bodies (organismes) and out-of-scope topics (hors champ).

Data lives in YAML under ``orientation/data``::

    organismes.yml          competent bodies (code, name, national phone, website)
    hors_champ.yml          topics no administration handles, with who to ask instead
    demarches/*.yml         démarches, one file per competent body or theme

Every file carries an integer ``version:`` key. Files are validated on load: a bad entry raises
:class:`CatalogueError` naming the file and the entry; duplicate codes are rejected.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_UNSET = object()


class CatalogueError(ValueError):
    """Raised when a catalogue file is missing, unreadable or holds an invalid entry."""


@dataclass(frozen=True)
class Organisme:
    """A competent body.

    Attributes:
        code: Stable identifier (``caf``, ``cpam``...).
        name: Full name shown to usagers.
        short_name: Short name for buttons.
        phone: National phone number, or ``None`` when there is none.
        website: Official website (https).
        aliases: How usagers name the body in a request ("sécu", "Pôle emploi").
    """

    code: str
    name: str
    short_name: str
    phone: str | None
    website: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Demarche:
    """An everyday démarche and where to do it.

    Attributes:
        code: Stable identifier.
        name: Short title.
        description: One plain-French sentence.
        synonyms: Typical phrasings and keywords.
        organisme: Code of the competent body.
        first_step: What to do first (plain French, vouvoiement).
        url: Official online procedure or information page (https).
        phone: Phone to call for this démarche (defaults to the organisme's), or ``None``.
        france_services: Whether a France services conseiller can help.
        source: Name of the YAML file the entry comes from.
    """

    code: str
    name: str
    description: str
    synonyms: tuple[str, ...]
    organisme: str
    first_step: str
    url: str
    phone: str | None
    france_services: bool
    source: str


@dataclass(frozen=True)
class HorsChamp:
    """A topic handled by no administration (bank, notary, insurer...).

    Attributes:
        code: Stable identifier.
        name: Who is competent ("Votre banque").
        who_to_ask: Plain-French sentence telling the usager who to ask.
        synonyms: Typical phrasings.
        related: Démarche codes that may still help.
    """

    code: str
    name: str
    who_to_ask: str
    synonyms: tuple[str, ...]
    related: tuple[str, ...]


def _require(entry: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] is None:
        raise CatalogueError(f"{where}: missing field '{key}'")
    return entry[key]


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = _require(entry, key, where)
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where}: field '{key}' must be a non-empty string")
    return value.strip()


def _code(entry: Mapping[str, Any], where: str) -> str:
    code = _text(entry, "code", where)
    if not _CODE_RE.match(code):
        raise CatalogueError(f"{where}: code '{code}' must match {_CODE_RE.pattern}")
    return code


def _url(entry: Mapping[str, Any], key: str, where: str) -> str:
    url = _text(entry, key, where)
    if not url.startswith("https://") or " " in url:
        raise CatalogueError(f"{where}: field '{key}' must be an https:// URL, got '{url}'")
    return url


def _optional_phone(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[0-9 ]{3,20}", value.strip()):
        raise CatalogueError(f"{where}: phone must be a string of digits and spaces, got {value!r}")
    return value.strip()


def _string_list(entry: Mapping[str, Any], key: str, where: str, *, required: bool) -> tuple:
    value = entry.get(key)
    if value is None:
        if required:
            raise CatalogueError(f"{where}: missing field '{key}'")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogueError(f"{where}: field '{key}' must be a list of non-empty strings")
    if required and not value:
        raise CatalogueError(f"{where}: field '{key}' must not be empty")
    return tuple(v.strip() for v in value)


def _read_yaml(path: Path, list_key: str) -> tuple[int, list]:
    import yaml

    try:
        with path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise CatalogueError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: invalid YAML ({exc})") from exc
    if not isinstance(document, dict):
        raise CatalogueError(f"{path}: expected a mapping with 'version' and '{list_key}'")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CatalogueError(f"{path}: 'version' must be a positive integer")
    entries = document.get(list_key)
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{path}: '{list_key}' must be a non-empty list")
    return version, entries


def _where(path: Path, index: int, entry: Any) -> str:
    code = entry.get("code") if isinstance(entry, dict) else None
    label = f"entry #{index + 1}" + (f" (code '{code}')" if code else "")
    if not isinstance(entry, dict):
        raise CatalogueError(f"{path}: {label} must be a mapping")
    return f"{path}: {label}"


def _parse_organismes(path: Path) -> tuple[int, dict[str, Organisme]]:
    version, entries = _read_yaml(path, "organismes")
    result: dict[str, Organisme] = {}
    for index, entry in enumerate(entries):
        where = _where(path, index, entry)
        code = _code(entry, where)
        if code in result:
            raise CatalogueError(f"{where}: duplicate organisme code '{code}'")
        result[code] = Organisme(
            code=code,
            name=_text(entry, "name", where),
            short_name=str(entry.get("short_name") or entry["name"]).strip(),
            phone=_optional_phone(entry.get("phone"), where),
            website=_url(entry, "website", where),
            aliases=_string_list(entry, "aliases", where, required=False),
        )
    return version, result


def _parse_demarches(path: Path, organismes: Mapping[str, Organisme]) -> tuple[int, list[Demarche]]:
    version, entries = _read_yaml(path, "demarches")
    result: list[Demarche] = []
    for index, entry in enumerate(entries):
        where = _where(path, index, entry)
        code = _code(entry, where)
        organisme = _text(entry, "organisme", where)
        if organisme not in organismes:
            raise CatalogueError(f"{where}: unknown organisme '{organisme}'")
        france_services = _require(entry, "france_services", where)
        if not isinstance(france_services, bool):
            raise CatalogueError(f"{where}: field 'france_services' must be true or false")
        raw_phone = entry.get("phone", _UNSET)
        phone = organismes[organisme].phone if raw_phone is _UNSET else raw_phone
        result.append(
            Demarche(
                code=code,
                name=_text(entry, "name", where),
                description=_text(entry, "description", where),
                synonyms=_string_list(entry, "synonyms", where, required=True),
                organisme=organisme,
                first_step=_text(entry, "first_step", where),
                url=_url(entry, "url", where),
                phone=_optional_phone(phone, where),
                france_services=france_services,
                source=path.name,
            )
        )
    return version, result


def _parse_hors_champ(path: Path) -> tuple[int, list[HorsChamp]]:
    version, entries = _read_yaml(path, "hors_champ")
    result: list[HorsChamp] = []
    for index, entry in enumerate(entries):
        where = _where(path, index, entry)
        result.append(
            HorsChamp(
                code=_code(entry, where),
                name=_text(entry, "name", where),
                who_to_ask=_text(entry, "who_to_ask", where),
                synonyms=_string_list(entry, "synonyms", where, required=True),
                related=_string_list(entry, "related", where, required=False),
            )
        )
    return version, result


class Catalogue:
    """Validated, read-only catalogue of démarches, organismes and hors-champ topics.

    Build it with :meth:`load` (or the cached :func:`get_catalogue`), not directly.
    """

    def __init__(
        self,
        organismes: Mapping[str, Organisme],
        demarches: list[Demarche],
        hors_champ: list[HorsChamp],
        versions: Mapping[str, int],
    ) -> None:
        self._organismes = dict(organismes)
        self._demarches = {d.code: d for d in demarches}
        self._hors_champ = {h.code: h for h in hors_champ}
        self.versions: dict[str, int] = dict(versions)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalogue:
        """Load and validate the catalogue from a data directory.

        Args:
            path: Directory holding ``organismes.yml``, ``hors_champ.yml`` and ``demarches/``.
                Defaults to the package's ``orientation/data``.

        Returns:
            The validated catalogue.

        Raises:
            CatalogueError: On a missing file, invalid YAML, a bad entry or a duplicate code.
        """
        root = Path(path) if path is not None else DEFAULT_DATA_DIR
        versions: dict[str, int] = {}
        versions["organismes.yml"], organismes = _parse_organismes(root / "organismes.yml")
        demarche_files = sorted((root / "demarches").glob("*.yml"))
        if not demarche_files:
            raise CatalogueError(f"{root / 'demarches'}: no démarche file (*.yml) found")
        demarches: list[Demarche] = []
        seen: dict[str, str] = {}
        for file in demarche_files:
            version, entries = _parse_demarches(file, organismes)
            versions[f"demarches/{file.name}"] = version
            for demarche in entries:
                if demarche.code in seen:
                    raise CatalogueError(
                        f"{file}: duplicate démarche code '{demarche.code}' "
                        f"(already defined in {seen[demarche.code]})"
                    )
                seen[demarche.code] = file.name
                demarches.append(demarche)
        versions["hors_champ.yml"], hors_champ = _parse_hors_champ(root / "hors_champ.yml")
        hc_codes: set[str] = set()
        for item in hors_champ:
            if item.code in hc_codes or item.code in seen:
                raise CatalogueError(f"{root / 'hors_champ.yml'}: duplicate code '{item.code}'")
            hc_codes.add(item.code)
            unknown = [code for code in item.related if code not in seen]
            if unknown:
                raise CatalogueError(
                    f"{root / 'hors_champ.yml'}: entry '{item.code}' relates to unknown "
                    f"démarche(s) {', '.join(unknown)}"
                )
        return cls(organismes, demarches, hors_champ, versions)

    def __len__(self) -> int:
        return len(self._demarches)

    def __iter__(self) -> Iterator[Demarche]:
        return iter(self._demarches.values())

    def __contains__(self, code: object) -> bool:
        return code in self._demarches

    @property
    def demarches(self) -> tuple[Demarche, ...]:
        """All démarches, in file order."""
        return tuple(self._demarches.values())

    @property
    def organismes(self) -> tuple[Organisme, ...]:
        """All competent bodies."""
        return tuple(self._organismes.values())

    @property
    def hors_champ(self) -> tuple[HorsChamp, ...]:
        """All out-of-scope topics."""
        return tuple(self._hors_champ.values())

    def get(self, code: str) -> Demarche:
        """Return the démarche with this code.

        Raises:
            KeyError: If no démarche has this code.
        """
        try:
            return self._demarches[code]
        except KeyError:
            raise KeyError(f"unknown démarche code: {code!r}") from None

    def organisme(self, code: str) -> Organisme:
        """Return the organisme with this code.

        Raises:
            KeyError: If no organisme has this code.
        """
        try:
            return self._organismes[code]
        except KeyError:
            raise KeyError(f"unknown organisme code: {code!r}") from None

    def organisme_of(self, demarche: Demarche | str) -> Organisme:
        """Return the competent body of a démarche (object or code)."""
        code = demarche if isinstance(demarche, str) else demarche.code
        return self._organismes[self.get(code).organisme]

    def by_organisme(self, organisme_code: str) -> tuple[Demarche, ...]:
        """Return the démarches handled by an organisme (empty for an organisme with none).

        Raises:
            KeyError: If the organisme code is unknown.
        """
        self.organisme(organisme_code)
        return tuple(d for d in self._demarches.values() if d.organisme == organisme_code)

    def hors_champ_entry(self, code: str) -> HorsChamp:
        """Return the hors-champ topic with this code.

        Raises:
            KeyError: If no topic has this code.
        """
        try:
            return self._hors_champ[code]
        except KeyError:
            raise KeyError(f"unknown hors-champ code: {code!r}") from None


@functools.lru_cache(maxsize=1)
def get_catalogue() -> Catalogue:
    """Return the process-wide catalogue loaded from the package data (cached)."""
    return Catalogue.load()
