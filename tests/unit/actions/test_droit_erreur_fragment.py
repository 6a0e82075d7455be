"""The droit à l'erreur domain agrees with the rules' codes and the actions."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from bot.actions.droit_erreur import FORM_SLOTS
from orientation.droit_erreur import (
    ADMINISTRATIONS,
    CONDITIONS,
    CORRECTIONS,
    ERROR_KINDS,
    EXCEPTIONS,
    NEXT_STEPS,
    REASONS,
    VERDICTS,
)
from orientation.droit_erreur_data import get_droit_erreur_data
from tests.unit.actions.droit_erreur_domain import FRAGMENT, load_droit_erreur_domain

GLOBAL_INTENTS = {"inform", "stop"}
ACTION_VARIABLES = {"administration", "url", "phone"}
PAYLOAD = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})?$")


@pytest.fixture(scope="module")
def domain() -> dict:
    return load_droit_erreur_domain()


def texts_and_buttons(domain: dict):
    for name, variations in domain["responses"].items():
        if not name.startswith(("utter_droit_erreur", "utter_ask_de_")):
            continue  # other flows' responses, now that the fragment is merged
        for variation in variations:
            yield name, variation.get("text", ""), variation.get("buttons", [])


def test_every_response_the_actions_send_exists(domain):
    expected = (
        [f"utter_droit_erreur_verdict_{code}" for code in VERDICTS]
        + [f"utter_droit_erreur_reason_{code}" for code in REASONS]
        + [f"utter_droit_erreur_condition_{code}" for code in CONDITIONS]
        + [f"utter_droit_erreur_next_{code}" for code in NEXT_STEPS]
        + [info.example for info in get_droit_erreur_data().administrations.values()]
        + [
            "utter_droit_erreur_contact",
            "utter_droit_erreur_contact_no_phone",
            "utter_droit_erreur_limit",
            "utter_droit_erreur_disclaimer",
            "utter_droit_erreur_not_understood",
            "utter_droit_erreur_correction_noted",
            "utter_droit_erreur_unavailable",
            "utter_droit_erreur_ask_exemple",
        ]
    )
    missing = [name for name in expected if name not in domain["responses"]]
    assert missing == []


def test_every_form_slot_is_asked_with_buttons(domain):
    assert domain["forms"]["droit_erreur_form"]["required_slots"] == list(FORM_SLOTS)
    for slot in FORM_SLOTS:
        variations = domain["responses"][f"utter_ask_{slot}"]
        assert all(variation["buttons"] for variation in variations), slot


@pytest.mark.parametrize(
    ("slot", "codes"),
    [
        ("de_administration", ADMINISTRATIONS),
        ("de_error_kind", ERROR_KINDS),
        ("de_first_time", ("yes", "no", "unknown")),
        ("de_good_faith", ("yes", "no", "unknown")),
        ("de_exception", (*EXCEPTIONS, "unknown")),
        ("de_already_noticed", ("yes", "no", "unknown")),
        ("de_correction", (*CORRECTIONS, "unknown")),
        ("de_verdict", VERDICTS),
    ],
)
def test_slot_values_are_the_rules_codes(slot, codes, domain):
    assert domain["slots"][slot]["values"] == list(codes)


def test_button_payloads_are_escaped_and_point_to_known_codes(domain):
    intents = set(domain["intents"]) | GLOBAL_INTENTS
    checked = 0
    for name, _, buttons in texts_and_buttons(domain):
        for button in buttons:
            payload = button["payload"]
            if "{" in payload:
                # Rasa 3.6 fills {variables} in responses: literal braces must be doubled.
                assert "{{" in payload and "}}" in payload, (name, payload)
                payload = payload.replace("{{", "{").replace("}}", "}")
            match = PAYLOAD.match(payload)
            assert match, (name, payload)
            assert match["intent"] in intents, (name, payload)
            for entity, value in json.loads(match["entities"] or "{}").items():
                assert entity in domain["entities"], (name, entity)
                assert value in domain["slots"][entity]["values"], (name, value)
            checked += 1
    assert checked > 40


def test_the_form_questions_offer_every_code(domain):
    for slot in FORM_SLOTS:
        offered = set()
        for variation in domain["responses"][f"utter_ask_{slot}"]:
            for button in variation["buttons"]:
                match = PAYLOAD.match(button["payload"].replace("{{", "{").replace("}}", "}"))
                offered |= set(json.loads(match["entities"]).values())
        assert offered == set(domain["slots"][slot]["values"]), slot


def test_placeholders_are_only_the_variables_the_actions_pass(domain):
    for name, text, _ in texts_and_buttons(domain):
        placeholders = set(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", text))
        assert placeholders <= ACTION_VARIABLES, name


def test_administration_never_follows_a_preposition(domain):
    # "{administration}" may be "les impôts": "de les impôts" or "à les impôts" would be wrong.
    preposition = re.compile(r"\b(de|à|du|au|auprès de)\s+\{administration\}", re.IGNORECASE)
    for name, text, _ in texts_and_buttons(domain):
        assert not preposition.search(text), name


def test_texts_use_vouvoiement_and_official_https_links(domain):
    informal = re.compile(r"\b(tu|toi|ton|ta|tes|t'es)\b", re.IGNORECASE)
    for name, text, _ in texts_and_buttons(domain):
        assert text.strip(), name
        assert not informal.search(text), name
        assert "http://" not in text, name


def test_limit_and_disclaimer_say_what_they_must(domain):
    limit = domain["responses"]["utter_droit_erreur_limit"][0]["text"]
    disclaimer = domain["responses"]["utter_droit_erreur_disclaimer"][0]["text"]
    principe = domain["responses"]["utter_droit_erreur_principe"][0]["text"]
    assert "rembourser" in limit and "payer" in limit
    assert "pas une décision juridique" in disclaimer
    for words in ("10 août 2018", "L123-1", "particuliers", "entreprises", "bonne foi", "fraude"):
        assert words in principe, words


def test_nlu_fragment_has_enough_distinct_examples():
    nlu_file = FRAGMENT.parents[3] / "bot" / "data" / "nlu" / "droit_erreur.yml"
    examples: dict[str, list[str]] = {}
    for block in yaml.safe_load(nlu_file.read_text(encoding="utf-8"))["nlu"]:
        lines = [line[2:].strip() for line in block["examples"].splitlines() if line.strip()]
        examples[block["intent"]] = lines
    assert set(examples) == {
        "ask_droit_erreur",
        "check_droit_erreur",
        "droit_erreur_exemple",
        "droit_erreur_contest",
        "droit_erreur_entreprise",
        "droit_erreur_bonne_foi",
    }
    every = [text for lines in examples.values() for text in lines]
    assert len(every) == len(set(every)), "an example is listed twice"
    for intent, lines in examples.items():
        assert len(lines) >= 15, intent
