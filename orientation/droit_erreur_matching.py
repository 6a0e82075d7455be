"""Map what an usager types during the droit à l'erreur check to stable answer codes.

Buttons send codes directly; these matchers cover typed answers ("c'est la caf",
"j'sais pas", "non pas de fraude"). Matching is on whole words, without accents nor case.
A keyword preceded closely by a negation ("pas", "aucune", "sans"…) does not count.
Every matcher returns ``None`` when it cannot tell, so that the form asks again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from orientation.droit_erreur import EXCEPTION_NONE
from orientation.droit_erreur_data import DroitErreurData, get_droit_erreur_data

UNKNOWN = "unknown"

_NEGATIONS = frozenset({"pas", "aucun", "aucune", "sans", "ni", "jamais", "non", "nan"})
_NEGATION_REACH = 2  # a negation this many words before a keyword cancels it

_UNKNOWN_WORDS = (
    "je sais pas",
    "sais pas",
    "sait pas",
    "ne sais",
    "sais plus",
    "aucune idee",
    "nsp",
    "jsp",
    "chais pas",
    "j en sais rien",
    "pas sur",
    "pas sure",
    "peut etre",
    "incertain",
    "je doute",
)
_NO_WORDS = ("non", "nan", "no", "nope", "pas du tout", "absolument pas", "pas vraiment", "negatif")
_YES_WORDS = (
    "oui",
    "ouais",
    "ouai",
    "ouii",
    "yes",
    "yep",
    "exact",
    "exactement",
    "tout a fait",
    "bien sur",
    "absolument",
    "d accord",
    "ok",
    "okay",
    "c est ca",
    "carrement",
    "evidemment",
    "effectivement",
    "bien entendu",
    "affirmatif",
)

_ERROR_KIND_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Ordered: the first kind found wins ("oublié d'envoyer un justificatif" is a document).
    (
        "missing_document",
        (
            "piece",
            "pieces",
            "document",
            "documents",
            "justificatif",
            "justificatifs",
            "papier",
            "papiers",
            "attestation",
            "attestations",
            "manquant",
            "manquante",
            "manquants",
        ),
    ),
    (
        "late_declaration",
        (
            "retard",
            "hors delai",
            "trop tard",
            "apres la date",
            "date limite",
            "delai",
            "tardive",
            "tardivement",
        ),
    ),
    (
        "wrong_amount",
        (
            "montant",
            "montants",
            "somme",
            "chiffre",
            "chiffres",
            "case",
            "cases",
            "mauvais",
            "mauvaise",
            "calcul",
            "trompe",
            "trompee",
            "faux",
            "fausse",
            "errone",
            "erronee",
            "inexact",
            "inexacte",
        ),
    ),
    (
        "omission",
        (
            "oubli",
            "oublie",
            "oubliee",
            "oublier",
            "omis",
            "omise",
            "omission",
            "pas declare",
            "pas declaree",
            "pas signale",
            "pas signalee",
            "pas dit",
            "pas prevenu",
        ),
    ),
    ("other", ("autre", "autre chose")),
)

_EXCEPTION_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "fraud",
        (
            "fraude",
            "frauder",
            "fraudes",
            "fausse declaration",
            "faux document",
            "faux papiers",
            "falsifie",
            "volontairement",
            "expres",
        ),
    ),
    (
        "health_safety",
        (
            "sante",
            "securite",
            "danger",
            "dangereux",
            "environnement",
            "pollution",
            "hygiene",
        ),
    ),
    (
        "international",
        ("europe", "europeen", "europeenne", "union europeenne", "international", "internationale"),
    ),
    ("contract", ("contrat", "contractuel", "contractuelle", "marche public")),
)
_NONE_WORDS = ("non", "nan", "aucun", "aucune", "rien", "pas du tout", "none", "ni l un ni l autre")

_CORRECTION_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Ordered: refusal and missed deadline before "planned" ("je vais pas" is a refusal).
    (UNKNOWN, _UNKNOWN_WORDS),
    (
        "refused",
        (
            "je ne veux pas",
            "je veux pas",
            "refuse",
            "pas l intention",
            "ne compte pas",
            "compte pas",
            "hors de question",
            "pas envie",
            "je ne vais pas",
            "je vais pas",
        ),
    ),
    (
        "deadline_missed",
        (
            "delai depasse",
            "delai est depasse",
            "depasse le delai",
            "delai passe",
            "delai expire",
            "trop tard",
            "hors delai",
            "date depassee",
        ),
    ),
    (
        "planned",
        (
            "pas encore",
            "je vais",
            "vais le faire",
            "bientot",
            "je compte",
            "pas fait",
            "prochainement",
            "demain",
            "en cours",
            "non",
            "nan",
        ),
    ),
    (
        "done",
        (
            "deja",
            "c est fait",
            "fait",
            "corrige",
            "corrigee",
            "regularise",
            "rectifie",
            "envoye",
            "renvoye",
            *_YES_WORDS,
        ),
    ),
)


def normalize(text: str) -> str:
    """Lower-case, strip accents and punctuation, collapse spaces.

    Args:
        text: Raw user text.

    Returns:
        Words separated by single spaces ("J'ai oublié !" → "j ai oublie").

    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _positions(words: list[str], phrase: str) -> list[int]:
    target = phrase.split()
    size = len(target)
    return [i for i in range(len(words) - size + 1) if words[i : i + size] == target]


def _mentions(words: list[str], phrases: Iterable[str], negatable: bool = False) -> bool:
    for phrase in phrases:
        for start in _positions(words, phrase):
            before = words[max(0, start - _NEGATION_REACH) : start]
            if not (negatable and _NEGATIONS.intersection(before)):
                return True
    return False


def _first_match(words: list[str], table: Iterable[tuple[str, tuple[str, ...]]]) -> str | None:
    return next((code for code, phrases in table if _mentions(words, phrases)), None)


def match_answer(text: str) -> str | None:
    """Read a yes / no / don't-know answer.

    Args:
        text: Raw user text.

    Returns:
        ``"yes"``, ``"no"``, ``"unknown"``, or ``None`` when the text is none of those.

    """
    words = normalize(text).split()
    return _first_match(words, ((UNKNOWN, _UNKNOWN_WORDS), ("no", _NO_WORDS), ("yes", _YES_WORDS)))


def match_error_kind(text: str) -> str | None:
    """Read the kind of error (one of ``orientation.droit_erreur.ERROR_KINDS``).

    Args:
        text: Raw user text.

    Returns:
        The error kind code, or ``None``.

    """
    return _first_match(normalize(text).split(), _ERROR_KIND_WORDS)


def match_exception(text: str) -> str | None:
    """Read the answer about exceptions (fraud, health and safety, European law, contract).

    Args:
        text: Raw user text.

    Returns:
        A code from ``orientation.droit_erreur.EXCEPTIONS`` (``"no_exception"`` included),
        ``"unknown"``, or ``None``.

    """
    words = normalize(text).split()
    if _mentions(words, _UNKNOWN_WORDS):
        return UNKNOWN
    for code, phrases in _EXCEPTION_WORDS:
        if _mentions(words, phrases, negatable=True):
            return code
    if _mentions(words, _NONE_WORDS) or _NEGATIONS.intersection(words):
        return EXCEPTION_NONE
    return None


def match_correction(text: str) -> str | None:
    """Read where the usager stands with correcting the error.

    Args:
        text: Raw user text.

    Returns:
        A code from ``orientation.droit_erreur.CORRECTIONS``, ``"unknown"``, or ``None``.

    """
    return _first_match(normalize(text).split(), _CORRECTION_WORDS)


def match_administration(text: str, data: DroitErreurData | None = None) -> str | None:
    """Find which administration the text names.

    Args:
        text: Raw user text.
        data: Administration data (defaults to the project's data file).

    Returns:
        The administration code when exactly one specific administration is named
        (``"autre"`` when only "autre"-like words are), else ``None``.

    """
    data = data or get_droit_erreur_data()
    words = normalize(text).split()
    found = [
        info.code
        for info in data.administrations.values()
        if _mentions(words, [normalize(alias) for alias in (*info.aliases, info.code)])
    ]
    specific = [code for code in found if code != "autre"]
    if len(specific) == 1:
        return specific[0]
    if not specific and found:
        return "autre"
    return None
