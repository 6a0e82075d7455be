"""Typed answers of the droit à l'erreur check → codes."""

from __future__ import annotations

import pytest

from orientation.droit_erreur import CORRECTIONS, ERROR_KINDS, EXCEPTIONS
from orientation.droit_erreur_matching import (
    match_administration,
    match_answer,
    match_correction,
    match_error_kind,
    match_exception,
    normalize,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("J'ai oublié !", "j ai oublie"),
        ("  Sécurité   SOCIALE ", "securite sociale"),
        ("Pôle-emploi", "pole emploi"),
        ("", ""),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("c'est la CAF", "caf"),
        ("caisse d'allocations familiales", "caf"),
        ("mon APL", "caf"),
        ("les impôts", "impots"),
        ("le fisc", "impots"),
        ("Pôle emploi", "france_travail"),
        ("france travail", "france_travail"),
        ("mon actualisation", "france_travail"),
        ("la sécu", "assurance_maladie"),
        ("CPAM", "assurance_maladie"),
        ("l'Urssaf", "urssaf"),
        ("je suis auto-entrepreneur", "urssaf"),
        ("la MSA", "msa"),
        ("mutualité sociale agricole", "msa"),
        ("la mairie", "autre"),
        ("une autre administration", "autre"),
        ("l'autre jour la caf m'a écrit", "caf"),  # "autre" loses to a named administration
        ("les impôts et la caf", None),  # two administrations: ambiguous
        ("ma banque", None),
        ("cafetière", None),  # whole words only
        ("", None),
    ],
)
def test_match_administration(text, expected):
    assert match_administration(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oui", "yes"),
        ("Ouais bien sûr", "yes"),
        ("tout à fait", "yes"),
        ("non", "no"),
        ("Nan", "no"),
        ("pas du tout", "no"),
        ("absolument pas", "no"),
        ("je sais pas", "unknown"),
        ("j'sais pas", "unknown"),
        ("aucune idée", "unknown"),
        ("je ne suis pas sûr", "unknown"),
        ("non je sais pas", "unknown"),
        ("bonjour", None),
        ("", None),
    ],
)
def test_match_answer(text, expected):
    assert match_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("j'ai oublié de déclarer un revenu", "omission"),
        ("pas déclaré mon déménagement", "omission"),
        ("j'ai oublié d'envoyer un justificatif", "missing_document"),
        ("il manquait une pièce", "missing_document"),
        ("déclaré en retard", "late_declaration"),
        ("après la date limite", "late_declaration"),
        ("je me suis trompé de montant", "wrong_amount"),
        ("mauvaise case cochée", "wrong_amount"),
        ("autre chose", "other"),
        ("euh", None),
    ],
)
def test_match_error_kind(text, expected):
    assert match_error_kind(text) == expected
    assert expected is None or expected in ERROR_KINDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("non", "no_exception"),
        ("aucun", "no_exception"),
        ("non pas de fraude", "no_exception"),
        ("je n'ai pas fraudé", "no_exception"),
        ("sans fraude", "no_exception"),
        ("oui une fraude", "fraud"),
        ("fausse déclaration", "fraud"),
        ("ça touche la sécurité des personnes", "health_safety"),
        ("environnement", "health_safety"),
        ("une règle européenne", "international"),
        ("c'est dans mon contrat", "contract"),
        ("je sais pas", "unknown"),
        ("peut-être", "unknown"),
        ("bof", None),
    ],
)
def test_match_exception(text, expected):
    assert match_exception(text) == expected
    assert expected in (*EXCEPTIONS, "unknown", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oui", "done"),
        ("c'est fait", "done"),
        ("j'ai déjà corrigé", "done"),
        ("pas encore", "planned"),
        ("pas encore corrigé", "planned"),
        ("non", "planned"),
        ("je vais le faire demain", "planned"),
        ("le délai est dépassé", "deadline_missed"),
        ("trop tard", "deadline_missed"),
        ("je vais pas le faire", "refused"),
        ("je ne compte pas corriger", "refused"),
        ("je sais pas", "unknown"),
        ("hmm", None),
    ],
)
def test_match_correction(text, expected):
    assert match_correction(text) == expected
    assert expected in (*CORRECTIONS, "unknown", None)
