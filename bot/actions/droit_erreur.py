"""Rasa adapters for the droit à l'erreur check.

Domain contract (see the droit à l'erreur section of ``domain.yml``):

* form ``droit_erreur_form`` with the slots of ``FORM_SLOTS``, each filled from a button entity
  of the same name or from the usager's free text (then read by ``orientation``'s matchers);
* responses ``utter_droit_erreur_verdict_<verdict>``, ``utter_droit_erreur_reason_<code>``,
  ``utter_droit_erreur_condition_<code>``, ``utter_droit_erreur_next_<code>`` (variable
  ``administration``), ``utter_droit_erreur_contact[_no_phone]`` (``url``, ``phone``),
  ``utter_droit_erreur_limit``, ``utter_droit_erreur_disclaimer``, the examples named in
  ``orientation/data/droit_erreur.yml`` and the helper responses used below.

The rules live in ``orientation.droit_erreur``; these actions only read slots, call them and
send responses by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from orientation.droit_erreur import (
    ADMINISTRATIONS,
    CORRECTIONS,
    ERROR_KINDS,
    EXCEPTIONS,
    blocking_reasons,
    case_from_codes,
    evaluate,
)
from orientation.droit_erreur_data import get_droit_erreur_data
from orientation.droit_erreur_matching import (
    UNKNOWN,
    match_administration,
    match_answer,
    match_correction,
    match_error_kind,
    match_exception,
)

FORM_NAME = "droit_erreur_form"
VERDICT_SLOT = "de_verdict"
# Slot name → field of orientation.droit_erreur.case_from_codes, in the order they are asked.
FORM_SLOTS: dict[str, str] = {
    "de_administration": "administration",
    "de_error_kind": "error_kind",
    "de_first_time": "first_time",
    "de_good_faith": "good_faith",
    "de_exception": "exception",
    "de_already_noticed": "already_noticed",
    "de_correction": "correction",
}
_ANSWERS = ("yes", "no", UNKNOWN)
# Questions the usager may ask instead of answering: answered, then the form asks again.
FOLLOW_UP_RESPONSES: dict[str, str] = {
    "droit_erreur_bonne_foi": "utter_droit_erreur_bonne_foi",
    "droit_erreur_entreprise": "utter_droit_erreur_entreprise",
    "droit_erreur_contest": "utter_droit_erreur_contest",
    "ask_droit_erreur": "utter_droit_erreur_principe",
}
# Slot name → (accepted codes, matcher for free text).
_SLOT_CODES: dict[str, tuple[tuple[str, ...], Callable[[str], str | None]]] = {
    "de_administration": (ADMINISTRATIONS, match_administration),
    "de_error_kind": (ERROR_KINDS, match_error_kind),
    "de_first_time": (_ANSWERS, match_answer),
    "de_good_faith": (_ANSWERS, match_answer),
    "de_exception": ((*EXCEPTIONS, UNKNOWN), match_exception),
    "de_already_noticed": (_ANSWERS, match_answer),
    "de_correction": ((*CORRECTIONS, UNKNOWN), match_correction),
}


def _to_code(slot: str, value: Any) -> str | None:
    """Return the code for a slot value (a button code or free text), or ``None``."""
    codes, matcher = _SLOT_CODES[slot]
    if value in codes:
        return value
    if isinstance(value, str):
        code = matcher(value)
        if code in codes:
            return code
    return None


def _valid_codes(tracker: Tracker) -> dict[str, str | None]:
    """Return the case fields from the slots, ignoring values that are not valid codes."""
    return {field: _to_code(slot, tracker.get_slot(slot)) for slot, field in FORM_SLOTS.items()}


class ValidateDroitErreurForm(FormValidationAction):
    """Validate ``droit_erreur_form``: turn answers into codes and stop once the verdict is sure.

    Every message but "stop"/"restart" reaches the requested slot as text (``from_text``), so a
    short answer misread by NLU ("mauvais montant" as a bonne-foi question) is still read by
    the matchers of ``orientation.droit_erreur_matching``. See ``_validate`` for what happens
    when the text is not an answer.
    """

    def name(self) -> str:
        """Return the action name."""
        return "validate_droit_erreur_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Ask no more questions once an answer already rules the droit à l'erreur out."""
        codes = _valid_codes(tracker)
        if codes["administration"] is None or codes["error_kind"] is None:
            return domain_slots
        if blocking_reasons(case_from_codes(**codes)):
            return [slot for slot in domain_slots if tracker.get_slot(slot) is not None]
        return domain_slots

    def _validate(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Turn a slot candidate into a code; otherwise answer what the usager asked.

        Order: a readable answer wins whatever the intent; then a follow-up question
        (bonne foi, entreprise, contest, principle) is answered; then a button of another
        question is kept; then a typed administration corrects the previous one; a payload or
        an empty value is re-asked silently; anything else is "not understood". In every case
        but the first the slot is emptied, so the form asks its question again.
        """
        code = _to_code(slot, value)
        if code is not None:
            return {slot: code}
        if value is None:  # slots cleared by action_droit_erreur_start
            return {slot: None}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in FOLLOW_UP_RESPONSES:
            dispatcher.utter_message(response=FOLLOW_UP_RESPONSES[intent])
            return {slot: None}
        entities = {entity.get("entity") for entity in tracker.latest_message.get("entities", [])}
        if entities.intersection(FORM_SLOTS) - {slot}:
            # A button answered another question: keep that answer, ask this one again.
            return {slot: None}
        text = value if isinstance(value, str) else ""
        other = None if slot == "de_administration" else match_administration(text)
        if other is not None and other != tracker.get_slot("de_administration"):
            info = get_droit_erreur_data().get(other)
            dispatcher.utter_message(
                response="utter_droit_erreur_correction_noted", administration=info.name
            )
            return {slot: None, "de_administration": other}
        if not text.startswith("/"):
            dispatcher.utter_message(response="utter_droit_erreur_not_understood")
        return {slot: None}

    def validate_de_administration(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Validate the administration."""
        return self._validate("de_administration", value, dispatcher, tracker)

    def validate_de_error_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Validate the kind of error."""
        return self._validate("de_error_kind", value, dispatcher, tracker)

    def validate_de_first_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Validate "first time?"."""
        return self._validate("de_first_time", value, dispatcher, tracker)

    def validate_de_good_faith(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Validate "good faith?"."""
        return self._validate("de_good_faith", value, dispatcher, tracker)

    def validate_de_exception(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Validate the exception answer."""
        return self._validate("de_exception", value, dispatcher, tracker)

    def validate_de_already_noticed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Validate "already noticed by the administration?"."""
        return self._validate("de_already_noticed", value, dispatcher, tracker)

    def validate_de_correction(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Validate where the usager stands with the correction."""
        return self._validate("de_correction", value, dispatcher, tracker)


class ActionDroitErreurStart(Action):
    """Clear the previous check, and pre-fill the administration if the message names one."""

    def name(self) -> str:
        """Return the action name."""
        return "action_droit_erreur_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Reset the form slots; set ``de_administration`` from an entity or the text."""
        events: list[EventType] = [SlotSet(slot, None) for slot in (*FORM_SLOTS, VERDICT_SLOT)]
        administration = _to_code(
            "de_administration", next(tracker.get_latest_entity_values("de_administration"), None)
        ) or match_administration(tracker.latest_message.get("text") or "")
        if administration is not None:
            events.append(SlotSet("de_administration", administration))
        return events


class ActionDroitErreurExemple(Action):
    """Send the example for the administration the usager asked about, or ask which one."""

    def name(self) -> str:
        """Return the action name."""
        return "action_droit_erreur_exemple"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Utter ``utter_droit_erreur_exemple_<code>`` or ``utter_droit_erreur_ask_exemple``."""
        code = _to_code(
            "de_administration", next(tracker.get_latest_entity_values("de_administration"), None)
        ) or match_administration(tracker.latest_message.get("text") or "")
        if code is None:
            dispatcher.utter_message(response="utter_droit_erreur_ask_exemple")
        else:
            dispatcher.utter_message(response=get_droit_erreur_data().get(code).example)
        return []


class ActionDroitErreurVerdict(Action):
    """Evaluate the answers of ``droit_erreur_form`` and explain the verdict."""

    def name(self) -> str:
        """Return the action name."""
        return "action_droit_erreur_verdict"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Send verdict, reasons or conditions, next step, contact, limit and disclaimer."""
        try:
            case = case_from_codes(**_valid_codes(tracker))
        except ValueError:
            dispatcher.utter_message(response="utter_droit_erreur_unavailable")
            return [SlotSet(VERDICT_SLOT, None)]
        result = evaluate(case)
        info = get_droit_erreur_data().get(result.administration)
        name = info.in_sentence
        dispatcher.utter_message(
            response=f"utter_droit_erreur_verdict_{result.verdict}", administration=name
        )
        for reason in result.reasons:
            dispatcher.utter_message(response=f"utter_droit_erreur_reason_{reason}")
        for condition in result.conditions:
            dispatcher.utter_message(response=f"utter_droit_erreur_condition_{condition}")
        dispatcher.utter_message(
            response=f"utter_droit_erreur_next_{result.next_step}", administration=name
        )
        if info.phone:
            dispatcher.utter_message(
                response="utter_droit_erreur_contact", url=info.url, phone=info.phone
            )
        else:
            dispatcher.utter_message(response="utter_droit_erreur_contact_no_phone", url=info.url)
        dispatcher.utter_message(response="utter_droit_erreur_limit")
        dispatcher.utter_message(response="utter_droit_erreur_disclaimer")
        return [SlotSet(VERDICT_SLOT, result.verdict)]
