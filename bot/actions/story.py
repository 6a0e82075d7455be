"""Rasa adapters for the experience story: the form, the submission and the topic correction.

Domain contract (``bot/fragments/story/domain.yml``):

* form ``story_form`` asking, in this order, the slots of ``FORM_SLOTS``; the validation also
  sets ``story_structure_code`` (organisme of ``orientation.catalogue``) and
  ``story_postal_code``; ``story_text`` and ``story_suggestion`` are extracted here
  (``extract_*``) so that a long story the NLU mistakes for a question is still a story;
* ``action_submit_story`` stores the story (with consent only), then sets ``story_reference``,
  ``story_irritants`` (detected irritant codes, most confident first) and
  ``story_topic_asked``; ``action_correct_topic`` stores the usager's choice of topic;
* every sentence is a domain response sent by name; the actions pass codes, references and
  labels from ``feedback_store.taxonomy`` / ``orientation.catalogue`` as variables.

Personal data: the story, the suggestion and the service as typed are scrubbed before they are
classified or written anywhere (database or outbox), and the form's free-text slots are emptied
once the story is handled.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.actions import feedback_db
from bot.actions.common import latest_intent, latest_text
from bot.actions.story_answers import (
    SKIPPED,
    is_short,
    is_skip,
    match_canal,
    match_consent,
    match_organisme,
    match_ressenti,
)
from feedback_store import taxonomy
from feedback_store.scrubbing import PLACEHOLDER_RE, scrub
from feedback_store.stories import (
    TEXT_MAX_LENGTH,
    TEXT_MIN_LENGTH,
    StoryInput,
    StoryNotFoundError,
    StoryValidationError,
    provisional_reference,
    set_usager_label,
    submit_story,
    upsert_structure,
    validate_story,
)

logger = logging.getLogger(__name__)

FORM_NAME = "story_form"
FORM_SLOTS: tuple[str, ...] = (
    "story_service",
    "story_place",
    "story_canal",
    "story_ressenti",
    "story_text",
    "story_suggestion",
    "story_consent",
)
# Filled by the validation next to the slot the usager answered.
DERIVED_SLOTS: tuple[str, ...] = ("story_structure_code", "story_postal_code")
RESULT_SLOTS: tuple[str, ...] = ("story_reference", "story_irritants", "story_topic_asked")
# Intents that interrupt the form (rules answer them) instead of answering its question.
STORY_INTERRUPTIONS = frozenset({"stop", "restart", "help", "bot_challenge", "ask_human"})
CONSENT_YES, CONSENT_NO = "yes", "no"
SERVICE_MAX_LENGTH = 150
STRUCTURE_LABEL_MAX_LENGTH = 200
# Values of the ``story_topic`` entity sent by the correction buttons, besides irritant codes.
TOPIC_CONFIRM, TOPIC_OTHER, TOPIC_NONE = "confirm", "other", "none"
TOPIC_CHOICES = 3
PARIS = ZoneInfo("Europe/Paris")
# Fixed namespace of the submission ids (uuid5 of sender id and form start time).
SUBMISSION_NAMESPACE = uuid.UUID("5b0f3c4e-7a51-4d8e-9a39-2f1f0c6d8e21")
_POSTAL_CODE = re.compile(r"^\d{5}$")


def get_story_classifier() -> Any:
    """Return the process-wide story classifier (loaded, or trained if missing, on first use)."""
    from feedback_store.classifier.registry import get_classifier

    return get_classifier()


def _catalogue_organismes():
    from orientation.catalogue import get_catalogue

    return get_catalogue().organismes


def _resolve_place(text: str):
    from orientation.places import resolve_place

    return resolve_place(text)


# --- form ---------------------------------------------------------------------------------------


def skips(tracker: Tracker, text: str) -> bool:
    """Tell whether an answer skips an optional question.

    Skip words ("passer", "non merci", "je ne sais pas") always do; otherwise the NLU's ``skip``
    intent does for the "Passer" button or a short message, never for a longer answer that
    merely starts with "non".
    """
    if is_skip(text):
        return True
    return latest_intent(tracker) == "skip" and (text.startswith("/") or is_short(text))


class ValidateStoryForm(FormValidationAction):
    """Validate ``story_form``: read typed answers, resolve the service and place, check lengths."""

    def name(self) -> str:
        """Return the action name."""
        return "validate_story_form"

    @staticmethod
    def _free_text(tracker: Tracker, slot: str, *, skippable: bool) -> dict[str, Any]:
        """Take the latest message as the answer to ``slot`` when that slot is asked.

        A short message that the NLU reads as an interruption ("stop", "qui êtes-vous ?") is
        left to the rules; a longer one is an answer whatever its intent (a story about an
        unreachable agent is not a request for a human). Button payloads are not answers,
        except "passer" (intent ``skip``) for an optional question.
        """
        if tracker.get_slot("requested_slot") != slot:
            return {}
        raw = (tracker.latest_message.get("text") or "").strip()
        if skippable and skips(tracker, raw):
            return {slot: SKIPPED}
        text = latest_text(tracker)
        if not text or (latest_intent(tracker) in STORY_INTERRUPTIONS and is_short(text)):
            return {}
        return {slot: text}

    async def extract_story_text(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Extract the story itself from the latest message."""
        return self._free_text(tracker, "story_text", skippable=False)

    async def extract_story_suggestion(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Extract the optional suggestion from the latest message."""
        return self._free_text(tracker, "story_suggestion", skippable=True)

    async def validate_story_service(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep the service as typed; link it to a known organisme when one is named."""
        if value is None:  # emptied by action_story_reset before the form starts
            return {"story_service": None}
        text = value.strip() if isinstance(value, str) else ""
        organisme = None
        if 2 <= len(text) <= SERVICE_MAX_LENGTH and not text.startswith("/"):
            organisme = match_organisme(text, _catalogue_organismes())
        if organisme is not None:
            dispatcher.utter_message(
                response="utter_story_service_resolved", structure=organisme.name
            )
            return {"story_service": text, "story_structure_code": organisme.code}
        if skips(tracker, text):  # "je ne sais plus": the story is kept without a service
            return {"story_service": SKIPPED, "story_structure_code": None}
        if text.startswith("/"):
            return {"story_service": None}
        if not 2 <= len(text) <= SERVICE_MAX_LENGTH:
            dispatcher.utter_message(response="utter_story_service_invalid")
            return {"story_service": None}
        return {"story_service": text, "story_structure_code": None}

    async def validate_story_place(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Resolve a commune or postal code (offline); "passer" leaves it unknown."""
        if value is None:  # emptied by action_story_reset before the form starts
            return {"story_place": None}
        text = value.strip() if isinstance(value, str) else ""
        if skips(tracker, text):
            return {"story_place": SKIPPED, "story_postal_code": None}
        if not text or text.startswith("/"):
            return {"story_place": None}
        resolution = await asyncio.to_thread(_resolve_place, text)
        place = resolution.place
        if resolution.status == "found" and place and _POSTAL_CODE.match(place.postal_code):
            if place.kind == "postal_code":
                label = f"{place.postal_code} ({place.departement_name})"
            else:
                label = place.label
            dispatcher.utter_message(response="utter_story_place_resolved", place=label)
            return {"story_place": label, "story_postal_code": place.postal_code}
        if resolution.status == "ambiguous":
            dispatcher.utter_message(response="utter_story_place_ambiguous")
        else:
            dispatcher.utter_message(response="utter_story_place_not_found")
        return {"story_place": None}

    @staticmethod
    def _validate_code(
        slot: str, value: Any, codes: Mapping[str, str], matcher, dispatcher: CollectingDispatcher
    ) -> dict[str, Any]:
        if value is None:  # emptied by action_story_reset before the form starts
            return {slot: None}
        if value in codes:
            return {slot: value}
        code = matcher(value)
        if code is not None:
            return {slot: code}
        if isinstance(value, str) and value.strip() and not value.startswith("/"):
            dispatcher.utter_message(response="utter_story_choose_button")
        return {slot: None}

    async def validate_story_canal(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Turn the channel answer (button or words) into a ``CANAUX`` code."""
        return self._validate_code("story_canal", value, taxonomy.CANAUX, match_canal, dispatcher)

    async def validate_story_ressenti(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Turn the ressenti answer (button or words) into a ``RESSENTIS`` code."""
        return self._validate_code(
            "story_ressenti", value, taxonomy.RESSENTIS, match_ressenti, dispatcher
        )

    async def validate_story_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept a story of 20 to 5,000 characters; say so clearly otherwise."""
        if value is None:  # emptied by action_story_reset before the form starts
            return {"story_text": None}
        text = value.strip() if isinstance(value, str) else ""
        if len(text) < TEXT_MIN_LENGTH:
            dispatcher.utter_message(response="utter_story_text_too_short")
            return {"story_text": None}
        if len(text) > TEXT_MAX_LENGTH:
            dispatcher.utter_message(response="utter_story_text_too_long")
            return {"story_text": None}
        return {"story_text": text}

    async def validate_story_suggestion(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept an optional suggestion up to 5,000 characters, or "passer"."""
        if value is None:  # emptied by action_story_reset before the form starts
            return {"story_suggestion": None}
        text = value.strip() if isinstance(value, str) else ""
        if value == SKIPPED or skips(tracker, text):
            return {"story_suggestion": SKIPPED}
        if not text:
            return {"story_suggestion": None}
        if len(text) > TEXT_MAX_LENGTH:
            dispatcher.utter_message(response="utter_story_suggestion_too_long")
            return {"story_suggestion": None}
        return {"story_suggestion": text}

    async def validate_story_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keep an explicit yes or no; explain and ask again otherwise."""
        if value is None:  # emptied by action_story_reset before the form starts
            return {"story_consent": None}
        if value in (CONSENT_YES, CONSENT_NO):
            return {"story_consent": value}
        answer = match_consent(value)
        if answer is not None:
            return {"story_consent": answer}
        if isinstance(value, str) and not value.startswith("/"):
            dispatcher.utter_message(response="utter_story_consent_explain")
        return {"story_consent": None}


def _clear(slots: Sequence[str]) -> list[EventType]:
    return [SlotSet(slot, None) for slot in slots]


class ActionStoryReset(Action):
    """Empty every story slot: before a new story, and when the usager stops one."""

    def name(self) -> str:
        """Return the action name."""
        return "action_story_reset"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Return the slot resets."""
        return _clear((*FORM_SLOTS, *DERIVED_SLOTS, *RESULT_SLOTS, "requested_slot"))


# --- submission ---------------------------------------------------------------------------------


def form_started_at(tracker: Tracker) -> float | None:
    """Timestamp of the latest activation of ``story_form`` (None if it was never active)."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == FORM_NAME:
            return event.get("timestamp")
    return None


def submission_id(sender_id: str, started_at: float | None) -> str:
    """Deterministic submission id of one filled form: retrying the action gives the same id."""
    return str(uuid.uuid5(SUBMISSION_NAMESPACE, f"{sender_id}|{started_at!r}"))


@dataclass(frozen=True)
class StoryDraft:
    """What the usager answered, as typed (not scrubbed yet): never persisted as is."""

    submission_id: str
    year: int
    service: str | None
    structure_code: str | None
    structure_name: str | None
    postal_code: str | None
    canal: str
    ressenti: str
    text: str
    suggestion: str | None
    partner: str | None


@dataclass(frozen=True)
class Submission:
    """Outcome of a submission: the reference the usager gets and what was understood."""

    reference: str
    stored: bool
    irritants: tuple[str, ...]
    engagements: tuple[str, ...]
    scores: Mapping[str, float]
    anonymised: bool


class PersonalDataOnlyError(ValueError):
    """Once personal data is removed, too little of the story is left to keep it."""


def _answer(value: Any) -> str | None:
    return None if value in (None, SKIPPED) else str(value)


def draft_from_tracker(tracker: Tracker) -> StoryDraft:
    """Collect the form answers and the submission id of the current story."""
    started = form_started_at(tracker)
    if started is None:  # not run after the form (tests, manual runs): the last user message
        started = next(
            (e.get("timestamp") for e in reversed(tracker.events) if e.get("event") == "user"),
            None,
        )
    year = datetime.fromtimestamp(started, PARIS).year if started else datetime.now(PARIS).year
    code = tracker.get_slot("story_structure_code")
    name = None
    if code:
        name = next((o.name for o in _catalogue_organismes() if o.code == code), None)
    return StoryDraft(
        submission_id=submission_id(tracker.sender_id, started),
        year=year,
        service=_answer(tracker.get_slot("story_service")),
        structure_code=code if name else None,
        structure_name=name,
        postal_code=_answer(tracker.get_slot("story_postal_code")),
        canal=str(tracker.get_slot("story_canal")),
        ressenti=str(tracker.get_slot("story_ressenti")),
        text=str(tracker.get_slot("story_text") or ""),
        suggestion=_answer(tracker.get_slot("story_suggestion")),
        partner=tracker.get_slot("partner"),
    )


def _ranked(scores: Mapping[str, float]) -> tuple[str, ...]:
    return tuple(code for code, _ in sorted(scores.items(), key=lambda item: -item[1]))


def _ensure_structure(session: Session, code: str, name: str) -> None:
    """Create the organisme's structure with its canonical name the first time it is cited."""
    from feedback_store.models import Structure

    if session.execute(select(Structure.id).where(Structure.code == code)).first() is None:
        upsert_structure(session, code, name, kind=code)


def store_story(draft: StoryDraft) -> Submission:
    """Scrub, classify and store a story; queue it in the outbox if the database is down.

    Blocking (spaCy, classifier, database): run it in a worker thread.

    Raises:
        PersonalDataOnlyError: If, personal data removed, less than the minimum length is left.
        StoryValidationError: If a field is invalid (nothing stored).
        OSError: If the database is down and the outbox cannot be written either.

    """
    text = scrub(draft.text)
    suggestion = scrub(draft.suggestion) if draft.suggestion else None
    service = scrub(draft.service).text[:STRUCTURE_LABEL_MAX_LENGTH] if draft.service else None
    story_text = text.text.strip()[:TEXT_MAX_LENGTH]
    if len(PLACEHOLDER_RE.sub("", story_text).strip()) < TEXT_MIN_LENGTH:
        raise PersonalDataOnlyError("Without its personal data the story is too short to keep.")
    try:
        classification = get_story_classifier().classify(story_text)
    except Exception:  # the story must not be lost because the model failed
        logger.exception("Story classifier failed; the story is stored without model labels")
        classification = None
    story = validate_story(
        StoryInput(
            submission_id=draft.submission_id,
            structure_code=draft.structure_code,
            structure_label=service,
            canal=draft.canal,
            ressenti=draft.ressenti,
            text=story_text,
            suggestion=suggestion.text.strip()[:TEXT_MAX_LENGTH] if suggestion else None,
            postal_code=draft.postal_code,
            partner=draft.partner,
            consent=True,
        )
    )
    try:
        with feedback_db.get_session_factory().begin() as session:
            if draft.structure_code and draft.structure_name:
                _ensure_structure(session, draft.structure_code, draft.structure_name)
            reference = submit_story(session, story, classification).reference
        stored = True
    except (SQLAlchemyError, OSError) as error:
        logger.warning("Story store unavailable (%s): story queued", error.__class__.__name__)
        reference = provisional_reference(story.submission_id, draft.year)
        queued = StoryInput(**{**story.to_dict(), "reference": reference})
        feedback_db.get_outbox().append(queued, classification)
        stored = False
    if stored:
        feedback_db.flush_outbox()
    irritants = dict(classification.irritants) if classification else {}
    engagements = dict(classification.engagements) if classification else {}
    scores = dict(getattr(classification, "irritant_scores", None) or irritants)
    return Submission(
        reference=reference,
        stored=stored,
        irritants=_ranked(irritants),
        engagements=_ranked(engagements),
        scores=scores,
        anonymised=text.changed or bool(suggestion and suggestion.changed),
    )


def _lower_first(label: str) -> str:
    """Lower-case the first letter of a label for mid-sentence use (keeps acronyms like CAF)."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


def _engagement_number(code: str) -> str:
    return code.removeprefix("E")


def _topic_variables(codes: Sequence[str]) -> dict[str, str]:
    """Variables ``topic_<n>`` / ``topic_<n>_label`` of the correction buttons."""
    variables: dict[str, str] = {}
    for index, code in enumerate(codes, start=1):
        variables[f"topic_{index}"] = code
        variables[f"topic_{index}_label"] = taxonomy.IRRITANTS[code].label
    return variables


def topic_choices(scores: Mapping[str, float], exclude: Sequence[str] = ()) -> list[str]:
    """The ``TOPIC_CHOICES`` most likely irritants, excluding ``exclude`` (taxonomy order pads)."""
    ranked = [code for code in _ranked(scores) if code in taxonomy.IRRITANTS]
    ordered = ranked + [code for code in taxonomy.IRRITANTS if code not in ranked]
    return [code for code in ordered if code not in exclude][:TOPIC_CHOICES]


def all_topic_labels() -> dict[str, str]:
    """Variables ``label_<code>`` of the buttons listing every irritant."""
    return {f"label_{code}": irritant.label for code, irritant in taxonomy.IRRITANTS.items()}


class ActionSubmitStory(Action):
    """Store the story if the usager consented, then say what was understood."""

    def name(self) -> str:
        """Return the action name."""
        return "action_submit_story"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Submit (or not), reply, and empty the form slots in every case.

        ``story_topic_asked`` is always set (true or false): the rules branch on it.
        """
        cleared = _clear((*FORM_SLOTS, *DERIVED_SLOTS))
        not_stored = [
            *cleared,
            *_clear(("story_reference", "story_irritants")),
            SlotSet("story_topic_asked", False),
        ]
        if tracker.get_slot("story_consent") != CONSENT_YES:
            dispatcher.utter_message(response="utter_story_not_stored")
            return not_stored
        draft = draft_from_tracker(tracker)
        try:
            submission = await asyncio.to_thread(store_story, draft)
        except PersonalDataOnlyError:
            dispatcher.utter_message(response="utter_story_personal_data_only")
            return not_stored
        except Exception:
            logger.exception("Story submission failed; nothing was stored")
            dispatcher.utter_message(response="utter_story_submit_failed")
            return not_stored
        dispatcher.utter_message(response="utter_story_submitted", reference=submission.reference)
        if submission.anonymised:
            dispatcher.utter_message(response="utter_story_anonymised")
        self._summary(dispatcher, submission)
        asked = submission.stored and self._ask_topic(dispatcher, submission, draft.ressenti)
        return [
            *cleared,
            SlotSet("story_reference", submission.reference),
            SlotSet("story_irritants", list(submission.irritants)),
            SlotSet("story_topic_asked", asked),
        ]

    @staticmethod
    def _summary(dispatcher: CollectingDispatcher, submission: Submission) -> None:
        if submission.irritants:
            irritant = taxonomy.IRRITANTS[submission.irritants[0]]
            dispatcher.utter_message(
                response="utter_story_summary_irritant",
                topic=_lower_first(irritant.label),
                engagement=_engagement_number(irritant.engagements[0]),
            )
        elif submission.engagements:
            engagement = taxonomy.ENGAGEMENTS[submission.engagements[0]]
            dispatcher.utter_message(
                response="utter_story_summary_engagement",
                engagement=_engagement_number(engagement.code),
                engagement_label=engagement.label,
            )
        else:
            dispatcher.utter_message(response="utter_story_summary_none")

    @staticmethod
    def _ask_topic(dispatcher: CollectingDispatcher, submission: Submission, ressenti: str) -> bool:
        """Offer to correct the detected topic; returns whether a question was asked."""
        if submission.irritants:
            choices = topic_choices(submission.scores, exclude=submission.irritants[:1])
            dispatcher.utter_message(response="utter_story_ask_topic", **_topic_variables(choices))
            return True
        if ressenti == "positif":
            return False
        if submission.scores:
            choices = topic_choices(submission.scores)
            dispatcher.utter_message(
                response="utter_story_ask_topic_undetected", **_topic_variables(choices)
            )
        else:
            dispatcher.utter_message(response="utter_story_ask_topic_all", **all_topic_labels())
        return True


# --- correction ---------------------------------------------------------------------------------


def _save_usager_topic(reference: str, irritants: list[str]) -> None:
    with feedback_db.get_session_factory().begin() as session:
        set_usager_label(session, reference, irritants=irritants)


class ActionCorrectTopic(Action):
    """Store the usager's own topic for the story just submitted (a ``usager`` label)."""

    def name(self) -> str:
        """Return the action name."""
        return "action_correct_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Read the chosen topic (button entity, or "oui"/"non" typed), store it, thank.

        ``story_topic_asked`` is always set to false (the rules expect it).
        """
        reference = tracker.get_slot("story_reference")
        if not reference:
            dispatcher.utter_message(response="utter_story_no_recent")
            return [SlotSet("story_topic_asked", False)]
        topic = next(tracker.get_latest_entity_values("story_topic"), None)
        if topic is None:
            topic = TOPIC_CONFIRM if latest_intent(tracker) == "affirm" else TOPIC_OTHER
        if topic == TOPIC_CONFIRM:
            irritants = [
                c for c in tracker.get_slot("story_irritants") or [] if c in taxonomy.IRRITANTS
            ]
        elif topic == TOPIC_NONE:
            irritants = []
        elif topic in taxonomy.IRRITANTS:
            irritants = [topic]
        else:
            dispatcher.utter_message(response="utter_story_ask_topic_all", **all_topic_labels())
            return [SlotSet("story_topic_asked", False)]
        try:
            await asyncio.to_thread(_save_usager_topic, reference, irritants)
        except (SQLAlchemyError, OSError, StoryNotFoundError, StoryValidationError) as error:
            logger.warning("Topic correction not stored (%s)", error.__class__.__name__)
            dispatcher.utter_message(response="utter_story_topic_not_saved")
            return [SlotSet("story_topic_asked", False)]
        if topic == TOPIC_CONFIRM:
            dispatcher.utter_message(response="utter_story_topic_confirmed")
        elif topic == TOPIC_NONE:
            dispatcher.utter_message(response="utter_story_topic_none_saved")
        else:
            label = _lower_first(taxonomy.IRRITANTS[topic].label)
            dispatcher.utter_message(response="utter_story_topic_saved", topic=label)
        return [SlotSet("story_topic_asked", False), SlotSet("story_irritants", irritants)]
