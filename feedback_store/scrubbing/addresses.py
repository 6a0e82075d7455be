"""Detect postal addresses: "12 rue des Lilas, 05000 Gap", "lieu-dit Les Granges", "BP 123".

An address starts at an optional house number (with bis/ter) followed by a street type. The
street name that follows is read token by token: capitalised words, particles and numbers
("rue du 8 Mai 1945"), and, when a house number was given, a few lower-case words typed in chat
("12 rue des lilas"). A following postal code and city (and Cedex) belong to the address. A
postal code or a commune on its own is not an address and is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .result import Kind, Replacement
from .vocabulary import ADMINISTRATIONS, COMMON_CAPITALISED, communes, normalize

# Street types whose name may be typed in lower case after a house number.
_TYPES_LOWER_OK = (
    r"rue|r\.|ruelle|avenue|av\.|boulevard|bd|bld|blvd|all[ée]e|impasse|imp\.|chemin|route|rte|quai"
    r"|place|pl\.|square|faubourg|fbg|chauss[ée]e|lotissement|r[ée]sidence|hameau"
    r"|lieu[- ]?dit|grande?[- ]rue|grand['’]rue"
)
# Street types that are also common words ("au cours de", "un mail", "mon passage"): their name
# must be capitalised.
_TYPES_CAPITAL_ONLY = (
    r"cours|passage|sentier|mont[ée]e|traverse|esplanade|promenade|rond-point|parvis|cit[ée]"
    r"|domaine|clos|venelle|voie|villa|mail|carrefour|lot\.|r[ée]s\."
)
# Types that need a house number before them to count ("mail", "voie", "passage" are too common).
_NEED_NUMBER = {"mail", "voie", "passage", "cours", "carrefour", "villa", "domaine", "clos"}
# Roads named after a destination town: without a number, "la route de Gap" is not an address.
_DESTINATION_TYPES = {"route", "rte", "chemin"}

_NUMBER = r"[0-9]{1,4}(?:[ \t]?-[ \t]?[0-9]{1,4})?(?:[ \t]?(?:bis|ter|quater|[A-Da-d])(?![\w]))?"
_TRIGGER = re.compile(
    rf"(?<![\w])(?:(?P<num>{_NUMBER})[ \t]*,?[ \t]*)?"
    rf"(?P<type>{_TYPES_LOWER_OK}|{_TYPES_CAPITAL_ONLY})(?![\w])",
    re.IGNORECASE,
)
_LOWER_OK = re.compile(rf"(?:{_TYPES_LOWER_OK})\Z", re.IGNORECASE)

_TOKEN = re.compile(
    r"[ \t]*(?P<tok>[dlDL]['’](?=\w)|[0-9]{1,4}(?:er|e|ème)?(?![\w])"
    r"|[^\W\d_]+(?:[\-'’][^\W\d_]+)*)"
)
_PARTICLES = {
    "de",
    "du",
    "des",
    "d'",
    "d’",
    "la",
    "le",
    "les",
    "l'",
    "l’",
    "aux",
    "au",
    "et",
    "lès",
}
# Lower-case words that end a street name typed in lower case.
_STOP_WORDS = frozenset(
    """
    a ai as avait avec car ce cet cette chez comme dans depuis donc elle elles est et était être
    il ils je j jamais la le les leur lui ma mais me mes moi mon ne nous on ont ou où par pas pour
    plus puis qu que qui sa sans se ses si son sont suis sur ta te toujours tout tu un une vers
    vous y à également aussi alors ici là mais même toutes tous depuis près loin car chez
    """.split()
)
_MAX_NAME_TOKENS = 7
_MAX_LOWER_TOKENS = 3

_POSTAL_TAIL = re.compile(
    r"[ \t]*,?[ \t]*(?:\n[ \t]*)?(?:(?:BP|CS|TSA)[ \t]*[0-9]{1,6}[ \t]*,?[ \t]*)?"
    r"(?:[0-9]{5}|[0-9]{2}[ \t][0-9]{3})[ \t]+[^\W\d_][\w'’]*(?:-[\w'’]+)*"
    r"(?:[ \t]+(?:(?:sur|sous|en|lès|les|le|la|de|du|des)[ \t]+)?[A-ZÀ-Ý][\w'’]*(?:-[\w'’]+)*){0,3}"
    r"(?:[ \t]+cedex(?:[ \t]*[0-9]{1,2})?)?",
)
_COMPLEMENT = re.compile(
    r"(?:[ \t]*,?[ \t]*(?:b[âa]timent|b[âa]t\.?|escalier|esc\.|appartement|appart\.?|appt\.?"
    r"|apt\.?|porte|entr[ée]e|[ée]tage|logement|log\.)[ \t]*n?°?[ \t]*[A-Za-z0-9]{1,4}"
    r"(?![\w])){1,3}",
    re.IGNORECASE,
)
_POSTAL_BOX = re.compile(
    r"(?<![\w])(?:BP|B\.P\.|CS|TSA|[Bb]o[îi]te[ \t]+[Pp]ostale)[ \t]*n?°?[ \t]*[0-9]{1,6}(?![\w])"
)


def _read_street_name(text: str, pos: int, lower_allowed: bool) -> tuple[int, list[str]]:
    """Read the street name starting at ``pos``; return its end offset and its significant words."""
    end = cursor = pos
    words: list[str] = []
    lower_count = 0
    for _ in range(_MAX_NAME_TOKENS + 3):
        match = _TOKEN.match(text, cursor)
        if match is None or (match.start("tok") > cursor and "\n" in text[cursor : match.start()]):
            break
        token = match.group("tok")
        lowered = token.lower()
        if token[0].islower() and lowered in _PARTICLES or lowered in {"d'", "l'", "d’", "l’"}:
            cursor = match.end()
            continue  # a particle is only kept if a name word follows
        if token[0].isupper() and words and normalize(token) in ADMINISTRATIONS:
            break  # "11 rue du 8 Mai 1945 et le CCAS"
        if token[0].isdigit() or token[0].isupper():
            words.append(token)
        elif lower_allowed and lowered not in _STOP_WORDS and lower_count < _MAX_LOWER_TOKENS:
            words.append(token)
            lower_count += 1
        else:
            break
        cursor = match.end()
        end = cursor
        if len(words) >= _MAX_NAME_TOKENS:
            break
    return end, words


def _is_public_name(words: list[str]) -> bool:
    capitalised = [word for word in words if not word[0].isdigit()]
    return bool(capitalised) and all(
        normalize(word) in ADMINISTRATIONS or normalize(word) in COMMON_CAPITALISED
        for word in capitalised
    )


def detect_addresses(text: str) -> Iterator[Replacement]:
    """Yield street addresses (with postal code and city when they follow) and postal boxes."""
    covered_until = 0
    for match in _TRIGGER.finditer(text):
        if match.start() < covered_until:
            continue
        street_type = normalize(match.group("type")).rstrip(".")
        has_number = match.group("num") is not None
        if street_type in _NEED_NUMBER and not has_number:
            continue
        lower_allowed = has_number and _LOWER_OK.match(match.group("type")) is not None
        end, words = _read_street_name(text, match.end(), lower_allowed)
        if not words:
            continue
        if not has_number:
            if not any(word[0].isupper() for word in words) or _is_public_name(words):
                continue
            if street_type in _DESTINATION_TYPES and normalize(" ".join(words)) in communes():
                continue
        complement = _COMPLEMENT.match(text, end)
        if complement is not None:
            end = complement.end()
        tail = _POSTAL_TAIL.match(text, end)
        if tail is not None:
            end = tail.end()
        covered_until = end
        yield Replacement(Kind.ADRESSE, match.start(), end)
    for match in _POSTAL_BOX.finditer(text):
        end = match.end()
        tail = _POSTAL_TAIL.match(text, end)
        if tail is not None:
            end = tail.end()
        yield Replacement(Kind.ADRESSE, match.start(), end)
