"""Detect e-mails, phone numbers and numeric identifiers (NIR, SPI, IBAN, cards, CAF, ID papers).

Each detector takes the folded text (see :func:`patterns.fold`) and returns :class:`Replacement`
spans. Checksummed numbers are accepted anywhere; numbers whose check fails, or that have no
check (numéro allocataire, new CNI), are accepted only after a context word in the same sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import patterns as p
from .checksums import (
    IBAN_LENGTHS,
    compact,
    fiscal_number_is_valid,
    iban_is_valid,
    luhn_is_valid,
    nir_is_valid,
)
from .result import Kind, Replacement

_CONTEXT_WINDOW = 90


def _sentence_before(text: str, start: int) -> str:
    """Return the part of the current sentence before ``start`` (at most ~90 characters)."""
    window_start = max(0, start - _CONTEXT_WINDOW)
    window = text[window_start:start]
    last_break = None
    for last_break in p.SENTENCE_BREAK.finditer(window):  # noqa: B007 - keep the last one
        pass
    return window[last_break.end() :] if last_break else window


def _has_context(text: str, start: int, context: re.Pattern[str]) -> bool:
    return context.search(_sentence_before(text, start)) is not None


def _digits(value: str) -> str:
    return re.sub(r"[^0-9]", "", value)


def _is_amount(text: str, end: int) -> bool:
    return p.AMOUNT_AFTER.match(text, end) is not None


def detect_emails(text: str) -> Iterator[Replacement]:
    """Yield plain and obfuscated e-mail addresses."""
    for match in p.EMAIL.finditer(text):
        yield Replacement(Kind.EMAIL, match.start(), match.end())
    for match in p.EMAIL_OBFUSCATED.finditer(text):
        yield Replacement(Kind.EMAIL, match.start(), match.end())


def detect_phones(text: str) -> Iterator[Replacement]:
    """Yield French (metropolitan, overseas, international notation) and foreign phone numbers."""
    for pattern in (p.PHONE_FR, p.PHONE_FR_4222, p.PHONE_FR_INTL):
        for match in pattern.finditer(text):
            yield Replacement(Kind.TELEPHONE, match.start(), match.end())
    for match in p.PHONE_INTL.finditer(text):
        if 8 <= len(_digits(match.group())) <= 15:
            yield Replacement(Kind.TELEPHONE, match.start(), match.end())


def detect_nir(text: str) -> Iterator[Replacement]:
    """Yield NIRs: any with a valid key, others (bad key, no key) only in a sécu context."""
    for match in p.NIR.finditer(text):
        value = compact(match.group())
        valid = len(value) == 15 and nir_is_valid(value)
        if valid or _has_context(text, match.start(), p.CTX_NIR):
            yield Replacement(Kind.NIR, match.start(), match.end())


def detect_fiscal_numbers(text: str) -> Iterator[Replacement]:
    """Yield numéros fiscaux: valid SPI check anywhere, otherwise only in a tax context."""
    for match in p.FISCAL.finditer(text):
        if fiscal_number_is_valid(match.group()) or _has_context(text, match.start(), p.CTX_FISCAL):
            yield Replacement(Kind.NUMERO_FISCAL, match.start(), match.end())


def _cut_after_chars(text: str, start: int, wanted: int) -> int:
    """Return the offset just after the ``wanted``-th alphanumeric character from ``start``."""
    seen = 0
    for offset in range(start, len(text)):
        if text[offset].isalnum():
            seen += 1
            if seen == wanted:
                return offset + 1
    return len(text)


def detect_ibans(text: str) -> Iterator[Replacement]:
    """Yield IBANs passing mod-97 (any country), or well-shaped ones in a bank context."""
    position = 0
    while (match := p.IBAN.search(text, position)) is not None:
        position = match.start() + 1
        value = compact(match.group())
        expected = IBAN_LENGTHS.get(value[:2])
        lengths = [expected] if expected else list(range(min(len(value), 34), 14, -1))
        for length in lengths:
            if len(value) < length:
                continue
            if iban_is_valid(value[:length]) or (
                expected
                and len(_digits(value[4:length])) >= 8
                and _has_context(text, match.start(), p.CTX_IBAN)
            ):
                position = _cut_after_chars(text, match.start(), length)
                yield Replacement(Kind.IBAN, match.start(), position)
                break


def _card_candidates(text: str, match: re.Match[str]) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of the match and of its prefixes cut at separators, longest first."""
    yield match.start(), match.end()
    group = match.group()
    for index in range(len(group) - 1, 0, -1):
        if not group[index].isdigit() and group[index - 1].isdigit():
            yield match.start(), match.start() + index


def detect_cards(text: str) -> Iterator[Replacement]:
    """Yield payment card numbers passing Luhn, or 13–19 digits right after a card word."""
    for match in p.CARD.finditer(text):
        if _is_amount(text, match.end()) or _has_context(text, match.start(), p.CTX_COMPANY):
            continue  # a SIRET passes Luhn too: left to the generic identifier rule
        for start, end in _card_candidates(text, match):
            if luhn_is_valid(text[start:end]):
                yield Replacement(Kind.CARTE_BANCAIRE, start, end)
                break
        else:
            if _has_context(text, match.start(), p.CTX_CARD):
                yield Replacement(Kind.CARTE_BANCAIRE, match.start(), match.end())


def detect_identity_documents(text: str) -> Iterator[Replacement]:
    """Yield passport/licence numbers anywhere, other ID-paper numbers after an ID-paper word."""
    for match in p.PASSPORT.finditer(text):
        yield Replacement(Kind.NUMERO_PIECE_IDENTITE, match.start(), match.end())
    for match in p.ID_DOC_TOKEN.finditer(text):
        if _has_context(text, match.start(), p.CTX_ID_DOC):
            yield Replacement(Kind.NUMERO_PIECE_IDENTITE, match.start(), match.end())


def detect_allocataire_numbers(text: str) -> Iterator[Replacement]:
    """Yield 7-digit numbers following "allocataire", "CAF", "n° CAF"... in the same sentence."""
    for match in p.ALLOCATAIRE.finditer(text):
        if _is_amount(text, match.end()):
            continue
        if _has_context(text, match.start(), p.CTX_CAF):
            yield Replacement(Kind.NUMERO_ALLOCATAIRE, match.start(), match.end())


def detect_generic_identifiers(text: str) -> Iterator[Replacement]:
    """Yield other personal identifiers.

    Two rules: any run of 9+ digits written without separators, or 11+ digits with separators,
    that is not an amount (numéro client, contrat, SIRET of a sole trader...); and any token of
    6–20 letters/digits with 5+ digits after "identifiant", "n° client", "matricule"...
    """
    for match in p.DIGIT_RUN.finditer(text):
        digits = _digits(match.group())
        contiguous = max(len(chunk) for chunk in re.split(r"[^0-9]", match.group()))
        if (contiguous >= 9 or len(digits) >= 11) and not _is_amount(text, match.end()):
            yield Replacement(Kind.IDENTIFIANT, match.start(), match.end())
    for match in p.GENERIC_ID_TOKEN.finditer(text):
        if _has_context(text, match.start(), p.CTX_GENERIC_ID):
            yield Replacement(Kind.IDENTIFIANT, match.start(), match.end())


ALL_DETECTORS = (
    detect_emails,
    detect_phones,
    detect_nir,
    detect_fiscal_numbers,
    detect_ibans,
    detect_cards,
    detect_identity_documents,
    detect_allocataire_numbers,
    detect_generic_identifiers,
)


def detect_identifiers(text: str) -> list[Replacement]:
    """Run every identifier detector on folded ``text``."""
    found: list[Replacement] = []
    for detector in ALL_DETECTORS:
        found.extend(detector(text))
    return found
