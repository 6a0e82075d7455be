"""French text normalisation helpers: accents, case, SMS forms, glued elisions, filler words.

Pure functions, no I/O, cheap to import. ``normalize`` is the canonical form used for matching:
lowercase, no accents, no punctuation, common SMS/typo forms expanded (``jveux`` → ``je veux``,
``g`` → ``j ai``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
_APOSTROPHES = re.compile(r"[’'`´ʼ‘]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")

#: Familiar, SMS and frequent typo forms (already lowercased and accent-free) → canonical words.
SMS_FORMS: dict[str, str] = {
    "jveux": "je veux",
    "jvx": "je veux",
    "jvoudrais": "je voudrais",
    "jvoudrai": "je voudrais",
    "jvoudre": "je voudrais",
    "jpeux": "je peux",
    "jpx": "je peux",
    "jpe": "je peux",
    "jdois": "je dois",
    "jdoi": "je dois",
    "jsuis": "je suis",
    "jsui": "je suis",
    "chui": "je suis",
    "chuis": "je suis",
    "jsais": "je sais",
    "jsp": "je sais pas",
    "jcomprends": "je comprends",
    "jcomprend": "je comprends",
    "jcherche": "je cherche",
    "jarrive": "j arrive",
    "jai": "j ai",
    "jaimerais": "j aimerais",
    "g": "j ai",
    "c": "c est",
    "cest": "c est",
    "ya": "il y a",
    "yen": "il y en",
    "ke": "que",
    "koi": "quoi",
    "kel": "quel",
    "kelle": "quelle",
    "kan": "quand",
    "qd": "quand",
    "koman": "comment",
    "komment": "comment",
    "cmt": "comment",
    "cmnt": "comment",
    "pr": "pour",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "pcq": "parce que",
    "pck": "parce que",
    "ds": "dans",
    "dc": "donc",
    "tt": "tout",
    "ts": "tous",
    "tjr": "toujours",
    "tjrs": "toujours",
    "mm": "meme",
    "vs": "vous",
    "ns": "nous",
    "qq": "quelque",
    "qqn": "quelqu un",
    "qqch": "quelque chose",
    "bcp": "beaucoup",
    "mn": "mon",
    "fo": "faut",
    "pa": "pas",
    "rdv": "rendez vous",
    "rdz": "rendez vous",
    "secu": "securite sociale",
    "alloc": "allocations",
    "allocs": "allocations",
    "ptt": "poste",
    "chomdu": "chomage",
    "taf": "travail",
    "proprio": "proprietaire",
    "appart": "appartement",
    "ordi": "ordinateur",
    "boulot": "travail",
    "papie": "papiers",
    "papies": "papiers",
    "otorisation": "autorisation",
}

#: Words that carry no routing information: function words, politeness and request framing.
#: Domain words ("aide", "carte", "demande") are deliberately NOT here.
FILLER_WORDS: frozenset[str] = frozenset(
    """
    a ai aie ais ait alors au aux avec avoir avais avait ayant bah ben bien bjr bonjour bonsoir
    bsr c ca ce cela celle celui ces cet cette chez comme comment concernant d dans de des dois
    doit donc du elle elles en encore est et etais etait etre eu faire fais fait faut hello hein
    il ils j je jamais la le les leur leurs lui m ma madame mais me merci mes mesdames messieurs
    moi mon monsieur n ne ni nous on ont ou oui par pas peu peut peux plait pour pourquoi
    pourrais pourriez pouvez puis quand que quel quelle quelles quels qui quoi s sa salut sais
    savoir se ses si sil slt sommes son sont stp suis sur svp t ta te tes toi ton tres tu un une
    vais veut veux voila voudrais voudrait votre vos vous vouloir voulu y
    svp stp mrc bcp aimerais souhaite souhaiterais besoin aider aidez renseignement renseignements
    info infos information question demander demande dmd sais trouve dire svp
    """.split()
)

_GLUE_PREFIXES = ("qu", "d", "l", "j", "m", "n", "s", "t", "c")


def strip_accents(text: str) -> str:
    """Remove diacritics and expand ligatures (``é`` → ``e``, ``œ`` → ``oe``).

    Args:
        text: Any Unicode string.

    Returns:
        The same text without combining marks.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def basic_clean(text: str) -> str:
    """Lowercase, strip accents, turn apostrophes and punctuation into spaces.

    Args:
        text: Raw user text.

    Returns:
        Space-separated ``[a-z0-9]`` tokens.
    """
    text = strip_accents(text.lower())
    text = _APOSTROPHES.sub(" ", text)
    text = _NON_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def expand_sms(tokens: Iterable[str]) -> list[str]:
    """Expand SMS and familiar forms token by token using :data:`SMS_FORMS`.

    Args:
        tokens: Cleaned tokens (lowercase, no accents).

    Returns:
        Tokens where known forms are replaced by their canonical words.
    """
    out: list[str] = []
    for token in tokens:
        replacement = SMS_FORMS.get(token)
        out.extend(replacement.split() if replacement else [token])
    return out


def split_glued_elisions(tokens: Sequence[str], vocabulary: frozenset[str] | set[str]) -> list[str]:
    """Split elisions typed without apostrophe when the remainder is a known word.

    ``didentite`` → ``d identite`` if ``identite`` is in ``vocabulary`` and ``didentite`` is not.

    Args:
        tokens: Cleaned tokens.
        vocabulary: Known (normalised) words, typically the catalogue vocabulary.

    Returns:
        Tokens with glued elisions split.
    """
    out: list[str] = []
    for token in tokens:
        if token in vocabulary or len(token) < 5:
            out.append(token)
            continue
        for prefix in _GLUE_PREFIXES:
            rest = token[len(prefix) :]
            if token.startswith(prefix) and len(rest) >= 4 and rest in vocabulary:
                out.extend((prefix, rest))
                break
        else:
            out.append(token)
    return out


def normalize(text: str, vocabulary: frozenset[str] | set[str] | None = None) -> str:
    """Return the canonical matching form of ``text``.

    Args:
        text: Raw user text.
        vocabulary: Optional known words enabling the glued-elision split.

    Returns:
        Lowercase, accent-free, punctuation-free text with SMS forms expanded.
    """
    tokens = expand_sms(basic_clean(text).split())
    if vocabulary:
        tokens = split_glued_elisions(tokens, vocabulary)
    return " ".join(tokens)


def content_tokens(normalized: str) -> list[str]:
    """Drop filler words (function words, politeness, request framing) from normalised text.

    Args:
        normalized: Output of :func:`normalize`.

    Returns:
        Remaining tokens, in order.
    """
    return [t for t in normalized.split() if t not in FILLER_WORDS]
