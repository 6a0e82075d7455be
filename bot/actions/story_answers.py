"""Read the usager's typed answers to the experience-story form (pure functions, no Rasa).

Buttons send codes; these helpers turn typed words into the same codes: the channel
("par téléphone" → ``telephone``), the ressenti ("plutôt mauvais" → ``negatif``), the consent
("oui, j'accepte" → ``yes``), a skipped optional question ("passer", "je ne sais pas"), and the
service concerned ("la caf de Gap" → the ``caf`` organisme of ``orientation.catalogue``).
Matching works on ``orientation.text.normalize`` forms: lowercase, no accents, SMS forms expanded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from orientation.catalogue import Organisme
from orientation.text import normalize

SKIPPED = "skipped"
"""Slot value of an optional question the usager chose to skip."""

# Whole answers that mean "skip this question" (normalised forms).
_SKIP_ANSWERS = frozenset(
    {
        "passer",
        "passe",
        "je passe",
        "on passe",
        "passons",
        "je passe mon tour",
        "passer la question",
        "aucune suggestion",
        "suivant",
        "question suivante",
        "skip",
        "non",
        "non merci",
        "nan",
        "rien",
        "non rien",
        "rien a ajouter",
        "rien a dire",
        "rien de plus",
        "ras",
        "aucune",
        "aucun",
        "aucune idee",
        "pas d idee",
        "pas de suggestion",
        "pas de commentaire",
        "sans",
        "sans commentaire",
        "c est tout",
        "pas envie",
        "je prefere ne pas repondre",
        "je prefere pas",
        "je ne prefere pas",
    }
)
_DONT_KNOW = re.compile(r"^(?:je )?(?:ne )?(?:sais|sait|sai|se) (?:pas|plus)(?: trop)?$")

# Channel code → phrases that name it, checked in this order (the most specific first).
_CANAL_PHRASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "france_services",
        ("france services", "france service", "msap", "maison de services au public"),
    ),
    ("email", ("e mail", "email", "emails", "mail", "mails", "courriel", "courriels", "mel")),
    (
        "en_ligne",
        (
            "en ligne",
            "internet",
            "site",
            "site web",
            "web",
            "appli",
            "application",
            "espace personnel",
            "mon compte",
            "messagerie",
            "chat",
            "tchat",
            "visio",
        ),
    ),
    (
        "telephone",
        (
            "telephone",
            "tel",
            "phone",
            "appel",
            "appels",
            "appele",
            "appelee",
            "appeler",
            "telephonique",
            "portable",
        ),
    ),
    ("courrier", ("courrier", "courriers", "lettre", "lettres", "recommande", "postal")),
    (
        "guichet",
        (
            "guichet",
            "sur place",
            "accueil",
            "en personne",
            "physiquement",
            "bureau",
            "agence",
            "rendez vous",
            "je me suis deplace",
            "je me suis deplacee",
        ),
    ),
    ("autre", ("autre", "autrement", "autre chose", "plusieurs")),
)

_NEUTRE = ("neutre", "ni bien ni mal", "moyen", "moyenne", "mitige", "mitigee", "bof", "sans plus")
_NEUTRE_MORE = ("correct", "correcte", "comme ci comme ca", "couci couca", "mouais", "normal")
_NEGATIF = (
    "negatif",
    "negative",
    "mauvais",
    "mauvaise",
    "mal",
    "nul",
    "nulle",
    "horrible",
    "catastrophique",
    "catastrophe",
    "decu",
    "decue",
    "decevant",
    "decevante",
    "mecontent",
    "mecontente",
    "insatisfait",
    "insatisfaite",
    "penible",
    "galere",
    "scandaleux",
    "honteux",
    "lamentable",
    "terrible",
    "pas bien",
    "pas bon",
    "pas bonne",
    "pas top",
    "pas content",
    "pas contente",
    "pas satisfait",
    "pas satisfaite",
)
_POSITIF = (
    "positif",
    "positive",
    "pas mal",
    "bien",
    "bon",
    "bonne",
    "super",
    "satisfait",
    "satisfaite",
    "content",
    "contente",
    "top",
    "parfait",
    "excellent",
    "excellente",
    "genial",
    "ravi",
    "ravie",
    "agreable",
)

_CONSENT_NO = (
    "non",
    "nan",
    "refuse",
    "je refuse",
    "pas d accord",
    "ne veux pas",
    "veux pas",
    "jamais",
    "surtout pas",
    "pas question",
    "ne pas conserver",
    "ne gardez pas",
)
_CONSENT_YES = (
    "oui",
    "ouais",
    "ouai",
    "ok",
    "okay",
    "d accord",
    "dac",
    "j accepte",
    "accepte",
    "bien sur",
    "volontiers",
    "allez y",
    "yes",
    "je consens",
)


def _padded(text: str) -> str:
    """Normalised text with a space on each side, for whole-word phrase search."""
    return f" {normalize(text)} "


def _has_any(padded: str, phrases: Iterable[str]) -> bool:
    return any(f" {phrase} " in padded for phrase in phrases)


def is_skip(text: str | None) -> bool:
    """Tell whether an answer means "skip this optional question"."""
    if not isinstance(text, str):
        return False
    norm = normalize(text)
    return norm in _SKIP_ANSWERS or bool(_DONT_KNOW.match(norm))


def match_canal(text: str | None) -> str | None:
    """Return the channel code named in ``text`` (taxonomy ``CANAUX``), or None."""
    if not isinstance(text, str):
        return None
    padded = _padded(text)
    for code, phrases in _CANAL_PHRASES:
        if _has_any(padded, phrases):
            return code
    return None


def match_ressenti(text: str | None) -> str | None:
    """Return the ressenti code (``positif``, ``neutre``, ``negatif``) of ``text``, or None.

    Neutral words win ("ni bien ni mal"), then negations and negative words ("pas bien"),
    then positive words; "pas mal" is positive, as in everyday French.
    """
    if not isinstance(text, str):
        return None
    padded = _padded(text)
    if _has_any(padded, _NEUTRE) or _has_any(padded, _NEUTRE_MORE):
        return "neutre"
    if _has_any(padded, ("pas mal",)):
        return "positif"
    if _has_any(padded, _NEGATIF):
        return "negatif"
    if _has_any(padded, _POSITIF):
        return "positif"
    return None


def match_consent(text: str | None) -> str | None:
    """Return ``yes`` or ``no`` for a typed consent answer, or None when it is unclear."""
    if not isinstance(text, str):
        return None
    padded = _padded(text)
    if _has_any(padded, _CONSENT_NO):
        return "no"
    if _has_any(padded, _CONSENT_YES):
        return "yes"
    return None


def _organisme_keys(organisme: Organisme) -> set[str]:
    names = (organisme.short_name, organisme.name, *organisme.aliases)
    return {key for key in (normalize(name) for name in names) if key}


def match_organisme(text: str | None, organismes: Iterable[Organisme]) -> Organisme | None:
    """Return the organisme whose name or alias appears in ``text``, or None.

    When several appear, the one named first wins (the longest name on a tie), so "la caf
    puis la cpam" gives the CAF.
    """
    if not isinstance(text, str):
        return None
    padded = _padded(text)
    best: tuple[int, int] | None = None
    found: Organisme | None = None
    for organisme in organismes:
        for key in _organisme_keys(organisme):
            position = padded.find(f" {key} ")
            if position < 0:
                continue
            rank = (position, -len(key))
            if best is None or rank < best:
                best, found = rank, organisme
    return found


def is_short(text: str, max_words: int = 6, max_chars: int = 60) -> bool:
    """Tell whether a message is short enough to be a command rather than a story."""
    return len(text) <= max_chars and len(text.split()) <= max_words
