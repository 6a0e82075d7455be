"""France services near the usager: resolve the place, list the 3 nearest points."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.actions.common import INTERRUPTIONS, domain_text, latest_intent, latest_text, payload

NEAREST_COUNT = 3
FS_INTERRUPTIONS = INTERRUPTIONS | {"find_service"}
NEW_PLACE = "nouvelle"


def _resolve(text: str):
    """Resolve offline; with ``BAN_ENABLED``, full street addresses go to the BAN API too."""
    import settings

    config = settings.load()
    if config.ban_enabled:
        from orientation.ban_client import get_ban_client

        return get_ban_client(enabled=True, timeout_s=config.ban_timeout_s).resolve(text)
    from orientation.places import get_place_resolver

    return get_place_resolver().resolve(text)


def _hours_line(domain: DomainDict, point: dict[str, Any]) -> str:
    if point["today_status"] == "open" and point["today_hours"]:
        line = domain_text(domain, "utter_fs_part_hours_today", hours=point["today_hours"])
    elif point["today_status"] == "closed":
        line = domain_text(domain, "utter_fs_part_closed_today")
    elif point["today_status"] == "by_appointment":
        line = domain_text(domain, "utter_fs_part_by_appointment_today")
    else:
        line = domain_text(domain, "utter_fs_part_hours_unknown")
    if point["is_open_now"] is True:
        line += " " + domain_text(domain, "utter_fs_part_open_now", until=point["open_until"] or "")
    elif point["is_open_now"] is False:
        line += " " + domain_text(domain, "utter_fs_part_closed_now")
    return line


def point_message(domain: DomainDict, point: dict[str, Any]) -> dict[str, str]:
    """Variables of ``utter_fs_point`` for one nearby point (every sentence from the domain)."""
    extras = []
    if point["appointment_required"]:
        extras.append(domain_text(domain, "utter_fs_part_appointment"))
    if point["is_itinerant"]:
        extras.append(domain_text(domain, "utter_fs_part_itinerant"))
    phone = (
        domain_text(domain, "utter_fs_part_phone", phone=point["phone"]) if point["phone"] else ""
    )
    distance = f"{point['distance_km']:.1f}".replace(".", ",")
    return {
        "name": point["name"],
        "address": point["address"],
        "distance": distance,
        "hours": _hours_line(domain, point),
        "details": " ".join(p for p in [*extras, phone] if p),
    }


def nearest_messages(dispatcher: CollectingDispatcher, domain: DomainDict, place: Any) -> int:
    """Utter the nearest points to ``place``; return how many were found."""
    from orientation.france_services import get_directory

    points = [p.to_dict() for p in get_directory().nearest_to_place(place, k=NEAREST_COUNT)]
    if not points:
        dispatcher.utter_message(response="utter_fs_none")
        return 0
    dispatcher.utter_message(response="utter_fs_intro", count=len(points), place=place.name)
    for point in points:
        dispatcher.utter_message(response="utter_fs_point", **point_message(domain, point))
    dispatcher.utter_message(response="utter_fs_outro")
    return len(points)


class ValidateFranceServicesForm(FormValidationAction):
    """Fill ``place`` from a commune, a postal code or a suggestion button."""

    def name(self) -> str:
        """Validation action of ``france_services_form``."""
        return "validate_france_services_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Only ``place_query`` is asked; ``place`` holds the resolved place."""
        return ["place_query"]

    async def extract_place_query(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take the place from a suggestion button or from the usager's words.

        Words naming a place are taken whatever intent the NLU saw in them ("Gap" may look
        like anything to it). On the activation turn without a place ("la France services la
        plus proche"), a place given earlier in the conversation is reused.
        """
        chosen = next(tracker.get_latest_entity_values("place_code"), None)
        if chosen == NEW_PLACE:  # "Une autre commune": ask instead of reusing the last one
            return {}
        if chosen:
            return {"place_query": chosen}
        text = latest_text(tracker)
        intent = latest_intent(tracker)
        if intent in ("stop", "restart"):
            return {}
        names_a_place = bool(text) and _resolve(text).status != "not_found"
        if tracker.get_slot("requested_slot") is None and not names_a_place:
            previous = tracker.get_slot("place")
            return {"place_query": previous["label"]} if previous else {}
        if not text or (not names_a_place and intent in FS_INTERRUPTIONS):
            return {}
        return {"place_query": text}

    def validate_place_query(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Resolve the place; ambiguous or unknown places get suggestions as buttons."""
        resolution = _resolve(value if isinstance(value, str) else "")
        if resolution.status == "found" and resolution.place is not None:
            return {
                "place_query": value,
                "place": resolution.place.to_dict(),
                "place_choices": None,
            }
        suggestions = [s.to_dict() for s in resolution.suggestions[:5]]
        return {
            "place_query": None,
            "place_choices": suggestions or None,
            "place_not_found": resolution.status == "not_found",
        }


class ActionAskPlaceQuery(Action):
    """Ask where the usager is: plain question, or suggestions as buttons."""

    def name(self) -> str:
        """Replaces ``utter_ask_place_query``."""
        return "action_ask_place_query"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Utter the right question."""
        choices = tracker.get_slot("place_choices") or []
        not_found = tracker.get_slot("place_not_found")
        if choices:
            buttons = [
                {
                    "title": choice["label"],
                    "payload": payload(
                        "choose_place", place_code=f"{choice['name']} {choice['postal_code']}"
                    ),
                }
                for choice in choices
            ]
            response = "utter_place_suggestions_not_found" if not_found else "utter_place_ambiguous"
            dispatcher.utter_message(response=response, buttons=buttons)
        elif not_found:
            dispatcher.utter_message(response="utter_place_not_found")
        else:
            dispatcher.utter_message(response="utter_ask_place_query")
        return [SlotSet("place_not_found", None)]


class ActionFranceServicesAnswer(Action):
    """List the 3 nearest France services points of the resolved place."""

    def name(self) -> str:
        """Run when ``france_services_form`` is complete."""
        return "action_france_services_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer and reset the question slots (the place is kept for follow-ups)."""
        from orientation.places import Place

        data = tracker.get_slot("place")
        reset = [SlotSet("place_query", None), SlotSet("place_choices", None)]
        if not data:
            dispatcher.utter_message(response="utter_place_not_found")
            return reset
        nearest_messages(dispatcher, domain, Place.from_dict(data))
        return reset
