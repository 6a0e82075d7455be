from rasa.shared.nlu.training_data.message import Message

from bot.nlu_gibberish import GibberishFallback


def make(vocabulary):
    return GibberishFallback({"cutoff": 0.8}, None, None, set(vocabulary))


def classified(text):
    message = Message(data={"text": text})
    message.set("intent", {"name": "greet", "confidence": 0.99}, add_to_output=True)
    message.set("intent_ranking", [{"name": "greet", "confidence": 0.99}], add_to_output=True)
    return message


def test_unknown_words_become_nlu_fallback():
    component = make({"bonjour", "france", "services"})
    [message] = component.process([classified("xqzt vbnm plok")])
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    assert message.get("intent_ranking")[1]["name"] == "greet"


def test_known_or_misspelled_words_keep_the_intent():
    component = make({"bonjour", "france", "services"})
    for text in ("bonjour", "Bonjourr", "frnce servises", "/greet", "05100"):
        [message] = component.process([classified(text)])
        assert message.get("intent")["name"] == "greet", text
