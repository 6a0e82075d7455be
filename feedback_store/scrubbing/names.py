"""Detect person names: French rules plus spaCy ``PER`` entities, filtered against look-alikes.

Rules: a name after a civility title ("Mme Martin", "M. DURAND", "Maître Fabre"), after a
self-introduction ("je m'appelle…", "mon nom est…", also in lower case), after a kinship or
role word ("mon fils Lucas", "la conseillère Sandrine"), after thanks ("merci à Kévin"), after a
closing formula ("Cordialement, Nathalie Girard"), and capitalised words starting with a known
first name ("Julie", "Karim Benali"; unambiguous ones also in lower case). spaCy entities and
rule matches go through the same filter: role words ("Madame la directrice"), administrations
("France Travail"), greetings, acronyms, a capitalised common word opening a sentence ("Acheter
un timbre"), communes named as places ("la mairie de Briançon") and public places named after
people ("lycée Victor Hugo") are not names. Every word of a detected name is then looked for
elsewhere in the text, so "Mme Martin… Martin m'a dit" is replaced twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from .result import Kind, Replacement
from .vocabulary import (
    ADMINISTRATIONS,
    COMMON_CAPITALISED,
    FIRST_NAMES,
    LOWERCASE_FIRST_NAMES,
    ROLES,
    communes,
    normalize,
)

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

_U = "A-ZÀ-ÖØ-ÞŒ"
_L = "a-zß-öø-ÿœ"
_NAME_WORD = rf"[{_U}](?:['’][{_U}])?[{_L}{_U}]+(?:['’\-][{_U}{_L}][{_L}{_U}]*)*(?![\w])"
_INITIAL = rf"[{_U}]\.(?:[ \t]?-?[{_U}]\.)?"
_PARTICLE = (
    r"(?:de|du|des|van|von|der|den|le|la|ben|bin|bent|el|al|da|di|do|dos|das|del|della|ibn|ould"
    r"|ait|aït)"
)
NAME = (
    rf"(?:(?:{_INITIAL}[ \t]*)?{_NAME_WORD}"
    rf"(?:(?:[ \t]+(?:{_PARTICLE}[ \t]+)?|[ \t]+d['’]){_NAME_WORD}){{0,3}}"
    rf"|{_INITIAL}|[{_U}](?![\w]))"
)
_LOWER_NAME = rf"[{_L}]{{2,}}(?:-[{_L}]{{2,}})?(?:[ \t]+[{_L}]{{2,}}(?:-[{_L}]{{2,}})?)?"

_TITLE = (
    r"(?:M\.|MM\.|Mr\.?|Mme\.?|Mmes|Mlle\.?|Melle|Mle|Dr\.?|Dre|Pr\.?|Me"
    r"|(?i:monsieur|madame|mademoiselle|docteure?|professeure?|ma[îi]tre))"
)
_TITLE_RULE = re.compile(
    rf"(?<![\w]){_TITLE}[ \t]+(?P<name>(?:(?:de|du|des|van|von|da|di|le|la)[ \t]+|d['’])?{NAME})"
)

_INTRO = (
    r"je[ \t]+m['’][ \t]?appelle|je[ \t]+me[ \t]+nomme|(?:mon|son|ton)[ \t]+(?:pr[ée]nom|nom"
    r"(?:[ \t]+de[ \t]+famille)?)[ \t]+(?:est|c['’][ \t]?est)(?:[ \t]*:)?"
    r"|s['’][ \t]?appel(?:le|lent|ait|aient)|(?:^|\n)[ \t]*(?:nom|pr[ée]nom)[ \t]*:"
)
_INTRO_RULE = re.compile(
    rf"(?<![\w])(?i:{_INTRO})[ \t]+(?:(?P<name>{NAME})|(?P<lower>{_LOWER_NAME}))", re.MULTILINE
)

_KIN = (
    r"fils|filles?|enfants?|b[ée]b[ée]|mari|[ée]poux|[ée]pouse|femme|compagnon|compagne|conjointe?"
    r"|concubine?|p[èe]re|m[èe]re|fr[èe]re|s(?:œ|oe)ur|grand-p[èe]re|grand-m[èe]re|oncle|tante"
    r"|neveu|ni[èe]ce|cousine?|voisine?|beau-p[èe]re|belle-m[èe]re|beau-fr[èe]re|belle-s(?:œ|oe)ur"
    r"|petit-fils|petite-fille|amie?|copain|copine|ex|ex-mari|ex-femme|ex-compagne?|conseill(?:er"
    r"|[èe]re)|r[ée]f[ée]rente?|assistante?[ \t]+sociale?|m[ée]decin|avocate?|employeur|patronne?"
    r"|propri[ée]taire|bailleur|tut(?:eur|rice)|curat(?:eur|rice)|aide[- ]soignante?"
)
_ROLE = (
    r"agente?|conseill(?:er|[èe]re)|assistante?[ \t]+sociale?|guichet(?:ier|i[èe]re)|dame|monsieur"
    r"|employ[ée]e?|h[ôo]tesse|secr[ée]taire|m[ée]decin|docteure?|infirmi(?:er|[èe]re)"
    r"|direct(?:eur|rice)|responsable|coll[èe]gue|instruct(?:eur|rice)|m[ée]diat(?:eur|rice)"
    r"|r[ée]f[ée]rente?"
)
_THANKS = (
    r"merci[ \t]+(?:beaucoup[ \t]+|encore[ \t]+)?(?:à|a)|remercie(?:r)?(?:[ \t]+(?:vivement"
    r"|beaucoup|sinc[èe]rement|particuli[èe]rement))?|f[ée]liciter|gentillesse[ \t]+de|gr[âa]ce"
    r"[ \t]+[àa]|un[ \t]+certain|une[ \t]+certaine|moi[ \t]+c['’][ \t]?est"
    r"|je[ \t]+me[ \t]+pr[ée]sente[ \t]*[,:]?|je[ \t]+suis|sign[ée][ \t]*:?"
)
_CONTEXT_RULE = re.compile(
    rf"(?<![\w])(?i:(?:(?:mon|ma|mes|notre|nos|son|sa|ses|leur|votre|ton|ta)[ \t]+(?:{_KIN})"
    rf"|(?:le|la|l['’]|un|une|cet|cette|notre|votre)[ \t]*(?:{_ROLE})(?:[ \t]+d['’]accueil)?"
    rf"|{_THANKS}))[ \t]*,?[ \t]+(?:{_TITLE}[ \t]+)?(?P<name>{NAME})"
)
_CLOSING = (
    r"(?:bien[ \t]+)?cordialement|bien[ \t]+[àa][ \t]+vous|(?:(?:sinc[èe]res|meilleures"
    r"|respectueuses)[ \t]+)?salutations(?:[ \t]+distingu[ée]es)?|respectueusement|amicalement"
    r"|cdlt|cdt|merci[ \t]+(?:d['’]avance|par[ \t]+avance)|bonne[ \t]+(?:journ[ée]e|soir[ée]e)"
)
_SIGNATURE_RULE = re.compile(
    rf"(?<![\w])(?i:{_CLOSING})[ \t]*[,.!]?[ \t]*\n?[ \t]*"
    rf"(?:(?P<name>{NAME})|(?P<lower>{_LOWER_NAME}))(?=[ \t]*(?:[.,!]|\n|$))"
)
_LOWER_WORD = re.compile(rf"(?<![\w\-'’])[{_L}]{{3,}}(?![\w\-'’])")
_CAPITALISED_RUN = re.compile(rf"(?<![\w\-'’])(?P<name>{NAME})")
_AND_NAME = re.compile(rf"[ \t]*(?:,[ \t]*)?(?:et|ou)[ \t]+(?:{_TITLE}[ \t]+)?(?P<name>{NAME})")

_PLACE_BEFORE = re.compile(
    r"(?:(?<![\w])(?:à|a|au|aux|vers|sur|près[ \t]+de|depuis|habite|vis|vit|en|entre|et)[ \t]+"
    r"|(?<![\w])(?:mairie|commune|ville|village|caf|cpam|msa|agence|services?|pr[ée]fecture"
    r"|poste|centre|antenne|permanence|h[ôo]pital|gare|tribunal|coll[èe]ge|lyc[ée]e|[ée]cole"
    r"|travail|emploi|imp[ôo]ts|sip|ccas|bureau|urgences|route|r[ée]gion|secteur|canton)"
    r"[ \t]+(?:de[ \t]+|d['’][ \t]*|du[ \t]+))$",
    re.IGNORECASE,
)
#: A public place named after a person ("lycée Victor Hugo", "médiathèque Jean Moulin").
_FACILITY_BEFORE = re.compile(
    r"(?<![\w])(?:lyc[ée]e|coll[èe]ge|[ée]cole|groupe[ \t]+scolaire|m[ée]diath[èe]que"
    r"|biblioth[èe]que|h[ôo]pital|clinique"
    r"|centre(?:[ \t]+(?:hospitalier|social|culturel|m[ée]dical))?"
    r"|salle|gymnase|stade|piscine|espace|maison|foyer|ehpad|institut|universit[ée]|campus|gare"
    r"|a[ée]roport|th[ée][âa]tre|mus[ée]e|parc|square|quartier|cit[ée]|r[ée]sidence|pont"
    r"|place|rue|avenue|boulevard|all[ée]e|quai)[ \t]+$",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[^\s,;:!?()\"«»]+")
_PARTICLES = {
    "de", "du", "des", "d", "van", "von", "der", "den", "le", "la", "ben", "bin", "bent", "el",
    "al", "da", "di", "do", "dos", "das", "del", "della", "ibn", "ould", "ait", "et",
}  # fmt: skip
_TITLE_WORDS = {
    "m", "mm", "mr", "mme", "mmes", "mlle", "melle", "mle", "dr", "dre", "pr", "me", "monsieur",
    "madame", "mademoiselle", "docteur", "docteure", "professeur", "professeure", "maitre",
}  # fmt: skip
# Determiners that spaCy sometimes glues to an entity ("Mon RIB"); "Le"/"La" are kept ("Le Gall").
_DETERMINERS = {
    "mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses", "notre", "nos", "votre", "vos",
    "leur", "leurs", "ce", "cet", "cette", "ces", "un", "une", "des", "du",
}  # fmt: skip
_NOT_A_NAME = ADMINISTRATIONS | COMMON_CAPITALISED | ROLES
_MIN_PROPAGATED_LENGTH = 3
_STOP = frozenset(
    """
    a ai au aux avec c ca car ce ces cet cette comme dans de depuis des donc du elle en est et
    etait il ils je la le les leur lui ma mais me mes moi mon ne nous on ou par pas plus pour
    quand que qui sa sans se ses si son sont suis sur ta te tres tu un une vous y pareil rien tout
    vraiment bien mal super merci bonjour juste deja encore toujours jamais ici la aussi madame
    monsieur
    """.split()
)


def _word_key(token: str) -> str:
    return normalize(token.rstrip("."))


def _is_particle(word: str) -> bool:
    return word[:1].islower() and _word_key(word) in _PARTICLES


def clean_name_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Trim titles, roles and trailing common words from a candidate name span.

    Args:
        text: The folded text.
        start: Candidate start offset.
        end: Candidate end offset.

    Returns:
        The trimmed ``(start, end)``, or None when nothing name-like is left.
    """
    tokens = [
        (match.start(), match.end(), match.group()) for match in _TOKEN.finditer(text, start, end)
    ]
    while tokens and (
        _word_key(tokens[0][2]) in _TITLE_WORDS
        or _word_key(tokens[0][2]) in _DETERMINERS
        or not tokens[0][2][:1].isupper()
    ):
        tokens.pop(0)
    cut = len(tokens)
    for index, (_, _, word) in enumerate(tokens):
        acronym = (
            word.isupper() and len(word) <= 5 and index > 0 and _is_particle(tokens[index - 1][2])
        )
        if index > 0 and (_word_key(word) in ADMINISTRATIONS or acronym):
            cut = index  # "Sandrine de la France services", "Nguyen du CHU"
            break
    tokens = tokens[:cut]
    while tokens and (
        _is_particle(tokens[-1][2]) or (_word_key(tokens[-1][2]) in _NOT_A_NAME and len(tokens) > 1)
    ):
        tokens.pop()
    significant = [word for _, _, word in tokens if not _is_particle(word)]
    if not significant:
        return None
    if all(_word_key(word) in _NOT_A_NAME for word in significant):
        return None
    if _word_key(" ".join(word for _, _, word in tokens)) in _NOT_A_NAME:
        return None
    if any(char.isdigit() or char in "[]@/" for _, _, word in tokens for char in word):
        return None
    return tokens[0][0], tokens[-1][1]


def _lower_name_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Keep the leading words of a lower-case name until a common word."""
    kept_end = None
    for match in _TOKEN.finditer(text, start, end):
        word = match.group()
        if _word_key(word) in _STOP or _word_key(word) in _NOT_A_NAME:
            break
        kept_end = match.end()
    return (start, kept_end) if kept_end else None


def detect_name_rules(text: str) -> Iterator[Replacement]:
    """Yield names found by the rules.

    Titles, introductions, kinship and role words, thanks, signatures, and known first names.
    """
    for rule in (_TITLE_RULE, _INTRO_RULE, _CONTEXT_RULE, _SIGNATURE_RULE):
        for match in rule.finditer(text):
            if match.groupdict().get("name"):
                span = clean_name_span(text, match.start("name"), match.end("name"))
            else:
                span = _lower_name_span(text, match.start("lower"), match.end("lower"))
            if span is not None:
                yield Replacement(Kind.NOM, *span)
    yield from detect_first_names(text)


def detect_first_names(text: str) -> Iterator[Replacement]:
    """Yield runs of capitalised words starting at a known first name ("Karim Benali").

    Also yields unambiguous first names typed in lower case ("kevin").
    """
    for match in _CAPITALISED_RUN.finditer(text):
        for token in _TOKEN.finditer(text, match.start(), match.end()):
            parts = token.group().split("-")
            if all(normalize(part) in FIRST_NAMES for part in parts):
                span = clean_name_span(text, token.start(), match.end())
                if span is not None and not _is_place(text, *span):
                    yield Replacement(Kind.NOM, *span)
                break
    for match in _LOWER_WORD.finditer(text):
        if normalize(match.group()) in LOWERCASE_FIRST_NAMES:
            yield Replacement(Kind.NOM, match.start(), match.end())


def _is_place(text: str, start: int, end: int) -> bool:
    """Tell whether ``text[start:end]`` names a place.

    Either a public place named after a person ("lycée Victor Hugo"), or a commune named as a
    place ("la mairie de Briançon"); a lone first name that is also a commune ("Marie") is not.
    """
    if _FACILITY_BEFORE.search(text, max(0, start - 30), start) is not None:
        return True
    key = normalize(text[start:end])
    if key not in communes() or (key in FIRST_NAMES and " " not in key):
        return False
    if " " in key:
        return True
    return _PLACE_BEFORE.search(text[max(0, start - 40) : start]) is not None


def components_not_needed(nlp: Language) -> list[str]:
    """Return the pipeline components that the ``ner`` component does not depend on.

    In ``fr_core_news_md`` the NER has its own embedding layer, so the shared ``tok2vec``,
    morphologizer and lemmatizer can be skipped (half the time, same entities).
    """
    if "ner" not in nlp.pipe_names:
        return []
    listens = any("listener" in node.name for node in nlp.get_pipe("ner").model.walk())
    return [
        name for name in nlp.pipe_names if name != "ner" and not (listens and name == "tok2vec")
    ]


def french_lexicon(nlp: Language) -> Callable[[str], bool]:
    """Return a predicate telling whether a lower-case word is a French common word.

    It reads the rule lemmatizer's tables of the pipeline (word forms and lemmas of nouns,
    verbs, adjectives and adverbs); without a lemmatizer every word is unknown.
    """
    if "lemmatizer" not in nlp.pipe_names:
        return lambda word: False
    lookups = nlp.get_pipe("lemmatizer").lookups
    known: set[str] = set()
    if lookups.has_table("lemma_index"):
        index = lookups.get_table("lemma_index")
        for pos in ("noun", "verb", "adj", "adv"):
            known.update(index.get(pos) or ())
    forms = lookups.get_table("lemma_lookup") if lookups.has_table("lemma_lookup") else None
    if forms is not None:
        for lemmas in forms.values():
            known.update(lemmas if isinstance(lemmas, list) else [lemmas])
    return lambda word: word in known or (forms is not None and word in forms)


_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n«\"(])[\s\-–—*•«\"']*$")


def _is_false_person(
    text: str, start: int, end: int, is_common_word: Callable[[str], bool]
) -> bool:
    """Tell whether a spaCy PER span is an acronym, an organisation or a capitalised common word."""
    words = text[start:end].split()
    first = _word_key(words[0])
    if first in ADMINISTRATIONS:
        return True  # "France Rénov", "CAF Gap"
    if len(words) > 1:
        return False
    word = words[0]
    if word.isupper() and len(word) <= 4:
        return True  # "AME", "CMU": acronyms (names in capitals come with a title or a first name)
    at_sentence_start = _SENTENCE_START.search(text, max(0, start - 12), start) is not None
    return at_sentence_start and first not in FIRST_NAMES and is_common_word(word.lower())


def detect_person_entities(
    text: str,
    nlp: Language,
    chunks: list[tuple[int, str]],
    disable: list[str] | None = None,
    is_common_word: Callable[[str], bool] | None = None,
) -> Iterator[Replacement]:
    """Yield spaCy ``PER`` entities that survive the look-alike filter.

    Args:
        text: The whole folded text (for context look-ups).
        nlp: The French spaCy pipeline.
        chunks: ``(offset, chunk_text)`` pieces of ``text`` to run the pipeline on.
        disable: Components to skip (see :func:`components_not_needed`).
        is_common_word: Lexicon predicate (see :func:`french_lexicon`); a single capitalised
            common word at a sentence start ("Acheter un timbre") is then not a name.
    """
    lexicon = is_common_word or (lambda word: False)
    offsets = [offset for offset, _ in chunks]
    docs = nlp.pipe((piece for _, piece in chunks), disable=disable or [])
    for offset, doc in zip(offsets, docs, strict=True):
        for ent in doc.ents:
            if ent.label_ != "PER":
                continue
            span = clean_name_span(text, offset + ent.start_char, offset + ent.end_char)
            if span is None or _is_place(text, *span) or _is_false_person(text, *span, lexicon):
                continue
            yield Replacement(Kind.NOM, *span)


def expand_names(text: str, names: list[Replacement]) -> Iterator[Replacement]:
    """Yield other occurrences of detected name words, and names coordinated with them.

    Args:
        text: The folded text.
        names: Name spans already detected.
    """
    words: set[str] = set()
    for name in names:
        coordinated = _AND_NAME.match(text, name.end)
        if coordinated is not None:
            span = clean_name_span(text, coordinated.start("name"), coordinated.end("name"))
            if span is not None:
                yield Replacement(Kind.NOM, *span)
                words.update(_TOKEN.findall(text, *span))
        words.update(_TOKEN.findall(text, name.start, name.end))
    for word in words:
        key = _word_key(word)
        if len(key) < _MIN_PROPAGATED_LENGTH or key in _PARTICLES or key in _NOT_A_NAME:
            continue
        pattern = re.compile(rf"(?<![\w\-'’]){re.escape(word.rstrip('.'))}(?![\w\-])")
        for match in pattern.finditer(text):
            yield Replacement(Kind.NOM, match.start(), match.end())
