"""Experience-story actions on real rasa_sdk trackers, the real scrubber and a SQLite store."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.actions import feedback_db
from bot.actions import story as story_actions
from bot.actions.story import (
    FORM_SLOTS,
    ActionCorrectTopic,
    ActionStoryReset,
    ActionSubmitStory,
    ValidateStoryForm,
)
from bot.actions.story_answers import SKIPPED
from feedback_store import taxonomy
from feedback_store.classifier.model import Classification
from feedback_store.models import Story, StoryLabel, Structure

ROOT = Path(__file__).resolve().parents[3]
FORM_STARTED_AT = 1_780_000_000.25  # 2026-05-28, Paris time
PII = {
    "name": "Jean Dupont",
    "phone": "06 12 34 56 78",
    "email": "jean.dupont@example.org",
}
STORY = (
    f"Bonjour, je suis {PII['name']}, joignable au {PII['phone']}. J'attends depuis six mois "
    "que mon dossier d'aide au logement soit traité et personne ne me donne de date."
)
DISPATCHER_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image"}
DISPATCHER_KEYS |= {"attachment"}
SUGGESTION = f"Écrivez-moi à {PII['email']} quand le dossier avance."


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def story_domain() -> dict[str, Any]:
    """The project domain (the story fragment is merged into it)."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain.yml")).as_dict()


@pytest.fixture(scope="module")
def nlg(story_domain):
    """Rasa's own response renderer, to check what the usager would read."""
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator

    return TemplatedNaturalLanguageGenerator(story_domain["responses"])


class KeywordClassifier:
    """Deterministic stand-in for the trained model: returns real ``Classification`` objects.

    One irritant per keyword (confidence 0.9), a fixed small score for the others; it records
    every text it is given, so tests can check that only scrubbed text reaches it.
    """

    model_version = "test-keywords-1"
    keywords = {
        "attends": "delai_traitement",
        "répond": "injoignable",
        "site": "numerique_defaillant",
    }

    def __init__(self) -> None:
        self.texts: list[str] = []

    def classify(self, text: str) -> Classification:
        self.texts.append(text)
        found = {code: 0.9 for word, code in self.keywords.items() if word in text.lower()}
        scores = {
            code: found.get(code, round(0.05 * (index % 5), 2))
            for index, code in enumerate(taxonomy.IRRITANTS)
        }
        engagements = {e: 0.9 for code in found for e in taxonomy.IRRITANTS[code].engagements}
        return Classification(
            irritants=found,
            engagements=engagements,
            tags=frozenset(taxonomy.derive_tags(found)),
            model_version=self.model_version,
            irritant_scores=scores,
            engagement_scores=dict.fromkeys(taxonomy.ENGAGEMENTS, 0.1) | engagements,
        )


class FixedClassifier:
    """Returns the same classification for every text."""

    def __init__(self, result: Classification) -> None:
        self.result = result

    def classify(self, text: str) -> Classification:
        return self.result


@pytest.fixture
def classifier(monkeypatch) -> KeywordClassifier:
    model = KeywordClassifier()
    monkeypatch.setattr(story_actions, "get_story_classifier", lambda: model)
    return model


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh SQLite story store (migrated on first use) and outbox under ``tmp_path``."""
    monkeypatch.setenv("FEEDBACK_DB_URL", f"sqlite:///{tmp_path / 'feedback.db'}")
    feedback_db.reset(outbox_path=tmp_path / "story_outbox.jsonl")
    yield tmp_path
    feedback_db.reset()


def rows(model):
    with feedback_db.get_session_factory()() as session:
        return list(session.execute(select(model)).scalars())


def form_tracker(
    slots: dict[str, Any] | None = None,
    *,
    text: str = "",
    intent: str = "nlu_fallback",
    entities: dict[str, str] | None = None,
    requested_slot: str | None = None,
    started_at: float = FORM_STARTED_AT,
    sender_id: str = "usager-1",
    active: bool = True,
) -> Tracker:
    """A tracker as the action server receives it during or right after ``story_form``."""
    entity_list = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entity_list}
    events = [
        {"event": "action", "name": "action_listen", "timestamp": started_at - 2},
        {"event": "user", "text": "/tell_experience", "timestamp": started_at - 1},
        {"event": "active_loop", "name": "story_form", "timestamp": started_at},
        {"event": "action", "name": "action_listen", "timestamp": started_at + 1},
        {"event": "user", "text": text, "parse_data": latest, "timestamp": started_at + 2},
    ]
    return Tracker.from_dict(
        {
            "sender_id": sender_id,
            "slots": {"requested_slot": requested_slot, "partner": None, **(slots or {})},
            "latest_message": latest,
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": "story_form"} if active else {},
            "latest_action_name": "action_listen",
        }
    )


def filled(**overrides: Any) -> dict[str, Any]:
    """Slots of a completed form with consent."""
    slots = {
        "story_service": "la CAF de Gap",
        "story_structure_code": "caf",
        "story_place": "Gap (05000, Hautes-Alpes)",
        "story_postal_code": "05000",
        "story_canal": "telephone",
        "story_ressenti": "negatif",
        "story_text": STORY,
        "story_suggestion": SUGGESTION,
        "story_consent": "yes",
        "partner": "mairie-gap",
    }
    slots.update(overrides)
    return slots


async def run(action, tracker: Tracker, domain: dict) -> tuple[list[dict], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return events, dispatcher


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [message["response"] for message in dispatcher.messages]


def message(dispatcher: CollectingDispatcher, name: str) -> dict[str, Any]:
    found = [m for m in dispatcher.messages if m["response"] == name]
    assert len(found) == 1, (name, responses(dispatcher))
    return found[0]


def slot_events(events: list[dict]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


def payload_entities(payload: str) -> dict[str, str]:
    """Entities of a button payload such as ``/correct_topic{"story_topic":"attente"}``."""
    match = re.fullmatch(r"/(\w+)(\{.*\})?", payload)
    assert match, payload
    return json.loads(match[2] or "{}")


def variables(sent: dict[str, Any]) -> dict[str, Any]:
    """The variables an action passed with a response (``utter_message(response=..., **vars)``)."""
    return {key: value for key, value in sent.items() if key not in DISPATCHER_KEYS}


def render(nlg, sent: dict[str, Any]) -> dict[str, Any]:
    """Render a dispatched message with Rasa's NLG; every placeholder must be filled."""
    rendered = nlg.generate_from_slots(sent["response"], {}, "rest", **variables(sent))
    assert rendered is not None, sent["response"]
    assert "{" not in rendered["text"], rendered["text"]
    for button in rendered.get("buttons") or []:
        assert "{" not in button["title"], button
        payload_entities(button["payload"])
    return rendered


# --- submission ---------------------------------------------------------------------------------


async def test_happy_path_stores_one_scrubbed_story_with_model_labels(
    store, classifier, story_domain, nlg
):
    events, dispatcher = await run(ActionSubmitStory(), form_tracker(filled()), story_domain)

    [story] = rows(Story)
    for value in PII.values():
        assert value not in story.text_anonymised + (story.suggestion_anonymised or "")
    assert "[TELEPHONE]" in story.text_anonymised
    assert "[EMAIL]" in story.suggestion_anonymised
    assert "J'attends depuis six mois" in story.text_anonymised
    assert classifier.texts == [story.text_anonymised]
    assert (story.canal, story.ressenti, story.partner) == ("telephone", "negatif", "mairie-gap")
    assert (story.postal_code, story.departement, story.consent) == ("05000", "05", True)
    assert story.structure_label == "la CAF de Gap"
    [structure] = rows(Structure)
    assert (structure.code, structure.id) == ("caf", story.structure_id)
    assert structure.name == "Caisse d'allocations familiales (CAF)"
    labels = {
        (label.space, label.code, label.source, label.confidence) for label in rows(StoryLabel)
    }
    assert labels == {
        ("irritant", "delai_traitement", "model", 0.9),
        ("engagement", "E4", "model", 0.9),
        ("tag", "reactivite", "model", None),
    }
    assert story.model_version == "test-keywords-1"

    assert responses(dispatcher) == [
        "utter_story_submitted",
        "utter_story_anonymised",
        "utter_story_summary_irritant",
        "utter_story_ask_topic",
    ]
    submitted = message(dispatcher, "utter_story_submitted")
    assert submitted["reference"] == story.reference
    assert re.fullmatch(r"EXP-2026-\d{6}", story.reference)
    summary = render(nlg, message(dispatcher, "utter_story_summary_irritant"))
    assert "délai de traitement trop long — engagement 4" in summary["text"]
    question = render(nlg, message(dispatcher, "utter_story_ask_topic"))
    payloads = [button["payload"] for button in question["buttons"]]
    assert payloads[0] == '/correct_topic{"story_topic":"confirm"}'
    assert payloads[-1] == '/correct_topic{"story_topic":"other"}'
    offered = [payload_entities(payload)["story_topic"] for payload in payloads[1:-1]]
    assert len(offered) == 3 and "delai_traitement" not in offered
    assert set(offered) <= set(taxonomy.IRRITANTS)
    titles = [button["title"] for button in question["buttons"][1:-1]]
    assert titles == [taxonomy.IRRITANTS[code].label for code in offered]

    slots = slot_events(events)
    for slot in (*FORM_SLOTS, "story_structure_code", "story_postal_code"):
        assert slots[slot] is None, slot
    assert slots["story_reference"] == story.reference
    assert slots["story_irritants"] == ["delai_traitement"]
    assert slots["story_topic_asked"] is True


async def test_without_consent_nothing_is_stored(store, classifier, story_domain):
    tracker = form_tracker(filled(story_consent="no"))
    events, dispatcher = await run(ActionSubmitStory(), tracker, story_domain)

    assert responses(dispatcher) == ["utter_story_not_stored"]
    assert classifier.texts == []
    assert not (store / "feedback.db").exists()
    assert not (store / "story_outbox.jsonl").exists()
    slots = slot_events(events)
    assert slots["story_text"] is None and slots["story_suggestion"] is None
    assert slots["story_reference"] is None
    assert slots["story_topic_asked"] is False  # always set: the rules branch on it


async def test_a_retried_submission_stores_one_story(store, classifier, story_domain):
    tracker = form_tracker(filled())
    _, first = await run(ActionSubmitStory(), tracker, story_domain)
    _, retried = await run(ActionSubmitStory(), form_tracker(filled()), story_domain)

    [story] = rows(Story)
    reference = message(first, "utter_story_submitted")["reference"]
    assert message(retried, "utter_story_submitted")["reference"] == reference
    assert story.reference == reference

    # The same usager telling a second story (a new form) gets a second reference.
    later = form_tracker(filled(), started_at=FORM_STARTED_AT + 600)
    _, second = await run(ActionSubmitStory(), later, story_domain)
    assert len(rows(Story)) == 2
    assert message(second, "utter_story_submitted")["reference"] != reference


async def test_database_down_queues_the_scrubbed_story_and_still_gives_a_reference(
    store, classifier, story_domain, monkeypatch
):
    # Nothing listens on port 9: every connection is refused, like a database outage.
    monkeypatch.setenv("FEEDBACK_DB_URL", "postgresql+psycopg2://story@127.0.0.1:9/feedback")
    outbox = store / "story_outbox.jsonl"
    feedback_db.reset(outbox_path=outbox)

    events, dispatcher = await run(ActionSubmitStory(), form_tracker(filled()), story_domain)

    reference = message(dispatcher, "utter_story_submitted")["reference"]
    assert re.fullmatch(r"EXP-2026-9\d{9}", reference)
    assert "utter_story_ask_topic" not in responses(dispatcher)  # nothing to correct yet
    assert "utter_story_summary_irritant" in responses(dispatcher)
    [line] = outbox.read_text(encoding="utf-8").splitlines()
    queued = json.loads(line)
    for value in PII.values():
        assert value not in line
    assert queued["story"]["text"] == classifier.texts[0]
    assert queued["story"]["reference"] == reference
    assert queued["classification"]["irritants"] == {"delai_traitement": 0.9}
    assert slot_events(events)["story_topic_asked"] is False

    # The database is back: the next successful submission flushes the outbox, and the queued
    # story is stored under the reference the usager was given.
    monkeypatch.setenv("FEEDBACK_DB_URL", f"sqlite:///{store / 'feedback.db'}")
    feedback_db.reset(outbox_path=outbox)
    other = form_tracker(filled(), sender_id="usager-2")
    await run(ActionSubmitStory(), other, story_domain)
    stored = {story.reference: story for story in rows(Story)}
    assert len(stored) == 2 and reference in stored
    assert stored[reference].text_anonymised == queued["story"]["text"]
    assert not outbox.exists()


async def test_a_story_made_only_of_personal_data_is_not_kept(store, classifier, story_domain):
    tracker = form_tracker(filled(story_text=f"{PII['name']} {PII['phone']} {PII['email']}"))
    _, dispatcher = await run(ActionSubmitStory(), tracker, story_domain)

    assert responses(dispatcher) == ["utter_story_personal_data_only"]
    assert classifier.texts == []


async def test_a_positive_story_is_summarised_by_its_engagement(
    store, story_domain, nlg, monkeypatch
):
    praise = Classification({}, {"E5": 0.8, "E3": 0.6}, frozenset(), "praise-1", {}, {})
    monkeypatch.setattr(story_actions, "get_story_classifier", lambda: FixedClassifier(praise))
    tracker = form_tracker(
        filled(
            story_ressenti="positif",
            story_text="L'agente m'a tout expliqué clairement.",
            story_suggestion=SKIPPED,
        )
    )
    events, dispatcher = await run(ActionSubmitStory(), tracker, story_domain)

    assert responses(dispatcher) == ["utter_story_submitted", "utter_story_summary_engagement"]
    text = render(nlg, message(dispatcher, "utter_story_summary_engagement"))["text"]
    assert "engagement 5" in text and taxonomy.ENGAGEMENTS["E5"].label in text
    assert slot_events(events)["story_topic_asked"] is False


# --- correction ---------------------------------------------------------------------------------


async def submitted_story(story_domain) -> str:
    events, _ = await run(ActionSubmitStory(), form_tracker(filled()), story_domain)
    return slot_events(events)["story_reference"]


def correction_tracker(reference: str | None, *, intent="correct_topic", topic=None) -> Tracker:
    return form_tracker(
        {"story_reference": reference, "story_irritants": ["delai_traitement"]},
        text="/correct_topic" if topic else "oui",
        intent=intent,
        entities={"story_topic": topic} if topic else None,
        active=False,
    )


def active_irritants() -> dict[tuple[str, str], bool]:
    return {
        (label.code, label.source): label.active
        for label in rows(StoryLabel)
        if label.space == "irritant"
    }


async def test_the_usager_corrects_the_topic(store, classifier, story_domain, nlg):
    reference = await submitted_story(story_domain)
    tracker = correction_tracker(reference, topic="suivi_dossier")
    events, dispatcher = await run(ActionCorrectTopic(), tracker, story_domain)

    assert active_irritants() == {
        ("delai_traitement", "model"): False,
        ("suivi_dossier", "usager"): True,
    }
    text = render(nlg, message(dispatcher, "utter_story_topic_saved"))["text"]
    assert "absence de suivi du dossier" in text
    assert SlotSet("story_topic_asked", False) in events


async def test_a_typed_yes_confirms_the_detected_topic(store, classifier, story_domain):
    reference = await submitted_story(story_domain)
    tracker = correction_tracker(reference, intent="affirm")
    _, dispatcher = await run(ActionCorrectTopic(), tracker, story_domain)

    assert responses(dispatcher) == ["utter_story_topic_confirmed"]
    assert active_irritants() == {
        ("delai_traitement", "model"): False,
        ("delai_traitement", "usager"): True,
    }


async def test_other_topic_lists_every_irritant_then_none_is_stored(
    store, classifier, story_domain, nlg
):
    reference = await submitted_story(story_domain)
    _, dispatcher = await run(
        ActionCorrectTopic(), correction_tracker(reference, topic="other"), story_domain
    )
    listing = render(nlg, message(dispatcher, "utter_story_ask_topic_all"))
    titles = [button["title"] for button in listing["buttons"]]
    assert titles[:-1] == [irritant.label for irritant in taxonomy.IRRITANTS.values()]
    assert active_irritants() == {("delai_traitement", "model"): True}

    _, dispatcher = await run(
        ActionCorrectTopic(), correction_tracker(reference, topic="none"), story_domain
    )
    assert responses(dispatcher) == ["utter_story_topic_none_saved"]
    assert active_irritants() == {("delai_traitement", "model"): False}


async def test_correction_without_a_story_or_database(store, classifier, story_domain):
    _, dispatcher = await run(
        ActionCorrectTopic(), correction_tracker(None, topic="attente"), story_domain
    )
    assert responses(dispatcher) == ["utter_story_no_recent"]

    # A reference whose story is still in the outbox (or any unknown one) is not relabelled.
    tracker = correction_tracker("EXP-2026-9000000001", topic="attente")
    _, dispatcher = await run(ActionCorrectTopic(), tracker, story_domain)
    assert responses(dispatcher) == ["utter_story_topic_not_saved"]


# --- form validation ----------------------------------------------------------------------------


async def validate(
    tracker: Tracker, domain
) -> tuple[dict[str, Any], list[str], CollectingDispatcher]:
    events, dispatcher = await run(ValidateStoryForm(), tracker, domain)
    return slot_events(events), responses(dispatcher), dispatcher


def answer(slot: str, value: Any = None, **kwargs: Any) -> Tracker:
    """The form turn after the usager answered ``slot`` (``value``: the mapped candidate)."""
    tracker = form_tracker(requested_slot=slot, **kwargs)
    if value is not None:
        tracker.slots[slot] = value
        tracker.events.append({"event": "slot", "name": slot, "value": value})
    return tracker


async def test_the_slots_emptied_before_the_form_starts_are_validated_silently(story_domain):
    # At activation Rasa validates the SlotSet(None) events of action_story_reset.
    tracker = form_tracker(text="je veux témoigner", intent="tell_experience", active=False)
    for slot in FORM_SLOTS:
        tracker.events.append({"event": "slot", "name": slot, "value": None})
    slots, said, _ = await validate(tracker, story_domain)
    assert said == []
    assert slots == dict.fromkeys(FORM_SLOTS)


async def test_a_too_short_story_is_asked_again_then_a_real_one_is_taken(story_domain):
    slots, said, _ = await validate(answer("story_text", text="trop long"), story_domain)
    assert slots == {"story_text": None}
    assert said == ["utter_story_text_too_short"]

    text = "Le site des impôts plante à chaque fois que je valide ma déclaration."
    slots, said, _ = await validate(answer("story_text", text=text), story_domain)
    assert slots["story_text"] == text
    assert said == []


async def test_a_too_long_story_gets_a_clear_message(story_domain):
    slots, said, _ = await validate(answer("story_text", text="a" * 5001), story_domain)
    assert slots == {"story_text": None}
    assert said == ["utter_story_text_too_long"]


async def test_short_interruptions_are_left_to_the_rules_but_long_stories_are_kept(story_domain):
    slots, said, _ = await validate(answer("story_text", text="stop", intent="stop"), story_domain)
    assert (slots, said) == ({}, [])

    story = "Je voulais parler à quelqu'un à la CAF mais personne ne décroche jamais au 3230."
    slots, said, _ = await validate(
        answer("story_text", text=story, intent="ask_human"), story_domain
    )
    assert slots["story_text"] == story


async def test_the_service_is_resolved_to_an_organisme_or_kept_as_typed(story_domain, nlg):
    slots, _, dispatcher = await validate(
        answer("story_service", "la caf de Gap", text="la caf de Gap"), story_domain
    )
    assert slots == {"story_service": "la caf de Gap", "story_structure_code": "caf"}
    text = render(nlg, message(dispatcher, "utter_story_service_resolved"))["text"]
    assert "Caisse d'allocations familiales" in text

    typed = "le centre social du quartier"
    slots, said, _ = await validate(answer("story_service", typed, text=typed), story_domain)
    assert slots == {"story_service": typed, "story_structure_code": None}
    assert said == []

    slots, _, _ = await validate(
        answer("story_service", "je ne sais plus", text="je ne sais plus", intent="skip"),
        story_domain,
    )
    assert slots == {"story_service": SKIPPED, "story_structure_code": None}

    unsure = "je sais plus, la caf peut-être"
    slots, _, _ = await validate(
        answer("story_service", unsure, text=unsure, intent="skip"), story_domain
    )
    assert slots == {"story_service": unsure, "story_structure_code": "caf"}


async def test_the_place_is_a_commune_a_postal_code_or_skipped(story_domain):
    slots, said, _ = await validate(answer("story_place", "05000", text="05000"), story_domain)
    assert slots["story_postal_code"] == "05000"
    assert said == ["utter_story_place_resolved"]

    slots, said, _ = await validate(
        answer("story_place", "/skip", text="/skip", intent="skip"), story_domain
    )
    assert slots == {"story_place": SKIPPED, "story_postal_code": None}

    slots, said, _ = await validate(
        answer("story_place", "Zzyxqville", text="Zzyxqville"), story_domain
    )
    assert slots == {"story_place": None}
    assert said == ["utter_story_place_not_found"]


@pytest.mark.parametrize(
    ("slot", "typed", "expected"),
    [
        ("story_canal", "par téléphone", "telephone"),
        ("story_canal", "sur leur site internet", "en_ligne"),
        ("story_canal", "dans une france services", "france_services"),
        ("story_ressenti", "plutôt mauvaise", "negatif"),
        ("story_ressenti", "ni bien ni mal", "neutre"),
        ("story_consent", "oui j'accepte", "yes"),
        ("story_consent", "je ne suis pas d'accord", "no"),
    ],
)
async def test_typed_answers_become_codes(slot, typed, expected, story_domain):
    slots, said, _ = await validate(answer(slot, typed, text=typed), story_domain)
    assert slots == {slot: expected}
    assert said == []


async def test_buttons_and_unclear_answers(story_domain):
    slots, said, _ = await validate(
        answer("story_canal", "guichet", text='/inform_canal{"story_canal":"guichet"}'),
        story_domain,
    )
    assert (slots, said) == ({"story_canal": "guichet"}, [])

    slots, said, _ = await validate(answer("story_ressenti", "xqzt", text="xqzt"), story_domain)
    assert (slots, said) == ({"story_ressenti": None}, ["utter_story_choose_button"])

    slots, said, _ = await validate(
        answer("story_consent", "peut-être", text="peut-être"), story_domain
    )
    assert (slots, said) == ({"story_consent": None}, ["utter_story_consent_explain"])


async def test_the_suggestion_is_optional(story_domain):
    slots, _, _ = await validate(
        answer("story_suggestion", text="/skip", intent="skip"), story_domain
    )
    assert slots == {"story_suggestion": SKIPPED}
    slots, _, _ = await validate(
        answer("story_suggestion", text="non merci", intent="deny"), story_domain
    )
    assert slots == {"story_suggestion": SKIPPED}
    idea = "Un rappel par SMS quand il manque une pièce."
    slots, _, _ = await validate(answer("story_suggestion", text=idea), story_domain)
    assert slots == {"story_suggestion": idea}
    # A real answer is kept even when the NLU hears "non" (deny) in it.
    idea = "Non, mais il faudrait répondre au téléphone le matin."
    slots, _, _ = await validate(answer("story_suggestion", text=idea, intent="deny"), story_domain)
    assert slots == {"story_suggestion": idea}


async def test_reset_empties_every_story_slot(story_domain):
    events, dispatcher = await run(ActionStoryReset(), form_tracker(filled()), story_domain)
    slots = slot_events(events)
    assert set(FORM_SLOTS) <= set(slots) and "story_reference" in slots
    assert all(value is None for value in slots.values())
    assert dispatcher.messages == []
