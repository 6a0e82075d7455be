"""Orientation: from what the usager typed to the competent service (adapters only)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.common import INTERRUPTIONS, latest_intent, latest_text, payload

HORS_CHAMP_PREFIX = "hors_champ:"
NOT_FOUND = "inconnu"
MAX_ATTEMPTS = 2
ORIENTATION_INTERRUPTIONS = INTERRUPTIONS | {"find_france_services"}


def _catalogue():
    from orientation.catalogue import get_catalogue

    return get_catalogue()


def _rank(text: str):
    from orientation.ranking import get_ranker

    return get_ranker().rank(text)


class ValidateOrientationForm(FormValidationAction):
    """Fill ``demarche_code`` from free text, a clarifying button, or give up politely."""

    def name(self) -> str:
        """Validation action of ``orientation_form``."""
        return "validate_orientation_form"

    async def extract_demarche_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take the démarche from a button entity or from the usager's own words.

        Words that name a démarche are taken whatever intent the NLU saw in them; other
        words are an interruption (a question, "stop", another flow) when the NLU says so.
        On the activation turn only words naming a démarche are taken ("je dois refaire ma
        carte d'identité"), not a bare request for orientation ("le bon service").
        """
        chosen = next(tracker.get_latest_entity_values("demarche_code"), None)
        if chosen:
            return {"demarche_code": chosen}
        text = latest_text(tracker)
        if not text or latest_intent(tracker) in ("stop", "restart"):
            return {}
        names_a_demarche = _rank(text).status in ("match", "ambiguous")
        if not names_a_demarche and (
            tracker.get_slot("requested_slot") is None
            or latest_intent(tracker) in ORIENTATION_INTERRUPTIONS
        ):
            return {}
        return {"demarche_code": text}

    def validate_demarche_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Turn the text into a démarche code, a clarifying question, or an honest answer."""
        if not isinstance(value, str) or not value.strip():
            return {"demarche_code": None}
        catalogue = _catalogue()
        if value in {d.code for d in catalogue.demarches}:
            return {"demarche_code": value, "demarche_choices": None, "orientation_attempts": None}
        result = _rank(value)
        if result.status == "match" and result.best is not None:
            return {
                "demarche_code": result.best.code,
                "demarche_query": value,
                "demarche_choices": None,
                "orientation_attempts": None,
            }
        if result.status == "ambiguous":
            return {
                "demarche_code": None,
                "demarche_query": value,
                "demarche_choices": [c.code for c in result.choices],
            }
        if result.status == "out_of_scope" and result.hors_champ is not None:
            return {"demarche_code": HORS_CHAMP_PREFIX + result.hors_champ.code}
        attempts = int(tracker.get_slot("orientation_attempts") or 0) + 1
        if attempts >= MAX_ATTEMPTS:
            return {"demarche_code": NOT_FOUND, "orientation_attempts": None}
        return {"demarche_code": None, "demarche_choices": None, "orientation_attempts": attempts}


class ActionAskDemarcheCode(Action):
    """Ask for the démarche: plain question, retry, or clarifying buttons."""

    def name(self) -> str:
        """Replaces ``utter_ask_demarche_code``."""
        return "action_ask_demarche_code"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Utter the right question for where the usager is."""
        choices = tracker.get_slot("demarche_choices") or []
        if choices:
            catalogue = _catalogue()
            buttons = [
                {
                    "title": catalogue.get(code).name,
                    "payload": payload("choose_demarche", demarche_code=code),
                }
                for code in choices
            ]
            buttons.append(
                {
                    "title": "Autre démarche",
                    "payload": payload("choose_demarche", demarche_code="autre"),
                }
            )
            dispatcher.utter_message(response="utter_orientation_clarify", buttons=buttons)
        elif tracker.get_slot("orientation_attempts"):
            dispatcher.utter_message(response="utter_orientation_retry")
        else:
            dispatcher.utter_message(response="utter_ask_demarche_code")
        return []


class ActionOrientationAnswer(Action):
    """Tell the usager which service is competent, what to do first, and how."""

    def name(self) -> str:
        """Run when ``orientation_form`` is complete."""
        return "action_orientation_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer, then reset the form slots so that a follow-up can start again."""
        code = tracker.get_slot("demarche_code") or NOT_FOUND
        reset = [
            SlotSet("demarche_code", None),
            SlotSet("demarche_choices", None),
            SlotSet("orientation_attempts", None),
            SlotSet("demarche_query", None),
        ]
        catalogue = _catalogue()
        if code.startswith(HORS_CHAMP_PREFIX):
            entry = catalogue.hors_champ_entry(code[len(HORS_CHAMP_PREFIX) :])
            dispatcher.utter_message(
                response="utter_orientation_hors_champ", who=entry.name, who_to_ask=entry.who_to_ask
            )
            return reset
        if code == NOT_FOUND:
            dispatcher.utter_message(response="utter_orientation_not_found")
            return reset
        demarche = catalogue.get(code)
        organisme = catalogue.organisme_of(demarche)
        dispatcher.utter_message(
            response="utter_orientation_result",
            demarche=demarche.name,
            organisme=organisme.name,
            description=demarche.description,
            first_step=demarche.first_step,
            url=demarche.url,
        )
        if demarche.phone:
            dispatcher.utter_message(response="utter_orientation_phone", phone=demarche.phone)
        events: list[EventType] = [*reset, SlotSet("last_demarche_code", code)]
        place = _place_in(tracker.get_slot("demarche_query") or "")
        if demarche.france_services and place is not None:
            from bot.actions.france_services import nearest_messages

            dispatcher.utter_message(response="utter_orientation_france_services_here")
            nearest_messages(dispatcher, domain, place)
            events.append(SlotSet("place", place.to_dict()))
        elif demarche.france_services:
            dispatcher.utter_message(response="utter_orientation_france_services_offer")
        else:
            dispatcher.utter_message(response="utter_orientation_next")
        return events


def _place_in(text: str):
    """A place named in the same sentence as the démarche ("..., je suis à Briançon")."""
    if not text:
        return None
    from orientation.places import get_place_resolver

    resolution = get_place_resolver().resolve(text)
    return (
        resolution.place if resolution.status == "found" and resolution.match != "fuzzy" else None
    )
