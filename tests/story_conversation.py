"""A full experience story told through the REST webhook, with planted personal data."""

from __future__ import annotations

import re

PLANTED = {
    "name": "Martine Durand",
    "email": "martine.durand@example.fr",
    "phone": "06 45 78 12 90",
    "iban": "FR76 3000 4000 0312 3456 7890 143",
    "address": "14 rue des Acacias",
}
STORY = (
    f"Je suis {PLANTED['name']}, j'habite au {PLANTED['address']} à Gap. Depuis trois mois "
    f"j'appelle la CAF tous les jours, personne ne décroche et ma demande d'aide au logement "
    f"n'est toujours pas traitée. Mon mail : {PLANTED['email']}, mon portable {PLANTED['phone']}."
)
SUGGESTION = f"Rappelez-moi au {PLANTED['phone']} ou virez sur {PLANTED['iban']}, merci."
REFERENCE_RE = re.compile(r"EXP-\d{4}-\d{6,10}")


def tell_story(usager) -> tuple[str, list[dict]]:
    """Tell the story through the whole form; return the reference and the last reply."""
    usager.say("/tell_experience")
    usager.say("la CAF des Hautes-Alpes")
    usager.say("/skip")
    usager.say('/inform_canal{"story_canal":"telephone"}')
    usager.say('/inform_ressenti{"story_ressenti":"negatif"}')
    usager.say(STORY)
    usager.say(SUGGESTION)
    reply = usager.say("/give_consent")
    text = usager.texts(reply)
    match = REFERENCE_RE.search(text)
    assert match, text
    return match.group(0), reply


def planted_values_in(stored: str) -> list[str]:
    """Planted values (as typed, or without spaces) still present in ``stored``."""
    return [
        value
        for value in PLANTED.values()
        if value in stored or value.replace(" ", "") in stored.replace(" ", "")
    ]
