"""Check-digit algorithms for the identifiers the scrubber recognises.

All functions accept the number with or without spaces, dots or dashes and never raise on bad
input: they return ``False`` (or ``None`` for :func:`nir_key`) instead.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-/]")

#: Expected IBAN length per ISO 3166 country code (SEPA countries and French overseas collectivities
#: with their own code, plus the most frequent other countries).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "DZ": 26,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GF": 27,
    "GI": 23, "GL": 18, "GP": 27, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23,
    "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MA": 28, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MQ": 27, "MR": 27, "MT": 31,
    "MU": 30, "NC": 27, "NL": 18, "NO": 15, "PF": 27, "PK": 24, "PL": 28, "PM": 27, "PS": 29,
    "PT": 25, "QA": 29, "RE": 27, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "SN": 28, "TF": 27, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "WF": 27,
    "XK": 20, "YT": 27,
}  # fmt: skip


def compact(value: str) -> str:
    """Return ``value`` without spaces, dots, dashes or slashes, upper-cased."""
    return _SEPARATORS.sub("", value).upper()


def luhn_is_valid(number: str) -> bool:
    """Tell whether a payment card number passes the Luhn (mod 10) check.

    Args:
        number: 13 to 19 digits, separators allowed.

    Returns:
        True when the digits are 13–19 long and the Luhn sum is a multiple of 10.
    """
    digits = compact(number)
    if not (13 <= len(digits) <= 19) or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def iban_is_valid(iban: str) -> bool:
    """Tell whether an IBAN passes the ISO 13616 mod-97 check (and its country length, if known).

    Args:
        iban: The IBAN, e.g. ``"FR76 3000 6000 0112 3456 7890 189"``.

    Returns:
        True when the number is well formed and ``int(rearranged) % 97 == 1``.
    """
    value = compact(iban)
    if not (15 <= len(value) <= 34) or not value.isascii() or not value.isalnum():
        return False
    country, check = value[:2], value[2:4]
    if not country.isalpha() or not check.isdigit():
        return False
    expected = IBAN_LENGTHS.get(country)
    if expected is not None and len(value) != expected:
        return False
    rearranged = value[4:] + value[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


def nir_key(nir13: str) -> int | None:
    """Compute the 2-digit key of a French NIR (numéro de sécurité sociale).

    The key is ``97 - (N mod 97)`` where ``N`` is the 13-character number read as an integer,
    Corsican départements ``2A``/``2B`` being replaced by ``19``/``18``.

    Args:
        nir13: The first 13 characters of the NIR (separators allowed).

    Returns:
        The key (1–97), or None when ``nir13`` is not 13 digits (with optional 2A/2B).
    """
    value = compact(nir13)
    if len(value) != 13:
        return None
    if value[5:7] == "2A":
        value = value[:5] + "19" + value[7:]
    elif value[5:7] == "2B":
        value = value[:5] + "18" + value[7:]
    if not value.isascii() or not value.isdigit():
        return None
    return 97 - int(value) % 97


def nir_is_valid(nir: str) -> bool:
    """Tell whether a 15-character NIR has a correct key.

    Args:
        nir: e.g. ``"1 85 05 78 006 084 36"`` or ``"2 90 2A 004 123 456 27"``.

    Returns:
        True when the first character is a sex digit (1, 2, 3, 4, 7 or 8) and the key matches.
    """
    value = compact(nir)
    if len(value) != 15 or value[0] not in "123478" or not value[13:].isdigit():
        return False
    key = nir_key(value[:13])
    return key is not None and key == int(value[13:])


def fiscal_number_is_valid(number: str) -> bool:
    """Tell whether a French numéro fiscal (SPI) passes its check.

    The SPI has 13 digits, starts with 0–3, and its last three digits equal the first ten
    read as an integer modulo 511.

    Args:
        number: The numéro fiscal, separators allowed.

    Returns:
        True when the number is well formed and the check matches.
    """
    value = compact(number)
    if len(value) != 13 or not value.isascii() or not value.isdigit() or value[0] not in "0123":
        return False
    return int(value[:10]) % 511 == int(value[10:])
