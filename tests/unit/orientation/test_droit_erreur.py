"""Droit à l'erreur rules, input validation and data file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from orientation.droit_erreur import (
    ADMINISTRATIONS,
    CONDITIONS,
    NEXT_STEPS,
    REASONS,
    DroitErreurCase,
    blocking_reasons,
    case_from_codes,
    evaluate,
    open_conditions,
    tristate,
)
from orientation.droit_erreur_data import (
    DATA_FILE,
    get_droit_erreur_data,
    load_data,
    parse_data,
)

# A case where everything is known and favourable: the droit à l'erreur applies.
CLEAN = DroitErreurCase(
    administration="caf",
    error_kind="omission",
    first_time=True,
    good_faith=True,
    exception="no_exception",
    already_noticed=False,
    correction="done",
)


def case(**changes: object) -> DroitErreurCase:
    return dataclasses.replace(CLEAN, **changes)


# --- verdicts -------------------------------------------------------------------------------

# (changes to CLEAN, verdict, reasons, conditions, next step)
VERDICT_TABLE = [
    # applies
    ({}, "applies", (), (), "keep_proof"),
    ({"error_kind": "wrong_amount"}, "applies", (), (), "keep_proof"),
    ({"error_kind": "missing_document", "administration": "msa"}, "applies", (), (), "keep_proof"),
    # blocking reasons, one by one
    ({"exception": "fraud"}, "does_not_apply", ("fraud",), (), "seek_advice"),
    ({"good_faith": False}, "does_not_apply", ("bad_faith",), (), "regularize_anyway"),
    ({"first_time": False}, "does_not_apply", ("repeat",), (), "regularize_anyway"),
    ({"exception": "health_safety"}, "does_not_apply", ("health_safety",), (), "regularize_anyway"),
    (
        {"exception": "international"},
        "does_not_apply",
        ("international_commitments",),
        (),
        "regularize_anyway",
    ),
    ({"exception": "contract"}, "does_not_apply", ("contract_sanction",), (), "regularize_anyway"),
    ({"correction": "refused"}, "does_not_apply", ("not_corrected",), (), "regularize_anyway"),
    (
        {"correction": "deadline_missed", "already_noticed": True},
        "does_not_apply",
        ("deadline_missed",),
        (),
        "regularize_anyway",
    ),
    # several reasons are all reported, in REASONS order; conditions are not reported
    (
        {"correction": "refused", "first_time": False, "good_faith": False, "exception": "fraud"},
        "does_not_apply",
        ("fraud", "bad_faith", "repeat", "not_corrected"),
        (),
        "seek_advice",
    ),
    (
        {"first_time": False, "administration": "autre", "good_faith": None},
        "does_not_apply",
        ("repeat",),
        (),
        "regularize_anyway",
    ),
    # applies probably: one open condition at a time
    (
        {"administration": "autre"},
        "applies_probably",
        (),
        ("public_administration",),
        "keep_proof",
    ),
    (
        {"administration": "autre", "correction": "planned"},
        "applies_probably",
        (),
        ("public_administration", "correct_promptly"),
        "contact_administration",
    ),
    (
        {"error_kind": "other", "correction": "planned"},
        "applies_probably",
        (),
        ("error_kind_unclear", "correct_promptly"),
        "contact_administration",
    ),
    (
        {"error_kind": "late_declaration", "correction": "planned"},
        "applies_probably",
        (),
        ("late_declaration", "correct_promptly"),
        "contact_administration",
    ),
    ({"first_time": None}, "applies_probably", (), ("first_time",), "keep_proof"),
    ({"good_faith": None}, "applies_probably", (), ("good_faith",), "keep_proof"),
    ({"exception": None}, "applies_probably", (), ("exceptions",), "keep_proof"),
    ({"already_noticed": None}, "applies_probably", (), ("already_noticed",), "keep_proof"),
    ({"correction": None}, "applies_probably", (), ("correction",), "correct_now"),
    ({"correction": "planned"}, "applies_probably", (), ("correct_promptly",), "correct_now"),
    (
        {"correction": "planned", "already_noticed": True},
        "applies_probably",
        (),
        ("correct_within_deadline",),
        "answer_within_deadline",
    ),
    (
        {"correction": None, "already_noticed": True},
        "applies_probably",
        (),
        ("correction",),
        "answer_within_deadline",
    ),
    (
        {"correction": "planned", "already_noticed": None},
        "applies_probably",
        (),
        ("already_noticed", "correct_promptly"),
        "correct_now",
    ),
    # already noticed but corrected: keep the proof
    ({"already_noticed": True}, "applies", (), (), "keep_proof"),
    # nothing known but the administration and the kind of error
    (
        {
            "first_time": None,
            "good_faith": None,
            "exception": None,
            "already_noticed": None,
            "correction": None,
        },
        "applies_probably",
        (),
        ("first_time", "good_faith", "exceptions", "already_noticed", "correction"),
        "correct_now",
    ),
]


@pytest.mark.parametrize(
    ("changes", "verdict", "reasons", "conditions", "next_step"), VERDICT_TABLE
)
def test_evaluate(changes, verdict, reasons, conditions, next_step):
    the_case = case(**changes)

    result = evaluate(the_case)

    assert result.verdict == verdict
    assert result.reasons == reasons
    assert result.conditions == conditions
    assert result.next_step == next_step
    assert result.administration == the_case.administration


def test_table_reaches_every_output_code():
    results = [evaluate(case(**row[0])) for row in VERDICT_TABLE]
    assert {r.verdict for r in results} == {"applies", "applies_probably", "does_not_apply"}
    assert {code for r in results for code in r.reasons} == set(REASONS)
    assert {code for r in results for code in r.conditions} == set(CONDITIONS)
    assert {r.next_step for r in results} == set(NEXT_STEPS)


@pytest.mark.parametrize(
    "changes",
    [
        {"first_time": None},
        {"good_faith": None},
        {"exception": None},
        {"already_noticed": None},
        {"correction": None},
    ],
)
def test_an_unknown_answer_never_blocks(changes):
    assert blocking_reasons(case(**changes)) == ()


def test_open_conditions_is_empty_for_the_clean_case():
    assert open_conditions(CLEAN) == ()


@pytest.mark.parametrize("administration", ADMINISTRATIONS)
def test_every_administration_is_accepted(administration):
    assert evaluate(case(administration=administration)).administration == administration


# --- input validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"administration": "banque"}, "unknown administration 'banque'"),
        ({"administration": "CAF"}, "unknown administration 'CAF'"),
        ({"error_kind": "typo"}, "unknown error_kind 'typo'"),
        ({"exception": "none"}, "unknown exception 'none'"),
        ({"correction": "later"}, "unknown correction 'later'"),
        ({"first_time": "yes"}, "first_time must be True, False or None"),
        ({"good_faith": 1}, "good_faith must be True, False or None"),
        ({"already_noticed": "unknown"}, "already_noticed must be True, False or None"),
    ],
)
def test_invalid_input_is_rejected_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        case(**changes)


def test_error_message_lists_the_accepted_codes():
    with pytest.raises(ValueError) as excinfo:
        case(administration="banque")
    for code in ADMINISTRATIONS:
        assert code in str(excinfo.value)


@pytest.mark.parametrize(
    ("code", "expected"), [("yes", True), ("no", False), ("unknown", None), (None, None)]
)
def test_tristate(code, expected):
    assert tristate(code) is expected


@pytest.mark.parametrize("code", ["oui", "YES", "", "true"])
def test_tristate_rejects_other_codes(code):
    with pytest.raises(ValueError, match="unknown answer"):
        tristate(code)


def test_case_from_codes_maps_slot_codes():
    built = case_from_codes(
        administration="urssaf",
        error_kind="late_declaration",
        first_time="yes",
        good_faith="unknown",
        exception="unknown",
        already_noticed="no",
        correction="unknown",
    )
    assert built == DroitErreurCase(
        administration="urssaf",
        error_kind="late_declaration",
        first_time=True,
        good_faith=None,
        exception=None,
        already_noticed=False,
        correction=None,
    )


def test_case_from_codes_keeps_real_codes():
    built = case_from_codes("caf", "omission", exception="fraud", correction="done")
    assert (built.exception, built.correction) == ("fraud", "done")


@pytest.mark.parametrize(("administration", "error_kind"), [(None, "omission"), ("caf", None)])
def test_case_from_codes_needs_administration_and_error_kind(administration, error_kind):
    with pytest.raises(ValueError, match="administration and error_kind are required"):
        case_from_codes(administration, error_kind)


# --- data file ------------------------------------------------------------------------------

SIX = ("impots", "caf", "urssaf", "assurance_maladie", "france_travail", "msa")


def test_data_file_has_the_six_administrations_and_autre():
    data = load_data(DATA_FILE)
    assert set(SIX) <= set(data.administrations)
    assert list(data.administrations) == list(ADMINISTRATIONS)


def test_every_link_is_https():
    data = load_data(DATA_FILE)
    links = [info.url for info in data.administrations.values()] + list(data.links.values())
    assert links and all(link.startswith("https://") for link in links)
    assert data.links["oups"] == "https://www.oups.gouv.fr"
    assert data.links["service_public"].startswith("https://www.service-public.fr/")


@pytest.mark.parametrize("code", ADMINISTRATIONS)
def test_entries_are_complete(code):
    info = get_droit_erreur_data().get(code)
    assert info.code == code
    assert info.name and info.in_sentence
    assert info.example == f"utter_droit_erreur_exemple_{code}"
    assert info.phone is None or info.phone.replace(" ", "").isdigit()
    assert info.aliases


def test_phones_agree_with_the_organismes_file():
    organismes_file = Path(DATA_FILE).parent / "organismes.yml"
    if not organismes_file.exists():
        pytest.skip("organismes.yml not present")
    organismes = {
        item["code"]: item for item in yaml.safe_load(organismes_file.read_text())["organismes"]
    }
    for info in get_droit_erreur_data().administrations.values():
        if info.organisme is not None and info.organisme in organismes:
            assert info.phone == organismes[info.organisme]["phone"], info.code


def test_loader_is_cached():
    assert get_droit_erreur_data() is get_droit_erreur_data()


def test_get_rejects_an_unknown_code():
    with pytest.raises(ValueError, match="unknown administration 'banque'"):
        get_droit_erreur_data().get("banque")


def _raw() -> dict:
    return yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))


def _without(raw: dict, code: str) -> dict:
    raw["administrations"] = [a for a in raw["administrations"] if a["code"] != code]
    return raw


def _edit(raw: dict, which: str, **fields: object) -> dict:
    next(a for a in raw["administrations"] if a["code"] == which).update(fields)
    return raw


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: _without(raw, "msa"), "lacks administrations: msa"),
        (lambda raw: _edit(raw, "caf", url="http://www.caf.fr"), "must be an https URL"),
        (lambda raw: _edit(raw, "caf", phone=3230), "phone must be a quoted string"),
        (lambda raw: _edit(raw, "caf", name=""), "administration 'caf': missing name"),
        (lambda raw: _edit(raw, "caf", code="banque"), "unknown administration code 'banque'"),
        (
            lambda raw: raw["administrations"].append(dict(raw["administrations"][0])) or raw,
            "listed twice",
        ),
        (
            lambda raw: raw["general"].update(oups="http://www.oups.gouv.fr") or raw,
            "general link 'oups'",
        ),
    ],
)
def test_invalid_data_is_rejected(mutate, message):
    with pytest.raises(ValueError, match=message):
        parse_data(mutate(_raw()))
