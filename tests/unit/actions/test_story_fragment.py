"""The experience-story fragment agrees with the taxonomy, the actions and the project's NLU."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bot.actions.story import DERIVED_SLOTS, FORM_SLOTS, RESULT_SLOTS
from feedback_store import taxonomy

ROOT = Path(__file__).resolve().parents[3]
# Where the story flow lives now that its fragment is merged into the project.
MERGED = {
    "nlu.yml": ROOT / "bot" / "data" / "nlu" / "story.yml",
    "rules.yml": ROOT / "bot" / "data" / "rules" / "story.yml",
    "test_stories.yml": ROOT / "tests" / "bot" / "stories" / "test_story.yml",
}
PAYLOAD = re.compile(r"^/(?P<intent>\w+)(?P<entities>\{.*\})?$")
# Variables the actions pass with their responses (see bot/actions/story.py).
ACTION_VARIABLES = {
    "structure",
    "place",
    "reference",
    "topic",
    "engagement",
    "engagement_label",
    *(f"topic_{n}{suffix}" for n in (1, 2, 3) for suffix in ("", "_label")),
    *(f"label_{code}" for code in taxonomy.IRRITANTS),
}
NEW_INTENTS = ("inform_canal", "inform_ressenti", "skip", "give_consent", "refuse_consent")
NEW_INTENTS += ("correct_topic",)


def load(name: str) -> dict:
    return yaml.safe_load(MERGED[name].read_text(encoding="utf-8"))


def _is_story(name: str) -> bool:
    return name.startswith(("utter_story", "utter_ask_story", "story_", "action_story"))


@pytest.fixture(scope="module")
def domain() -> dict:
    """The story flow's part of the project domain."""
    full = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    part = dict(full)
    part["responses"] = {k: v for k, v in full["responses"].items() if _is_story(k)}
    part["slots"] = {k: v for k, v in full["slots"].items() if _is_story(k)}
    return part


@pytest.fixture(scope="module")
def project_domain(domain) -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def texts_and_buttons(domain: dict):
    for name, variations in domain["responses"].items():
        for variation in variations:
            yield name, variation.get("text", ""), variation.get("buttons", [])


def test_every_response_the_actions_send_exists(domain):
    code = (ROOT / "bot" / "actions" / "story.py").read_text(encoding="utf-8")
    sent = set(re.findall(r"[\"'](utter_[a-z0-9_]+)[\"']", code))
    assert len(sent) >= 20
    assert sent <= set(domain["responses"])


def test_form_order_and_slots(domain):
    assert domain["forms"]["story_form"]["required_slots"] == list(FORM_SLOTS)
    assert set(FORM_SLOTS) | set(DERIVED_SLOTS) | set(RESULT_SLOTS) == set(domain["slots"])
    assert domain["slots"]["story_canal"]["values"] == list(taxonomy.CANAUX)
    assert domain["slots"]["story_ressenti"]["values"] == list(taxonomy.RESSENTIS)
    for slot in FORM_SLOTS:
        assert f"utter_ask_{slot}" in domain["responses"], slot


def test_free_text_mappings_leave_interruptions_to_the_rules(domain):
    for name, slot in domain["slots"].items():
        for mapping in slot["mappings"]:
            if mapping["type"] == "from_text":
                assert {"stop", "restart", "help", "bot_challenge", "ask_human"} <= set(
                    mapping["not_intent"]
                ), name
                assert mapping["conditions"] == [
                    {"active_loop": "story_form", "requested_slot": name}
                ], name


def test_button_payloads_are_escaped_and_point_to_known_codes(domain, project_domain):
    intents = set(domain["intents"]) | set(project_domain["intents"])
    topics = set(taxonomy.IRRITANTS) | {"confirm", "other", "none"}
    checked = 0
    for name, _, buttons in texts_and_buttons(domain):
        for button in buttons:
            payload = button["payload"]
            if "{" in payload:
                # Rasa 3.6 fills {variables} in responses: literal braces must be doubled.
                assert "{{" in payload and "}}" in payload, (name, payload)
                payload = payload.replace("{{", "{").replace("}}", "}")
            match = PAYLOAD.match(re.sub(r"(?<!\{)\{(topic_\d)\}", "attente", payload))
            assert match, (name, payload)
            assert match["intent"] in intents, (name, payload)
            for entity, value in json.loads(match["entities"] or "{}").items():
                assert entity in domain["entities"], (name, entity)
                if entity == "story_topic":
                    assert value in topics, (name, value)
                else:
                    assert value in domain["slots"][entity]["values"], (name, value)
            checked += 1
    assert checked > 35


def test_every_choice_is_offered(domain):
    def offered(response: str) -> list[str]:
        values = []
        for button in domain["responses"][response][0]["buttons"]:
            payload = button["payload"].replace("{{", "{").replace("}}", "}")
            values.extend(json.loads(PAYLOAD.match(payload)["entities"] or "{}").values())
        return values

    assert offered("utter_ask_story_canal") == list(taxonomy.CANAUX)
    assert offered("utter_ask_story_ressenti") == list(taxonomy.RESSENTIS)
    assert offered("utter_story_ask_topic_all") == [*taxonomy.IRRITANTS, "none"]


def test_placeholders_are_only_the_variables_the_actions_pass(domain):
    for name, text, buttons in texts_and_buttons(domain):
        strings = [text] + [b["title"] for b in buttons] + [b["payload"] for b in buttons]
        for string in strings:
            placeholders = set(re.findall(r"(?<!\{)\{(\w+)\}(?!\})", string))
            assert placeholders <= ACTION_VARIABLES, (name, placeholders)


def test_texts_use_vouvoiement_and_accents(domain):
    informal = re.compile(r"\b(tu|toi|ton|ta|tes|t'es|ton)\b", re.IGNORECASE)
    missing_accent = re.compile(r"\b(recit|experience|donnees|reponse|creer|deja|a partir)\b")
    for name, text, buttons in texts_and_buttons(domain):
        assert text.strip(), name
        for string in [text] + [b["title"] for b in buttons]:
            assert not informal.search(string), name
            assert not missing_accent.search(string), name


def test_nlu_has_varied_examples_for_every_new_intent(domain):
    nlu = {item["intent"]: item["examples"] for item in load("nlu.yml")["nlu"]}
    assert set(NEW_INTENTS) <= set(nlu)
    assert set(NEW_INTENTS) <= set(domain["intents"])
    for intent in NEW_INTENTS:
        examples = [line[2:].strip() for line in nlu[intent].splitlines() if line.strip()]
        assert len(examples) >= 15, intent
        assert len(set(examples)) == len(examples), intent


def test_nlu_examples_do_not_collide_with_the_project(domain):
    labelled: dict[str, set[str]] = {}
    sources = list((ROOT / "bot" / "data" / "nlu").glob("*.yml"))
    for path in sources:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in item.get("examples", "").splitlines():
                if line.strip():
                    labelled.setdefault(line.strip()[2:].strip(), set()).add(item["intent"])
    clashes = {text: intents for text, intents in labelled.items() if len(intents) > 1}
    assert clashes == {}


def test_rules_and_test_stories_use_known_names(domain, project_domain):
    intents = set(domain["intents"]) | set(project_domain["intents"]) | {"nlu_fallback"}
    actions = (
        set(domain["actions"])
        | set(domain["responses"])
        | set(project_domain["responses"])
        | set(domain["forms"])
        | {"action_deactivate_loop", "action_restart", "action_listen"}
    )
    for name, key in (("rules.yml", "rules"), ("test_stories.yml", "stories")):
        for block in load(name)[key]:
            for step in block.get("condition", []) + block["steps"]:
                if "intent" in step:
                    assert step["intent"] in intents, (name, step)
                if "action" in step:
                    assert step["action"] in actions, (name, step)
                for slot in step.get("slot_was_set", []):
                    assert set(slot) <= set(domain["slots"]) | {"requested_slot"}, (name, slot)
