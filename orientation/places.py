"""Offline resolution of what a usager types into a place: commune, arrondissement, postal code.

Built on La Poste's base officielle des codes postaux (``data/communes``). Handles accents,
hyphens, ``St``/``Ste``, articles (``Le Puy-en-Velay`` / ``Puy-en-Velay``), arrondissements of
Paris, Lyon and Marseille, overseas départements, filler words (``près de Gap``, ``j'habite à
Lyon 3e``), département or postal-code qualifiers (``Saint-Denis 97400``, ``Saint-Martin 65``)
and near-miss spellings (``Brianson``). Everything is precomputed at load time by
:func:`get_place_resolver`; a resolution is a few dictionary look-ups plus, for typos, one
numpy pass over a character-trigram index.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from orientation.geo import is_valid_coordinate

_LOAD_LOCK = threading.Lock()
COMMUNES_CSV = (
    Path(__file__).parent / "data" / "communes" / "communes_codes_postaux_laposte_2022.csv"
)

ResolutionStatus = Literal["found", "ambiguous", "not_found"]
PlaceKind = Literal["commune", "arrondissement", "city", "postal_code", "address"]

MAX_SUGGESTIONS = 5
FUZZY_ACCEPT = 0.8  # similarity above which a single near-miss is taken as the answer
FUZZY_MARGIN = 0.04  # ...provided the runner-up is at least this far behind
FUZZY_SUGGEST = 0.6  # similarity above which a name is offered as a suggestion

# Département names missing from the source, and codes left out (Monaco is not French).
_DEPARTEMENT_NAME_FIXES = {
    "977": "Saint-Barthélemy",
    "978": "Saint-Martin",
    "989": "Île de Clipperton",
    "987": "Polynésie française",
}
_EXCLUDED_DEPARTEMENTS = {"99"}
# Coordinates replacing the source's. The source gives Saint-Pierre-et-Miquelon's position for
# Saint-Martin and Saint-Barthélemy. In Guyane its points are geometric centres of communes of
# hundreds or thousands of km² of forest (Cayenne's is 22 km from the town, Mana's 70 km), so the
# main town (bourg) is used instead; approximate, to about 1 km.
_COORDINATE_FIXES = {
    "97801": (18.068, -63.083),  # Saint-Martin (Marigot)
    "97701": (17.896, -62.850),  # Saint-Barthélemy (Gustavia)
    "97301": (4.313, -52.134),  # Régina
    "97302": (4.933, -52.330),  # Cayenne
    "97303": (5.481, -53.209),  # Iracoubo
    "97304": (5.160, -52.648),  # Kourou
    "97305": (4.933, -52.415),  # Macouria (Tonate)
    "97306": (5.660, -53.778),  # Mana
    "97307": (4.847, -52.331),  # Matoury
    "97308": (3.891, -51.804),  # Saint-Georges
    "97309": (4.916, -52.276),  # Remire-Montjoly
    "97310": (4.729, -52.327),  # Roura
    "97311": (5.498, -54.029),  # Saint-Laurent-du-Maroni
    "97312": (5.378, -52.955),  # Sinnamary
    "97313": (4.892, -52.492),  # Montsinéry-Tonnegrande
    "97314": (4.214, -51.668),  # Ouanary
    "97352": (3.622, -53.209),  # Saül
    "97353": (3.640, -54.028),  # Maripasoula
    "97356": (3.166, -52.334),  # Camopi
    "97357": (4.272, -54.381),  # Grand-Santi
    "97358": (4.823, -53.284),  # Saint-Élie
    "97360": (5.157, -54.344),  # Apatou
    "97361": (5.740, -53.930),  # Awala-Yalimapo
    "97362": (3.807, -54.150),  # Papaichton
}
_CITIES = {  # city INSEE code -> (name, département, first and last arrondissement code)
    "75056": ("Paris", "75", 75101, 75120),
    "69123": ("Lyon", "69", 69381, 69389),
    "13055": ("Marseille", "13", 13201, 13216),
}
_ARRONDISSEMENT_CITY = {
    str(code): city for city, (_, _, lo, hi) in _CITIES.items() for code in range(lo, hi + 1)
}

_ARTICLES = {"le", "la", "les", "l"}
_TOKEN_EXPANSIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_EXPANDABLE = frozenset(_TOKEN_EXPANSIONS)
_PARTICLES = {"de", "du", "des", "la", "le", "les", "en", "sur", "sous", "et", "aux", "au", "lez"}
_ROMAN = {
    r: i + 1
    for i, r in enumerate(
        "i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx".split()
    )
}

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "œ": "oe", "æ": "ae"})
_NON_ALNUM_RE = re.compile(r"[^a-z0-9]+")
_WORD_SPLIT_RE = re.compile(r"[\s\-']+")
_POSTAL_RE = re.compile(r"(?<!\d)(\d{5})(?!\d)")
_ORDINAL = r"(?:er|re|ere|e|eme|ieme|nd|nde|d)?"
_ARR_WORD = r"(?:arrondissement|arrdt|arrt|arr)"
_ARR_AFTER_RE = re.compile(
    rf"\b(paris|lyon|marseille)\s+(\d{{1,2}}|[ivx]+)\s*{_ORDINAL}\b(?:\s+{_ARR_WORD}\b)?"
)
_ARR_BEFORE_RE = re.compile(
    rf"\b(\d{{1,2}}|[ivx]+)\s*{_ORDINAL}\s+{_ARR_WORD}\s+(?:de\s+|d\s+)?(paris|lyon|marseille)\b"
)
_D = r"d(?:e|u|es)?"
_LEADING_FILLER_RE = re.compile(
    r"^(?:"
    + "|".join(
        [
            r"bonjour",
            r"bonsoir",
            r"salut",
            r"oui",
            r"alors",
            r"euh",
            r"voila",
            r"(?:et\s+)?moi",
            r"je\s+(?:suis|vis|reside|demeure|travaille|cherche|voudrais|veux|me\s+trouve)",
            r"j\s+(?:habite|habites|etais|aimerais|ai\s+besoin)",
            r"(?:actuellement|maintenant|plutot|c\s+est|ce\s+serait|svp)",
            r"(?:une|la|les)\s+france\s+services?",
            r"(?:la|le|les)\s+plus\s+proches?",
            r"(?:tout\s+)?pres\s+" + _D,
            r"a\s+cote\s+" + _D,
            r"du\s+cote\s+" + _D,
            r"(?:pas|non)\s+loin\s+" + _D,
            r"proches?\s+" + _D,
            r"(?:aux\s+)?alentours\s+" + _D,
            r"autour\s+" + _D,
            r"dans\s+le\s+coin\s+" + _D,
            r"a\s+proximite\s+" + _D,
            r"(?:la\s+)?(?:commune|ville|village|secteur|region)\s+" + _D,
            r"(?:mon\s+)?code\s+postal(?:\s+est)?",
            r"cp",
            r"vers",
            r"a",
            r"au",
            r"aux",
            r"en",
            r"sur",
            r"dans",
            r"de",
            r"du",
            r"des",
            r"d",
        ]
    )
    + r")\s+"
)
_TRAILING_FILLER_RE = re.compile(
    r"\s+(?:svp|stp|s\s+il\s+vous\s+plait|s\s+il\s+te\s+plait|merci(?:\s+beaucoup)?"
    r"|en\s+france|france|please)$"
)
_QUALIFIER_CONNECTORS = {"dans", "en", "le", "la", "les", "l", "du", "de", "des", "d", "dep"}
_QUALIFIER_CONNECTORS |= {"departement", "dept", "a", "au", "aux"}
_SPAN_STOPWORDS = _QUALIFIER_CONNECTORS | {
    "pres",
    "cote",
    "vers",
    "sur",
    "sous",
    "et",
    "ou",
    "chez",
    "moi",
    "pour",
    "par",
    "proche",
    "proches",
    "loin",
    "pas",
    "non",
    "je",
    "j",
    "suis",
    "habite",
    "vis",
    "ville",
    "commune",
    "village",
    "coin",
    "rue",
    "avenue",
    "boulevard",
    "bd",
    "chemin",
    "route",
    "place",
    "impasse",
    "allee",
    "quai",
    "lieu",
    "dit",
    "france",
    "services",
    "service",
    "plus",
    "bonjour",
    "merci",
    "svp",
}


def normalize(text: str) -> str:
    """Fold text to a comparison key: lower case, no accents or punctuation, ``st`` → ``saint``.

    >>> normalize("St-Étienne-de-l'Œuvre")
    'saint etienne de l oeuvre'
    """
    text = text.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
        text = text.encode("ascii", "ignore").decode("ascii")
    tokens = _NON_ALNUM_RE.sub(" ", text).split()
    if _EXPANDABLE.isdisjoint(tokens):
        return " ".join(tokens)
    return " ".join(_TOKEN_EXPANSIONS.get(t, t) for t in tokens)


def _bare(key: str) -> str:
    """Drop a leading article from a normalised key (``le puy en velay`` → ``puy en velay``)."""
    head, _, tail = key.partition(" ")
    return tail if head in _ARTICLES and tail else key


def _arrondissement_number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return _ROMAN.get(token)


def canonical_arrondissements(key: str) -> str:
    """Rewrite arrondissement phrasings of a normalised key to ``<city> <n>``.

    ``paris 15e arrondissement``, ``15eme arrondissement de paris``, ``paris xv`` all become
    ``paris 15``; ``marseille 13eme`` becomes ``marseille 13``.
    """

    def after(m: re.Match[str]) -> str:
        n = _arrondissement_number(m[2])
        return f"{m[1]} {n}" if n else m[0]

    def before(m: re.Match[str]) -> str:
        n = _arrondissement_number(m[1])
        return f"{m[2]} {n}" if n else m[0]

    if "paris" not in key and "lyon" not in key and "marseille" not in key:
        return key
    key = _ARR_BEFORE_RE.sub(before, key)
    return _ARR_AFTER_RE.sub(after, key)


def strip_filler(key: str) -> str:
    """Remove leading/trailing filler words from a normalised key (``pres de gap`` → ``gap``)."""
    for _ in range(8):
        new = _TRAILING_FILLER_RE.sub("", _LEADING_FILLER_RE.sub("", key))
        if new == key:
            break
        key = new
    return key


@dataclass(frozen=True)
class Place:
    """A resolved place.

    Attributes:
        name: Display name (``"Briançon"``, ``"Paris 15e Arrondissement"``); for a postal code
            shared by several communes, the postal code itself.
        postal_code: The postal code typed, or the commune's main one.
        departement_code: ``"05"``, ``"2A"``, ``"974"``.
        departement_name: ``"Hautes-Alpes"``.
        lat: Latitude (WGS84; commune centroid, or mean of communes for a postal code).
        lon: Longitude.
        insee_code: INSEE code of the commune (None for a multi-commune postal code).
        kind: ``commune``, ``arrondissement``, ``city`` (whole Paris/Lyon/Marseille),
            ``postal_code`` (several communes) or ``address`` (online geocoding only).
        postal_codes: Every postal code of the commune.
        communes: Names of the communes sharing a postal code (kind ``postal_code``).
        street: Street line for an address found online.

    """

    name: str
    postal_code: str
    departement_code: str
    departement_name: str
    lat: float
    lon: float
    insee_code: str | None = None
    kind: PlaceKind = "commune"
    postal_codes: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()
    street: str | None = None

    @property
    def label(self) -> str:
        """Short disambiguation label, e.g. ``"Saint-Martin (65360, Hautes-Pyrénées)"``."""
        details = ", ".join(p for p in (self.postal_code, self.departement_name) if p)
        return f"{self.name} ({details})" if details else self.name

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (for a Rasa slot)."""
        data = asdict(self)
        data["postal_codes"] = list(self.postal_codes)
        data["communes"] = list(self.communes)
        data["label"] = self.label
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Place:
        """Rebuild a place from :meth:`to_dict` output (unknown keys are ignored)."""
        return cls(
            name=data["name"],
            postal_code=data.get("postal_code") or "",
            departement_code=data.get("departement_code") or "",
            departement_name=data.get("departement_name") or "",
            lat=float(data["lat"]),
            lon=float(data["lon"]),
            insee_code=data.get("insee_code"),
            kind=data.get("kind") or "commune",
            postal_codes=tuple(data.get("postal_codes") or ()),
            communes=tuple(data.get("communes") or ()),
            street=data.get("street"),
        )


@dataclass(frozen=True)
class PlaceResolution:
    """Outcome of resolving a usager's text.

    Attributes:
        status: ``found`` (``place`` is set), ``ambiguous`` (pick one of ``suggestions``) or
            ``not_found`` (``suggestions`` holds close spellings, possibly none).
        query: The text as given.
        place: The resolved place when ``found``.
        suggestions: Up to five candidate places, best first.
        match: How the answer was obtained: ``name``, ``locality`` (a hamlet or former commune
            listed by La Poste), ``postal_code``, ``name+postal_code``, ``fuzzy``, ``ban``, or
            None when nothing matched.
        candidate_count: Number of candidates before truncation to ``suggestions``.

    """

    status: ResolutionStatus
    query: str
    place: Place | None = None
    suggestions: tuple[Place, ...] = ()
    match: str | None = None
    candidate_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (for a Rasa slot or a log line)."""
        return {
            "status": self.status,
            "query": self.query,
            "place": self.place.to_dict() if self.place else None,
            "suggestions": [s.to_dict() for s in self.suggestions],
            "match": self.match,
            "candidate_count": self.candidate_count,
        }


class TrigramIndex:
    """Character-trigram candidate search re-ranked with ``difflib`` similarity."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = list(keys)
        gram_sets = [self._grams(key) for key in self.keys]
        postings: dict[str, list[int]] = defaultdict(list)
        for i, grams in enumerate(gram_sets):
            for g in grams:
                postings[g].append(i)
        self._postings = {g: np.asarray(p, dtype=np.int32) for g, p in postings.items()}
        self._sizes = np.fromiter((len(g) for g in gram_sets), dtype=np.float64)

    @staticmethod
    def _grams(key: str) -> set[str]:
        padded = f"  {key} "
        return {padded[i : i + 3] for i in range(len(padded) - 2)}

    def search(self, query: str, limit: int = 8, pool: int = 16) -> list[tuple[str, float]]:
        """Return up to ``limit`` ``(key, similarity)`` pairs, best first (similarity in 0..1).

        Keys sharing too few trigrams with the query are dropped, the ``pool`` best by Dice
        coefficient are re-scored with ``difflib`` (75 %) blended with Dice (25 %).
        """
        grams = self._grams(query)
        lists = [self._postings[g] for g in grams if g in self._postings]
        if not lists:
            return []
        counts = np.bincount(np.concatenate(lists), minlength=len(self.keys))
        candidates = np.flatnonzero(counts >= max(1, int(0.3 * len(grams))))
        if candidates.size == 0:
            return []
        dice = 2.0 * counts[candidates] / (len(grams) + self._sizes[candidates])
        if candidates.size > pool:
            best = np.argpartition(-dice, pool - 1)[:pool]
            candidates, dice = candidates[best], dice[best]
        matcher = difflib.SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(query)
        scored = []
        for i, d in zip(candidates.tolist(), dice.tolist(), strict=True):
            key = self.keys[i]
            matcher.set_seq1(key)
            scored.append((key, round(0.75 * matcher.ratio() + 0.25 * d, 4)))
        scored.sort(key=lambda kv: (-kv[1], kv[0]))
        return scored[:limit]


def _fix_official_name(name: str) -> str:
    """``"Pin (Le)"`` → ``"Le Pin"``; ``"Bors(Canton de X)"`` → ``"Bors"``."""
    if "(" not in name:
        return name
    m = re.fullmatch(r"(.+?)\s*\((Le|La|Les|L')\)", name)
    if m:
        article = m[2]
        return f"{article}{m[1]}" if article.endswith("'") else f"{article} {m[1]}"
    return re.sub(r"\s*\(.*?\)\s*", " ", name).strip()


class _Prettifier:
    """Turn La Poste upper-case names into display names, restoring accents when known."""

    def __init__(self, official_names: Iterable[str]) -> None:
        words = Counter(w for name in official_names for w in _WORD_SPLIT_RE.split(name) if w)
        best: dict[str, tuple[int, str]] = {}
        for word, count in words.items():
            key = normalize(word)
            if key not in best or count > best[key][0]:
                best[key] = (count, word)
        self._forms = {k: word for k, (_, word) in best.items()}

    def _word(self, token: str) -> str:
        form = self._forms.get(token, token)
        return form[:1].upper() + form[1:]

    def __call__(self, laposte_name: str) -> str:
        tokens = normalize(laposte_name).split()
        if not tokens:
            return laposte_name
        prefix = ""
        if tokens[0] in _ARTICLES and len(tokens) > 1:
            art = tokens.pop(0)
            prefix = "L'" if art == "l" else f"{art.capitalize()} "
        parts: list[str] = []
        glue_next = False
        for i, tok in enumerate(tokens):
            if tok in {"d", "l"} and i + 1 < len(tokens):
                word = f"{tok}'"
            elif tok in _PARTICLES and 0 < i < len(tokens) - 1:
                word = tok
            else:
                word = self._word(tok)
            if parts and not glue_next:
                parts.append("-")
            parts.append(word)
            glue_next = word.endswith("'")
        return prefix + "".join(parts)


@dataclass
class _CommuneBuild:
    insee: str
    departement_code: str
    departement_name: str
    lat: float
    lon: float
    laposte_name: str
    official_name: str
    postal_codes: list[str] = field(default_factory=list)
    main_postal_codes: set[str] = field(default_factory=set)
    rows: int = 0


class PlaceResolver:
    """Resolve free text to a :class:`Place` using precomputed look-up tables."""

    def __init__(self, communes: list[_CommuneBuild], localities: list[tuple[str, str, str]]):
        """Build the indexes (use :meth:`from_csv` or :func:`get_place_resolver`)."""
        prettify = _Prettifier(c.official_name for c in communes if c.official_name)
        norm = functools.lru_cache(maxsize=None)(normalize)
        self._places: dict[str, Place] = {}
        self._rank: dict[str, int] = {}
        # Primary keys come from the current name; alias keys from an older joined name.
        self._names: dict[str, list[str]] = defaultdict(list)
        self._bare_names: dict[str, list[str]] = defaultdict(list)
        self._alias_names: dict[str, list[str]] = defaultdict(list)
        self._alias_bare_names: dict[str, list[str]] = defaultdict(list)
        self._localities: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._postal: dict[str, list[str]] = defaultdict(list)
        self._city_of: dict[str, str] = {}

        def add_key(key: str, insee: str, *, alias: bool = False) -> None:
            names, bares = (
                (self._alias_names, self._alias_bare_names)
                if alias
                else (self._names, self._bare_names)
            )
            if key and insee not in names[key]:
                names[key].append(insee)
            bare = _bare(key)
            if bare and bare != key and insee not in bares[bare]:
                bares[bare].append(insee)

        for c in communes:
            name = self._display_name(c, prettify, norm)
            kind: PlaceKind = "arrondissement" if c.insee in _ARRONDISSEMENT_CITY else "commune"
            self._places[c.insee] = Place(
                name=name,
                postal_code=c.postal_codes[0],
                departement_code=c.departement_code,
                departement_name=c.departement_name,
                lat=c.lat,
                lon=c.lon,
                insee_code=c.insee,
                kind=kind,
                postal_codes=tuple(c.postal_codes),
            )
            self._rank[c.insee] = c.rows
            primary = {canonical_arrondissements(norm(raw)) for raw in (name, c.laposte_name)}
            for key in primary:
                add_key(key, c.insee)
            if c.official_name:
                alias = norm(_fix_official_name(c.official_name))
                if alias not in primary:
                    add_key(alias, c.insee, alias=True)
            for cp in c.postal_codes:
                self._postal[cp].append(c.insee)
            if c.insee in _ARRONDISSEMENT_CITY:
                self._city_of[c.insee] = _ARRONDISSEMENT_CITY[c.insee]

        self._add_cities(add_key)
        for insee, cp, locality in localities:
            key = norm(locality)
            if key and insee in self._places and insee not in self._names.get(key, ()):
                entry = (insee, cp)
                if entry not in self._localities[key]:
                    self._localities[key].append(entry)
        tables = (self._names, self._bare_names, self._alias_names, self._alias_bare_names)
        for table in (*tables, self._postal):
            for insee_list in table.values():
                insee_list.sort(key=lambda i: (-self._rank[i], i))
        self._names, self._bare_names, self._alias_names, self._alias_bare_names = (
            dict(t) for t in tables
        )
        self._localities = dict(self._localities)
        self._postal = dict(self._postal)
        self._departements = self._departement_keys()
        self._trigrams = TrigramIndex(sorted(set(self._names) | set(self._bare_names)))

    @staticmethod
    def _display_name(c: _CommuneBuild, prettify: _Prettifier, norm: Any = normalize) -> str:
        if c.insee in _ARRONDISSEMENT_CITY:
            city, _, first, _ = _CITIES[_ARRONDISSEMENT_CITY[c.insee]]
            n = int(c.insee) - first + 1
            return f"{city} {n}{'er' if n == 1 else 'e'} Arrondissement"
        official = _fix_official_name(c.official_name) if c.official_name else ""
        # The joined accented name is sometimes a pre-merger name: trust La Poste when they differ.
        if official and norm(official) == norm(c.laposte_name):
            return official
        return prettify(c.laposte_name)

    def _add_cities(self, add_key: Any) -> None:
        for insee, (name, dep, lo, hi) in _CITIES.items():
            members = [
                self._places[str(code)] for code in range(lo, hi + 1) if str(code) in self._places
            ]
            if not members:
                continue
            codes = sorted({cp for m in members for cp in m.postal_codes})
            self._places[insee] = Place(
                name=name,
                postal_code=codes[0],
                departement_code=dep,
                departement_name=members[0].departement_name,
                lat=round(sum(m.lat for m in members) / len(members), 6),
                lon=round(sum(m.lon for m in members) / len(members), 6),
                insee_code=insee,
                kind="city",
                postal_codes=tuple(codes),
            )
            self._rank[insee] = 10**6
            add_key(normalize(name), insee)

    def _departement_keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for code, name in {(p.departement_code, p.departement_name) for p in self._places.values()}:
            keys[code.lower()] = code
            if name:
                key = normalize(name)
                keys[key] = code
                keys[_bare(key)] = code
        return keys

    @classmethod
    def from_csv(cls, path: Path | str = COMMUNES_CSV) -> PlaceResolver:
        """Load La Poste's communes/postal codes file (see ``data/communes/README.md``)."""
        communes: dict[str, _CommuneBuild] = {}
        localities: list[tuple[str, str, str]] = []
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                insee = (row.get("code_insee") or "").strip()
                cp = (row.get("code_postal") or "").strip()
                dep = (row.get("code_departement") or "").strip()
                if not insee or len(cp) != 5 or not cp.isdigit() or dep in _EXCLUDED_DEPARTEMENTS:
                    continue
                c = communes.get(insee)
                if c is None:
                    lat_lon = _COORDINATE_FIXES.get(insee) or _parse_lat_lon(row)
                    if lat_lon is None:
                        continue
                    c = communes[insee] = _CommuneBuild(
                        insee=insee,
                        departement_code=dep,
                        departement_name=(row.get("nom_departement") or "").strip()
                        or _DEPARTEMENT_NAME_FIXES.get(dep, ""),
                        lat=lat_lon[0],
                        lon=lat_lon[1],
                        laposte_name=(row.get("nom_commune_laposte") or "").strip(),
                        official_name=(row.get("nom_commune") or "").strip(),
                    )
                if dep in _DEPARTEMENT_NAME_FIXES:
                    c.departement_name = _DEPARTEMENT_NAME_FIXES[dep]
                c.rows += 1
                locality = (row.get("ligne_5") or "").strip()
                if cp not in c.postal_codes:
                    c.postal_codes.append(cp)
                if not locality:
                    c.main_postal_codes.add(cp)
                if locality:
                    localities.append((insee, cp, locality))
        for c in communes.values():
            # Main postal code: the lowest one used without a locality line (Montpellier: 34000).
            c.postal_codes.sort(key=lambda cp, c=c: (cp not in c.main_postal_codes, cp))
        return cls(list(communes.values()), localities)

    # ------------------------------------------------------------------ look-ups

    def __len__(self) -> int:
        return len(self._places)

    def insee_codes(self) -> list[str]:
        """All INSEE codes known (communes, arrondissements, and the three whole cities)."""
        return list(self._places)

    def get(self, insee_code: str) -> Place | None:
        """Return the place for an INSEE code (arrondissements and 75056/69123/13055 included)."""
        return self._places.get(insee_code)

    def by_postal_code(self, postal_code: str) -> list[Place]:
        """Communes served by a postal code, largest first, each carrying that postal code."""
        return [
            replace(self._places[i], postal_code=postal_code)
            for i in self._postal.get(postal_code, [])
        ]

    def _exact(self, key: str) -> tuple[list[Place], str | None]:
        if not key:
            return [], None
        bare = _bare(key)
        for names, bares in (
            (self._names, self._bare_names),
            (self._alias_names, self._alias_bare_names),
        ):
            insees = names.get(key) or bares.get(bare) or names.get(bare)
            if insees:
                return [self._places[i] for i in insees], "name"
        if key in self._localities:
            found = [replace(self._places[i], postal_code=cp) for i, cp in self._localities[key]]
            return _dedupe(found), "locality"
        return [], None

    def _span_search(self, key: str, level: int = 0) -> tuple[list[Place], str | None]:
        """Longest, then rightmost, run of words that is a known name.

        Level 0 accepts a run only if every other word is filler or a number (``je suis à
        gap``); level 1 allows other words before it (``12 rue carnot gap``), level 2 after it
        (``grenoble centre``). Levels 1 and 2 are tried only after the near-miss search failed,
        so ``saint etiene`` is not read as ``Le Saint`` followed by noise.
        """
        tokens = key.split()[-12:]

        def is_filler(words: list[str]) -> bool:
            return all(t in _SPAN_STOPWORDS or t.isdigit() for t in words)

        for length in range(len(tokens) - 1, 0, -1):
            for start in range(len(tokens) - length, -1, -1):
                span = tokens[start : start + length]
                if is_filler(span) or (length == 1 and len(span[0]) < 3):
                    continue
                before, after = tokens[:start], tokens[start + length :]
                if level == 0 and not (is_filler(before) and is_filler(after)):
                    continue
                if level == 1 and not is_filler(after):
                    continue
                if level == 2 and not is_filler(before):
                    continue
                places, how = self._exact(" ".join(span))
                if places:
                    return places, how
        return [], None

    def _split_departement(self, key: str) -> tuple[str, str | None]:
        """Split a trailing département qualifier: ``saint denis la reunion`` → (…, ``974``)."""
        tokens = key.split()
        for size in range(min(4, len(tokens) - 1), 0, -1):
            tail = " ".join(tokens[-size:])
            code = self._departements.get(tail)
            if code is None:
                continue
            head = tokens[:-size]
            while head and head[-1] in _QUALIFIER_CONNECTORS:
                head.pop()
            if head:
                return " ".join(head), code
        return key, None

    def _fuzzy(self, key: str) -> list[tuple[Place, float]]:
        if len(key.replace(" ", "")) < 3:
            return []
        out: list[tuple[Place, float]] = []
        for name_key, score in self._trigrams.search(key):
            insees = self._names.get(name_key) or self._bare_names.get(name_key) or []
            out.extend((self._places[i], score) for i in insees)
        return out

    # ------------------------------------------------------------------ main entry point

    def resolve(self, text: str) -> PlaceResolution:
        """Resolve free text (commune, postal code, arrondissement, "près de …") to a place.

        Args:
            text: What the usager typed, or an extracted entity.

        Returns:
            A :class:`PlaceResolution`; never raises on odd input.

        """
        query = text if isinstance(text, str) else ""
        key = normalize(query[:300])
        if not key:
            return PlaceResolution(status="not_found", query=query)
        if re.fullmatch(r"\d{4}", key) and f"0{key}" in self._postal:
            key = f"0{key}"
        postal = None
        m = _POSTAL_RE.search(key)
        if m:
            postal = m[1]
            key = " ".join((key[: m.start()] + " " + key[m.end() :]).split())
        key = canonical_arrondissements(key)
        core = strip_filler(key)
        if postal and (not core or all(t in _SPAN_STOPWORDS for t in core.split())):
            return self._resolve_postal(query, postal)

        name_part, dep_code = self._split_departement(core)
        how: str | None = None
        places: list[Place] = []
        fuzzy_scores: list[tuple[Place, float]] = []
        for candidate_key in (key, core):
            places, how = self._exact(candidate_key)
            if places:
                dep_code = None
                break
        else:
            if all(t in _SPAN_STOPWORDS for t in name_part.split()):
                return self._resolve_postal(query, postal) if postal else _not_found(query)
            places, how = self._exact(name_part)
            if not places and name_part in self._departements and not postal:
                return _not_found(query, match="departement")
            if not places:
                places, how = self._span_search(name_part, level=0)
            if not places:
                fuzzy_scores = self._fuzzy(name_part)
                if dep_code:
                    # "chateau su cher": a typo'd name ending like a département ("Cher").
                    whole = self._fuzzy(core)
                    if whole and (not fuzzy_scores or whole[0][1] > fuzzy_scores[0][1]):
                        fuzzy_scores, dep_code, name_part = whole, None, core
                if not fuzzy_scores or fuzzy_scores[0][1] < FUZZY_ACCEPT:
                    for level in (1, 2):
                        places, how = self._span_search(name_part, level=level)
                        if places:
                            break

        if postal:
            if not places:
                places = [p for p, s in fuzzy_scores if s >= FUZZY_SUGGEST]
                how = "fuzzy" if places else None
            return self._with_postal(query, postal, places, how)
        if dep_code:
            narrowed = [p for p in places if p.departement_code == dep_code]
            narrowed_fuzzy = [(p, s) for p, s in fuzzy_scores if p.departement_code == dep_code]
            places = narrowed or places
            fuzzy_scores = narrowed_fuzzy or fuzzy_scores
        if places:
            return _decide(query, places, how)
        return _decide_fuzzy(query, fuzzy_scores)

    def _resolve_postal(self, query: str, postal: str) -> PlaceResolution:
        places = self.by_postal_code(postal)
        if not places:
            return PlaceResolution(status="not_found", query=query, match="postal_code")
        if len(places) == 1:
            return PlaceResolution(
                status="found", query=query, place=places[0], match="postal_code", candidate_count=1
            )
        deps = Counter((p.departement_code, p.departement_name) for p in places)
        (dep_code, dep_name), _ = deps.most_common(1)[0]
        area = Place(
            name=postal,
            postal_code=postal,
            departement_code=dep_code,
            departement_name=dep_name,
            lat=round(sum(p.lat for p in places) / len(places), 6),
            lon=round(sum(p.lon for p in places) / len(places), 6),
            insee_code=None,
            kind="postal_code",
            postal_codes=(postal,),
            communes=tuple(p.name for p in places),
        )
        return PlaceResolution(
            status="found",
            query=query,
            place=area,
            match="postal_code",
            candidate_count=len(places),
        )

    def _with_postal(
        self, query: str, postal: str, places: list[Place], how: str | None
    ) -> PlaceResolution:
        by_cp = self.by_postal_code(postal)
        if not places:
            return self._resolve_postal(query, postal)
        cp_insees = {p.insee_code for p in by_cp}
        matching: list[Place] = []
        for p in places:
            if p.insee_code in cp_insees:
                matching.append(replace(p, postal_code=postal))
            elif p.kind == "city":
                matching.extend(
                    q for q in by_cp if self._city_of.get(str(q.insee_code)) == p.insee_code
                )
        matching = _dedupe(matching)
        match = "fuzzy" if how == "fuzzy" else "name+postal_code"
        if matching:
            return _decide(query, matching, match)
        deps = {p.departement_code for p in by_cp}
        same_dep = [p for p in places if p.departement_code in deps]
        if same_dep:
            return _decide(query, same_dep, match)
        # Name and postal code disagree: offer both readings.
        postal_result = self._resolve_postal(query, postal)
        options = _dedupe(
            ([postal_result.place] if postal_result.place else []) + places[:MAX_SUGGESTIONS]
        )
        return PlaceResolution(
            status="ambiguous",
            query=query,
            suggestions=tuple(options[:MAX_SUGGESTIONS]),
            match="conflict",
            candidate_count=len(options),
        )


def _parse_lat_lon(row: dict[str, str]) -> tuple[float, float] | None:
    try:
        lat, lon = float(row.get("latitude") or "nan"), float(row.get("longitude") or "nan")
    except ValueError:
        return None
    return (lat, lon) if is_valid_coordinate(lat, lon) else None


def _not_found(query: str, match: str | None = None) -> PlaceResolution:
    return PlaceResolution(status="not_found", query=query, match=match)


def _dedupe(places: Iterable[Place]) -> list[Place]:
    seen: set[tuple[str | None, str]] = set()
    out = []
    for p in places:
        ident = (p.insee_code, p.name if p.insee_code is None else "")
        if ident not in seen:
            seen.add(ident)
            out.append(p)
    return out


def _decide(query: str, places: list[Place], how: str | None) -> PlaceResolution:
    places = _dedupe(places)
    if len(places) == 1:
        return PlaceResolution(
            status="found", query=query, place=places[0], match=how, candidate_count=1
        )
    return PlaceResolution(
        status="ambiguous",
        query=query,
        suggestions=tuple(places[:MAX_SUGGESTIONS]),
        match=how,
        candidate_count=len(places),
    )


def _decide_fuzzy(query: str, scored: list[tuple[Place, float]]) -> PlaceResolution:
    if not scored:
        return PlaceResolution(status="not_found", query=query)
    best_score = scored[0][1]
    best_name = normalize(scored[0][0].name)
    runner_up = max(
        (s for p, s in scored if normalize(p.name) != best_name and s < best_score),
        default=0.0,
    )
    if best_score >= FUZZY_ACCEPT and best_score - runner_up >= FUZZY_MARGIN:
        top = [p for p, s in scored if s == best_score]
        return _decide(query, top, "fuzzy")
    strong = [p for p, s in scored if s >= FUZZY_ACCEPT]
    if len(strong) > 1:
        return _decide(query, strong, "fuzzy")
    suggestions = _dedupe(p for p, s in scored if s >= FUZZY_SUGGEST)
    return PlaceResolution(
        status="not_found",
        query=query,
        suggestions=tuple(suggestions[:MAX_SUGGESTIONS]),
        match="fuzzy" if suggestions else None,
        candidate_count=len(suggestions),
    )


@functools.lru_cache(maxsize=1)
def _load_place_resolver() -> PlaceResolver:
    return PlaceResolver.from_csv(COMMUNES_CSV)


def get_place_resolver() -> PlaceResolver:
    """Return the process-wide resolver, loading the communes file on first call (thread-safe)."""
    with _LOAD_LOCK:
        return _load_place_resolver()


def resolve_place(text: str) -> PlaceResolution:
    """Resolve ``text`` with the process-wide offline resolver (see :class:`PlaceResolver`)."""
    return get_place_resolver().resolve(text)
