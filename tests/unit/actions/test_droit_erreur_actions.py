"""Droit à l'erreur actions, run on real rasa_sdk trackers and dispatchers."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.droit_erreur import (
    FORM_SLOTS,
    ActionDroitErreurExemple,
    ActionDroitErreurStart,
    ActionDroitErreurVerdict,
    ValidateDroitErreurForm,
)
from tests.unit.actions.droit_erreur_domain import load_droit_erreur_domain

FORM = "droit_erreur_form"
ALL_SLOTS = (*FORM_SLOTS, "de_verdict")


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return load_droit_erreur_domain()


def make_tracker(
    slots: dict[str, Any] | None = None,
    candidates: dict[str, Any] | None = None,
    text: str = "",
    intent: str = "inform",
    entities: dict[str, str] | None = None,
    requested_slot: str | None = None,
    active: bool = True,
) -> Tracker:
    """A tracker as Rasa sends it: slot candidates are the trailing slot events."""
    candidates = candidates or {}
    entity_list = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entity_list}
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest},
    ] + [{"event": "slot", "name": k, "value": v} for k, v in candidates.items()]
    return Tracker.from_dict(
        {
            "sender_id": "test-user",
            "slots": {
                **dict.fromkeys(ALL_SLOTS),
                "requested_slot": requested_slot,
                **(slots or {}),
                **candidates,
            },
            "latest_message": latest,
            "events": events,
            "active_loop": {"name": FORM} if active else {},
            "latest_action_name": "action_listen",
        }
    )


async def run(action, tracker: Tracker, domain: dict) -> tuple[list, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return events, dispatcher


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["response"] for message in dispatcher.messages]


ANSWERED_FIRST_FOUR = {
    "de_administration": "caf",
    "de_error_kind": "omission",
    "de_first_time": "yes",
}

# --- ValidateDroitErreurForm ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slot", "raw", "code", "answered"),
    [
        ("de_administration", "caf", "caf", {}),  # button
        ("de_administration", "c'est la sécu", "assurance_maladie", {}),  # typed
        (
            "de_error_kind",
            "j'ai déclaré en retard",
            "late_declaration",
            {"de_administration": "caf"},
        ),
        (
            "de_first_time",
            "unknown",
            "unknown",
            {"de_administration": "caf", "de_error_kind": "other"},
        ),
        ("de_first_time", "ouais", "yes", {"de_administration": "caf", "de_error_kind": "other"}),
        ("de_exception", "non aucun", "no_exception", ANSWERED_FIRST_FOUR),
        ("de_already_noticed", "je sais pas", "unknown", ANSWERED_FIRST_FOUR),
        ("de_correction", "pas encore", "planned", ANSWERED_FIRST_FOUR),
    ],
)
async def test_validation_turns_answers_into_codes(slot, raw, code, answered, domain):
    tracker = make_tracker(slots=answered, candidates={slot: raw}, text=raw, requested_slot=slot)

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet(slot, code)]
    assert dispatcher.messages == []


async def test_unreadable_answer_is_emptied_and_the_usager_told(domain):
    tracker = make_tracker(
        slots={"de_administration": "caf", "de_error_kind": "omission"},
        candidates={"de_first_time": "bof bof"},
        text="bof bof",
        requested_slot="de_first_time",
    )

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet("de_first_time", None)]
    assert responses(dispatcher) == ["utter_droit_erreur_not_understood"]


@pytest.mark.parametrize(
    ("intent", "response"),
    [
        ("droit_erreur_bonne_foi", "utter_droit_erreur_bonne_foi"),
        ("droit_erreur_entreprise", "utter_droit_erreur_entreprise"),
        ("droit_erreur_contest", "utter_droit_erreur_contest"),
        ("ask_droit_erreur", "utter_droit_erreur_principe"),
    ],
)
async def test_a_question_asked_instead_of_an_answer_is_answered(intent, response, domain):
    text = "et ça veut dire quoi au juste ?"
    tracker = make_tracker(
        slots=ANSWERED_FIRST_FOUR,
        candidates={"de_good_faith": text},
        text=text,
        intent=intent,
        requested_slot="de_good_faith",
    )

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet("de_good_faith", None)]
    assert responses(dispatcher) == [response]


async def test_a_readable_answer_wins_over_a_misread_intent(domain):
    tracker = make_tracker(
        slots={"de_administration": "impots"},
        candidates={"de_error_kind": "mauvais montant"},
        text="mauvais montant",
        intent="droit_erreur_bonne_foi",
        requested_slot="de_error_kind",
    )

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet("de_error_kind", "wrong_amount")]
    assert dispatcher.messages == []


async def test_slots_cleared_at_activation_are_not_complained_about(domain):
    tracker = make_tracker(
        candidates=dict.fromkeys(FORM_SLOTS), intent="check_droit_erreur", text="verifier mon cas"
    )

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet(slot, None) for slot in FORM_SLOTS]
    assert dispatcher.messages == []


async def test_a_payload_of_another_intent_is_asked_again_silently(domain):
    tracker = make_tracker(
        slots={"de_administration": "caf"},
        candidates={"de_error_kind": "/check_droit_erreur"},
        text="/check_droit_erreur",
        intent="check_droit_erreur",
        requested_slot="de_error_kind",
    )

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet("de_error_kind", None)]
    assert dispatcher.messages == []


async def test_typed_administration_during_another_question_corrects_it(domain):
    text = "en fait c'est l'urssaf"
    tracker = make_tracker(
        slots={"de_administration": "caf", "de_error_kind": "omission"},
        candidates={"de_first_time": text},
        text=text,
        requested_slot="de_first_time",
    )

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet("de_first_time", None), SlotSet("de_administration", "urssaf")]
    assert responses(dispatcher) == ["utter_droit_erreur_correction_noted"]
    assert dispatcher.messages[0]["administration"] == "Urssaf"


async def test_button_for_another_question_keeps_it_and_asks_again_silently(domain):
    payload = '/inform{"de_administration":"msa"}'
    tracker = make_tracker(
        slots={"de_administration": "caf", "de_error_kind": "omission"},
        candidates={"de_administration": "msa", "de_first_time": payload},
        text=payload,
        entities={"de_administration": "msa"},
        requested_slot="de_first_time",
    )

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet("de_administration", "msa"), SlotSet("de_first_time", None)]
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("slot", "raw", "code", "answered"),
    [
        ("de_first_time", "non", "no", {"de_administration": "caf", "de_error_kind": "omission"}),
        ("de_good_faith", "no", "no", ANSWERED_FIRST_FOUR),
        ("de_exception", "fraud", "fraud", {**ANSWERED_FIRST_FOUR, "de_good_faith": "yes"}),
        ("de_exception", "contract", "contract", {**ANSWERED_FIRST_FOUR, "de_good_faith": "yes"}),
    ],
)
async def test_a_blocking_answer_ends_the_form_early(slot, raw, code, answered, domain):
    tracker = make_tracker(slots=answered, candidates={slot: raw}, text=raw, requested_slot=slot)

    events, dispatcher = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet(slot, code), SlotSet("requested_slot", None)]
    assert dispatcher.messages == []


async def test_an_unknown_answer_lets_the_form_go_on(domain):
    tracker = make_tracker(
        slots=ANSWERED_FIRST_FOUR,
        candidates={"de_good_faith": "unknown"},
        requested_slot="de_good_faith",
    )

    events, _ = await run(ValidateDroitErreurForm(), tracker, domain)

    assert events == [SlotSet("de_good_faith", "unknown")]


# --- ActionDroitErreurVerdict -----------------------------------------------------------------

CLEAN_SLOTS = {
    "de_administration": "caf",
    "de_error_kind": "omission",
    "de_first_time": "yes",
    "de_good_faith": "yes",
    "de_exception": "no_exception",
    "de_already_noticed": "no",
    "de_correction": "done",
}


async def test_verdict_applies(domain):
    events, dispatcher = await run(
        ActionDroitErreurVerdict(), make_tracker(CLEAN_SLOTS, active=False), domain
    )

    assert events == [SlotSet("de_verdict", "applies")]
    assert responses(dispatcher) == [
        "utter_droit_erreur_verdict_applies",
        "utter_droit_erreur_next_keep_proof",
        "utter_droit_erreur_contact",
        "utter_droit_erreur_limit",
        "utter_droit_erreur_disclaimer",
    ]
    assert dispatcher.messages[0]["administration"] == "la Caf"
    assert dispatcher.messages[2]["url"] == "https://www.caf.fr"
    assert dispatcher.messages[2]["phone"] == "3230"
    assert all(message["text"] is None for message in dispatcher.messages)


async def test_verdict_does_not_apply_lists_every_reason(domain):
    slots = {
        **CLEAN_SLOTS,
        "de_administration": "msa",
        "de_first_time": "no",
        "de_exception": "fraud",
    }

    events, dispatcher = await run(
        ActionDroitErreurVerdict(), make_tracker(slots, active=False), domain
    )

    assert events == [SlotSet("de_verdict", "does_not_apply")]
    assert responses(dispatcher) == [
        "utter_droit_erreur_verdict_does_not_apply",
        "utter_droit_erreur_reason_fraud",
        "utter_droit_erreur_reason_repeat",
        "utter_droit_erreur_next_seek_advice",
        "utter_droit_erreur_contact_no_phone",
        "utter_droit_erreur_limit",
        "utter_droit_erreur_disclaimer",
    ]
    assert dispatcher.messages[0]["administration"] == "la MSA"
    assert dispatcher.messages[4]["url"] == "https://www.msa.fr"


async def test_verdict_of_a_check_ended_early_treats_missing_answers_as_unknown(domain):
    slots = {"de_administration": "impots", "de_error_kind": "wrong_amount", "de_good_faith": "no"}

    events, dispatcher = await run(
        ActionDroitErreurVerdict(), make_tracker(slots, active=False), domain
    )

    assert events == [SlotSet("de_verdict", "does_not_apply")]
    assert responses(dispatcher)[:3] == [
        "utter_droit_erreur_verdict_does_not_apply",
        "utter_droit_erreur_reason_bad_faith",
        "utter_droit_erreur_next_regularize_anyway",
    ]


async def test_verdict_applies_probably_lists_the_conditions(domain):
    slots = {
        **CLEAN_SLOTS,
        "de_administration": "france_travail",
        "de_good_faith": "unknown",
        "de_already_noticed": "yes",
        "de_correction": "planned",
    }

    events, dispatcher = await run(
        ActionDroitErreurVerdict(), make_tracker(slots, active=False), domain
    )

    assert events == [SlotSet("de_verdict", "applies_probably")]
    assert responses(dispatcher) == [
        "utter_droit_erreur_verdict_applies_probably",
        "utter_droit_erreur_condition_good_faith",
        "utter_droit_erreur_condition_correct_within_deadline",
        "utter_droit_erreur_next_answer_within_deadline",
        "utter_droit_erreur_contact",
        "utter_droit_erreur_limit",
        "utter_droit_erreur_disclaimer",
    ]
    assert dispatcher.messages[3]["administration"] == "France Travail"
    assert dispatcher.messages[4]["phone"] == "3949"


async def test_verdict_without_administration_says_it_could_not_finish(domain):
    slots = {**CLEAN_SLOTS, "de_administration": None}

    events, dispatcher = await run(
        ActionDroitErreurVerdict(), make_tracker(slots, active=False), domain
    )

    assert events == [SlotSet("de_verdict", None)]
    assert responses(dispatcher) == ["utter_droit_erreur_unavailable"]


# --- ActionDroitErreurStart / ActionDroitErreurExemple -----------------------------------------

RESET = [SlotSet(slot, None) for slot in ALL_SLOTS]


@pytest.mark.parametrize(
    ("text", "entities", "expected_extra"),
    [
        ("j'ai fait une erreur avec la caf", None, [SlotSet("de_administration", "caf")]),
        (
            "/check_droit_erreur",
            {"de_administration": "msa"},
            [SlotSet("de_administration", "msa")],
        ),
        ("est-ce que ça s'applique à mon cas ?", None, []),
    ],
)
async def test_start_resets_the_check_and_prefills_the_administration(
    text, entities, expected_extra, domain
):
    tracker = make_tracker(
        slots=CLEAN_SLOTS, text=text, intent="check_droit_erreur", entities=entities, active=False
    )

    events, dispatcher = await run(ActionDroitErreurStart(), tracker, domain)

    assert events == RESET + expected_extra
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("text", "entities", "response"),
    [
        (
            "/droit_erreur_exemple",
            {"de_administration": "urssaf"},
            "utter_droit_erreur_exemple_urssaf",
        ),
        ("et avec pole emploi ?", None, "utter_droit_erreur_exemple_france_travail"),
        ("un exemple avec la mairie", None, "utter_droit_erreur_exemple_autre"),
        ("un exemple svp", None, "utter_droit_erreur_ask_exemple"),
    ],
)
async def test_exemple_picks_the_administration(text, entities, response, domain):
    tracker = make_tracker(
        slots={"de_administration": "caf"},  # a previous check must not leak into the example
        text=text,
        intent="droit_erreur_exemple",
        entities=entities,
        active=False,
    )

    events, dispatcher = await run(ActionDroitErreurExemple(), tracker, domain)

    assert events == []
    assert responses(dispatcher) == [response]


def test_action_names_match_the_domain(domain):
    names = {
        action().name()
        for action in (
            ValidateDroitErreurForm,
            ActionDroitErreurStart,
            ActionDroitErreurExemple,
            ActionDroitErreurVerdict,
        )
    }
    assert names <= set(domain["actions"])
