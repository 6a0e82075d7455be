"""Compiled regular expressions for e-mails, phone numbers and identifiers, and their contexts.

Every pattern that starts with a repetition is anchored by a look-behind so that the engine can
only start a match at a token boundary: matching stays linear on long inputs.
Patterns run on the *folded* text (see :func:`fold`), which has the same length as the input.
"""

from __future__ import annotations

import re

_FOLD_TABLE = {
    **{code: " " for code in (0x00A0, 0x2007, 0x202F, 0x3000, *range(0x2000, 0x200B))},
    **{code: "-" for code in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE63)},
    **{code: "'" for code in (0x2018, 0x2019, 0x201B, 0x02BC, 0x2032, 0xFF07)},
    **{0xFF01 + offset: chr(0x21 + offset) for offset in range(0x5E)},  # full-width ASCII
    **{code: "\ufffd" for code in range(0xD800, 0xE000)},  # lone surrogates break spaCy
}


def fold(text: str) -> str:
    """Map exotic spaces, dashes, apostrophes, full-width characters to ASCII, char for char.

    Lone surrogates become U+FFFD.

    The result has exactly the same length as ``text`` so offsets found in it apply to ``text``.
    """
    return text.translate(_FOLD_TABLE)


_I = re.IGNORECASE

# --- e-mail -------------------------------------------------------------------------------------
EMAIL = re.compile(
    r"(?<![\w.%+\-])[\w.%+\-]{1,64}[ \t]?@[ \t]?[\w\-]{1,63}(?:\.[\w\-]{1,63}){0,5}"
    r"\.[A-Za-z]{2,24}(?![\w])"
)
_TLD = (
    r"(?:com|fr|net|org|eu|be|ch|lu|de|es|it|pt|uk|ca|info|biz|io|re|gp|mq|gf|yt|nc|pf|ma|dz|tn|sn)"
)
_EWORD = r"[\w%+\-]{1,40}"
_EDOT = r"(?:[ \t]*\.[ \t]*|[ \t]+(?:point|dot)[ \t]+|[ \t]*[(\[](?:point|dot|\.)[)\]][ \t]*)"
_EAT = (
    r"(?:[ \t]*@[ \t]*|[ \t]*[(\[](?:at|arobase|@)[)\]][ \t]*"
    r"|[ \t]+(?:arobase|arrobase|arobas|at)[ \t]+)"
)
#: "jean point dupont arobase gmail point com", "lucas (at) yahoo.fr", "anne[at]free[.]fr".
EMAIL_OBFUSCATED = re.compile(
    rf"(?<![\w.%+\-]){_EWORD}(?:{_EDOT}{_EWORD}){{0,4}}{_EAT}{_EWORD}(?:{_EDOT}{_EWORD}){{0,3}}"
    rf"{_EDOT}{_TLD}(?![\w])",
    _I,
)

# --- phone numbers ------------------------------------------------------------------------------
_PSEP = r"(?:[ \t]{0,2}|[ \t]?[.\-/][ \t]?)"
#: 06 12 34 56 78, 06.12.34.56.78, 0612345678, 01-23-45-67-89 (same separator throughout).
#: 08 numbers are service numbers (numéros verts, 0 809...), not personal, and are left out.
PHONE_FR = re.compile(
    rf"(?<![\w+])(?<![0-9][ \t.\-])0[1-79](?P<sep>{_PSEP})[0-9]{{2}}"
    r"(?:(?P=sep)[0-9]{2}){3}(?![0-9])"
)
#: 0692 12 34 56 (grouping used in the overseas départements).
PHONE_FR_4222 = re.compile(
    r"(?<![\w+])(?<![0-9][ \t.\-])0[1-79][0-9]{2}(?P<sep>[ \t]{1,2}|[ \t]?[.\-][ \t]?)[0-9]{2}"
    r"(?:(?P=sep)[0-9]{2}){2}(?![0-9])"
)
#: +33 6 12 34 56 78, +33 (0)6 12..., 0033 6 12..., +33612345678.
PHONE_FR_INTL = re.compile(
    r"(?<![\w+])(?<![0-9][ \t.\-])(?:\+[ \t]?|00[ \t]?)33[ \t]?(?:\(0\)[ \t]?|0)?[1-9]"
    rf"(?P<sep>{_PSEP})[0-9]{{2}}"
    r"(?:(?P=sep)[0-9]{2}){3}(?![0-9])"
)
#: +262 692 12 34 56, +41 79 123 45 67, +32 470 12 34 56: digit count checked in code.
PHONE_INTL = re.compile(
    r"(?<![\w+])(?<![0-9][ \t.\-])(?:\+|00)[ \t]?(?!33)[1-9][0-9]{0,2}[ \t.\-]?"
    r"(?:\(0\)[ \t]?)?[0-9]{1,4}"
    r"(?:[ \t.\-]?[0-9]{2,4}){1,5}(?![0-9])"
)

# --- identifiers --------------------------------------------------------------------------------
#: NIR: sex, year, month, département (2A/2B), commune, order, optional key.
NIR = re.compile(
    r"(?<![\w])[1-478][ \t.\-]?[0-9]{2}[ \t.\-]?(?:0[1-9]|1[0-2]|[2-9][0-9])[ \t.\-]?"
    r"(?:[0-9]{2}|2[ABab])[ \t.\-]?[0-9]{3}[ \t.\-]?[0-9]{3}"
    r"(?:[ \t]?[.\-/]?[ \t]?[0-9]{2})?(?![\w])"
)
#: Numéro fiscal (SPI): 13 digits starting with 0–3, any single spaces or dots.
FISCAL = re.compile(r"(?<![\w.,])[0-3][0-9](?:[ \t.]?[0-9]){11}(?![\w]|[.,][0-9])")
#: IBAN candidate: country, check digits, then alphanumerics (trimmed to the country length).
IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:[ \t\-]?[A-Za-z0-9]){10,32}")
#: Card candidate: 13–19 digits, single separators.
CARD = re.compile(r"(?<![\w.,])[0-9](?:[ \t\-]?[0-9]){12,18}(?![\w]|[.,][0-9])")
#: Passport / new driving licence: 2 digits, 2 letters, 5 digits.
PASSPORT = re.compile(r"(?<![\w])[0-9]{2}[A-Z]{2}[0-9]{5}(?![\w])")
#: An identity-document-like token: 8–12 letters/digits with at least one digit and one letter,
#: or 10–12 digits (old CNI, titre de séjour). Used only next to an identity-document word.
ID_DOC_TOKEN = re.compile(
    r"(?<![\w])(?:(?=[A-Za-z0-9]{0,11}[0-9])(?=[A-Za-z0-9]{0,11}[A-Za-z])[A-Za-z0-9]{8,12}"
    r"|[0-9]{10,12}|[0-9]{4}(?:[ \t][0-9]{2,4}){2,3})(?![\w])"
)
#: A numéro allocataire: 7 digits (optional key letter), or grouped 3+4 / 2+2+3.
ALLOCATAIRE = re.compile(
    r"(?<![\w.,])(?:[0-9]{7}|[0-9]{3}[ \t.][0-9]{4}|[0-9]{2}[ \t.][0-9]{2}[ \t.][0-9]{3})"
    r"(?:[ \t]?[A-Z])?(?![\w]|[.,][0-9])"
)
#: Customer, contract or job-seeker identifiers: 6–20 letters/digits with 5 digits or more.
GENERIC_ID_TOKEN = re.compile(r"(?<![\w])(?=[A-Za-z]{0,15}[0-9]{5})[A-Za-z0-9]{6,20}(?![\w])")
#: Runs of digits (single separators) to catch long unknown identifiers.
DIGIT_RUN = re.compile(r"(?<![\w.,])[0-9]{2,}(?:[ \t.\-][0-9]{2,}){0,19}(?![\w]|[.,][0-9])")
#: What follows an amount or a quantity: then a digit run is not an identifier.
AMOUNT_AFTER = re.compile(r"[ \t]?(?:€|eur\b|euros?\b|%|centimes?\b|km\b|ans\b|jours\b)", _I)

# --- contexts (searched in the same sentence, before the number) --------------------------------
CTX_NIR = re.compile(
    r"s[ée]cu\b|s[ée]curit[ée][ \t]+sociale|\bnir\b|carte[ \t]+vitale|immatriculation|\bss\b"
    r"|assur[ée][ \t]+social|num[ée]ro[ \t]+d['’]assur[ée]|\binsee\b",
    _I,
)
CTX_FISCAL = re.compile(
    r"fiscal|imp[ôo]ts?\b|\bspi\b|avis[ \t]+d['’]imposition|d[ée]claration[ \t]+de[ \t]+revenus"
    r"|dgfip|finances[ \t]+publiques",
    _I,
)
CTX_CAF = re.compile(
    r"allocataire|\bcaf\b|caisse[ \t]+d['’]allocations|allocations[ \t]+familiales|\bmsa\b", _I
)
CTX_CARD = re.compile(
    r"carte[ \t]+(?:bancaire|bleue|de[ \t]+cr[ée]dit|de[ \t]+paiement)|\bcb\b|\bvisa\b|mastercard"
    r"|\bamex\b|\bcarte\b(?![ \t]+(?:vitale|d['’]identit|grise|nationale|de[ \t]+s[ée]jour"
    r"|d['’]invalidit|mobilit|de[ \t]+r[ée]sident|d['’][ée]lecteur))",
    _I,
)
CTX_COMPANY = re.compile(r"\bsiret\b|\bsiren\b|\btva\b|\bape\b", _I)
CTX_IBAN = re.compile(r"\biban\b|\brib\b|compte|virement|bancaire|banque|pension|verse", _I)
CTX_ID_DOC = re.compile(
    r"carte[ \t]+(?:nationale[ \t]+)?d['’]identit[ée]|\bcni\b|passeport"
    r"|titre[ \t]+de[ \t]+s[ée]jour"
    r"|permis[ \t]+de[ \t]+conduire|\bpermis\b|pi[èe]ce[ \t]+d['’]identit[ée]|r[ée]c[ée]piss[ée]"
    r"|carte[ \t]+de[ \t]+r[ée]sident",
    _I,
)
CTX_GENERIC_ID = re.compile(
    r"identifiant|num[ée]ro[ \t]+(?:de[ \t]+)?(?:client|contrat|adh[ée]rent|usager|inscription"
    r"|demandeur[ \t]+d['’]emploi|p[ôo]le[ \t]+emploi|france[ \t]+travail|pension|retraite"
    r"|mutuelle)"
    r"|n°[ \t]*(?:de[ \t]+)?(?:client|contrat|adh[ée]rent|inscription)|matricule|\bid\b",
    _I,
)
#: End of the previous sentence: contexts are not looked for across it.
SENTENCE_BREAK = re.compile(r"[.!?;\n](?=[ \t\n]|$)")
