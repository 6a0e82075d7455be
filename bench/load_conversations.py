"""Scripted French conversations played by ``bench.bench_load``, taken from the e2e tests.

Each script is what an usager really sends: the messages of ``tests/e2e/*.py`` and
``tests/story_conversation.py`` (typed text and button payloads). A turn may take its payload from
a button of the previous reply (the droit à l'erreur check answers each remaining question with its
first button, as its e2e test does). Every turn names fragments that one of the expected replies
contains, so the benchmark can tell a model that follows the script from one that wanders off
(counted apart from errors: the reply is still a valid answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.story_conversation import STORY, SUGGESTION

FIRST_INFORM = "*first /inform button*"
"""Button reference: the first button of the previous reply whose payload starts with /inform."""


@dataclass(frozen=True)
class Turn:
    """One message of a script.

    Attributes:
        say: Text or payload to send (unless ``button`` is set).
        button: Title of a button of the previous reply whose payload to send, or
            :data:`FIRST_INFORM`.
        expect: Fragments; the reply is on script when its text contains one of them
            (empty: anything goes).
        optional: When the button is missing, skip the turn instead of leaving the script.
    """

    say: str = ""
    button: str = ""
    expect: tuple[str, ...] = ()
    optional: bool = False


@dataclass(frozen=True)
class Script:
    """A whole conversation: its name, its turns, fragments one of which ends it."""

    name: str
    turns: tuple[Turn, ...]
    end: tuple[str, ...] = ()


def texts(messages: list[dict]) -> str:
    """Texts of a reply, one per line."""
    return "\n".join(m.get("text") or "" for m in messages if isinstance(m, dict))


def button_payload(messages: list[dict], title: str) -> str | None:
    """Payload of the button called ``title`` (or the first /inform one), if any."""
    for message in messages:
        for button in message.get("buttons") or []:
            payload = button.get("payload") or ""
            if title == FIRST_INFORM and payload.startswith("/inform"):
                return payload
            if button.get("title") == title:
                return payload
    return None


def on_script(turn: Turn, messages: list[dict]) -> bool:
    """Whether the reply contains one of the fragments the turn expects."""
    text = texts(messages)
    return not turn.expect or any(fragment in text for fragment in turn.expect)


# tests/e2e/test_welcome.py then test_orientation.py::test_menu_then_question_then_...: a démarche,
# then the France services near a postal code.
ORIENTATION = Script(
    "orientation",
    (
        Turn("Bonjour !", expect=("assistant automatique",)),
        Turn("/find_service", expect=("Quelle démarche",)),
        Turn(
            "g perdu mon permis de conduire",
            expect=("ANTS", "Agence nationale des titres sécurisés"),
        ),
        Turn("/find_france_services", expect=("Dans quelle commune",)),
        Turn("05000", expect=("France services les plus proches de",)),
    ),
)

# test_orientation.py: démarche and place in one sentence, follow-up commune, "Une autre commune".
FRANCE_SERVICES = Script(
    "france_services",
    (
        Turn(
            "je dois refaire ma carte d'identité, je suis à Briançon",
            expect=("France services les plus proches de Briançon",),
        ),
        Turn("la france services la plus proche de Gap", expect=("plus proches de Gap",)),
        Turn("et plus près de Embrun ?", expect=("plus proches de Embrun",)),
        Turn(button="Une autre commune", expect=("Dans quelle commune",)),
        Turn("Sisteron", expect=("plus proches de Sisteron",)),
    ),
)

# tests/e2e/test_droit_erreur.py: the explanation, then the check answered with buttons.
DROIT_ERREUR = Script(
    "droit_erreur",
    (
        Turn("c'est quoi le droit à l'erreur ?", expect=("bonne foi",)),
        Turn("/check_droit_erreur", expect=("Avec quelle administration",)),
        Turn('/inform{"de_administration":"caf"}'),
        Turn('/inform{"de_error_kind":"omission"}'),
        Turn('/inform{"de_first_time":"yes"}'),
        *(Turn(button=FIRST_INFORM, optional=True) for _ in range(6)),
    ),
    end=("s'applique",),
)

# tests/story_conversation.py::tell_story: the whole form, with planted personal data to scrub.
STORY_SCRIPT = Script(
    "story",
    (
        Turn("/tell_experience"),
        Turn("la CAF des Hautes-Alpes"),
        Turn("/skip"),
        Turn('/inform_canal{"story_canal":"telephone"}'),
        Turn('/inform_ressenti{"story_ressenti":"negatif"}'),
        Turn(STORY),
        Turn(SUGGESTION),
        Turn("/give_consent", expect=("EXP-",)),
    ),
)

SCRIPTS: tuple[Script, ...] = (ORIENTATION, FRANCE_SERVICES, DROIT_ERREUR, STORY_SCRIPT)
