"""Tests of the French personal-data scrubber (feedback_store.scrubbing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback_store.scrubbing import Kind, Replacement, Scrubber, get_scrubber, scrub, scrub_value
from feedback_store.scrubbing.checksums import (
    fiscal_number_is_valid,
    iban_is_valid,
    luhn_is_valid,
    nir_is_valid,
    nir_key,
)
from feedback_store.scrubbing.evaluation import evaluate, load_labelled
from feedback_store.scrubbing.scrubber import DEFAULT_CHUNK_CHARS, merge_spans

DATA = Path(__file__).resolve().parents[2] / "data" / "pii_sentences.yml"


@pytest.fixture(scope="session")
def scrubber() -> Scrubber:
    """Rules + spaCy NER, loaded once per test session."""
    return get_scrubber()


@pytest.fixture(scope="session")
def rules_only() -> Scrubber:
    return Scrubber()


@pytest.fixture(scope="session")
def labelled():
    return load_labelled(DATA)


@pytest.fixture(scope="session")
def evaluation(scrubber, labelled):
    return evaluate(scrubber, labelled)


def _luhn_complete(body: str) -> str:
    for digit in "0123456789":
        if luhn_is_valid(body + digit):
            return body + digit
    raise AssertionError("no Luhn digit found")


# --- checksums -----------------------------------------------------------------------------------


def test_luhn_accepts_valid_cards_and_rejects_a_changed_digit():
    card = _luhn_complete("497010123456789")
    assert luhn_is_valid(card)
    assert luhn_is_valid(f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}")
    assert luhn_is_valid("378282246310005")  # Amex test number
    broken = card[:-2] + str((int(card[-2]) + 1) % 10) + card[-1]
    assert not luhn_is_valid(broken)
    assert not luhn_is_valid("4970")  # too short
    assert not luhn_is_valid("abcd efgh ijkl mnop")


@pytest.mark.parametrize(
    "iban",
    [
        "FR76 3000 6000 0112 3456 7890 189",
        "FR7630006000011234567890189",
        "GB82 WEST 1234 5698 7654 32",
        "DE89 3704 0044 0532 0130 00",
        "BE68 5390 0754 7034",
    ],
)
def test_iban_mod97_accepts_published_examples(iban):
    assert iban_is_valid(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "FR76 3000 6000 0112 3456 7890 188",  # last digit changed
        "FR76 3000 6000 0112 3456 7890 18",  # wrong length for FR
        "DE89 3704 0044 0532 0130 01",
        "XX00",
        "",
    ],
)
def test_iban_mod97_rejects_altered_numbers(iban):
    assert not iban_is_valid(iban)


def test_nir_key_is_97_minus_number_mod_97():
    body = "1850578006084"
    assert nir_key(body) == 97 - int(body) % 97
    assert nir_key("1 85 05 78 006 084") == nir_key(body)
    assert nir_is_valid(f"{body}{nir_key(body):02d}")
    wrong = (nir_key(body) % 96) + 1
    assert not nir_is_valid(f"{body}{wrong:02d}")


def test_nir_key_handles_corsica():
    corse_du_sud = "2900 52A004123".replace(" ", "")
    assert nir_key(corse_du_sud) == 97 - int(corse_du_sud.replace("2A", "19")) % 97
    haute_corse = "1750 12B123456".replace(" ", "")
    assert nir_key(haute_corse) == 97 - int(haute_corse.replace("2B", "18")) % 97
    assert nir_is_valid(f"{corse_du_sud}{nir_key(corse_du_sud):02d}")
    assert nir_key("29005 2C 004123") is None
    assert not nir_is_valid("5850578006084" + "12")  # 5 is not a sex digit


def test_fiscal_number_check_is_first_ten_digits_mod_511():
    base = "3012345678"
    valid = f"{base}{int(base) % 511:03d}"
    assert fiscal_number_is_valid(valid)
    assert fiscal_number_is_valid(
        f"{valid[:2]} {valid[2:4]} {valid[4:7]} {valid[7:10]} {valid[10:]}"
    )
    assert not fiscal_number_is_valid(valid[:-1] + str((int(valid[-1]) + 1) % 10))
    assert not fiscal_number_is_valid("5" + valid[1:])  # must start with 0-3


# --- each kind, several formats ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("Écrivez-moi à jean.dupont@gmail.com svp", "jean.dupont@gmail.com", Kind.EMAIL),
        ("Mail : NADIA_B75@HOTMAIL.FR merci", "NADIA_B75@HOTMAIL.FR", Kind.EMAIL),
        ("mon mail jean point dupont arobase gmail point com", "dupont arobase gmail", Kind.EMAIL),
        ("contact : lucas.petit (at) yahoo.fr", "lucas.petit (at) yahoo.fr", Kind.EMAIL),
        ("Appelez le 06 12 34 56 78 svp", "06 12 34 56 78", Kind.TELEPHONE),
        ("Appelez le 06.12.34.56.78 svp", "06.12.34.56.78", Kind.TELEPHONE),
        ("Appelez le 0612345678 svp", "0612345678", Kind.TELEPHONE),
        ("Appelez le 01-23-45-67-89 svp", "01-23-45-67-89", Kind.TELEPHONE),
        ("Appelez le +33 6 12 34 56 78 svp", "6 12 34 56 78", Kind.TELEPHONE),
        ("Appelez le +33 (0)6 12 34 56 78 svp", "(0)6 12 34 56 78", Kind.TELEPHONE),
        ("Appelez le 0033 6 12 34 56 78 svp", "0033 6 12", Kind.TELEPHONE),
        ("À la Réunion : +262 692 12 34 56", "692 12 34 56", Kind.TELEPHONE),
        ("En Guadeloupe : +590 690 45 67 89", "690 45 67 89", Kind.TELEPHONE),
        ("Réunion : 0692 12 34 56", "0692 12 34 56", Kind.TELEPHONE),
        ("Mon numéro de sécu 1 85 05 78 006 084 36 est faux", "006 084 36", Kind.NIR),
        ("Numéro fiscal 1234567890123 sur l'avis", "1234567890123", Kind.NUMERO_FISCAL),
        ("Mon numéro allocataire est 2345671", "2345671", Kind.NUMERO_ALLOCATAIRE),
        ("n° CAF : 123 4567, merci", "123 4567", Kind.NUMERO_ALLOCATAIRE),
        ("Passeport 19AB12345 perdu", "19AB12345", Kind.NUMERO_PIECE_IDENTITE),
        ("ma carte d'identité X4RTBPFW4 est abîmée", "X4RTBPFW4", Kind.NUMERO_PIECE_IDENTITE),
        ("carte d'identité n° 880692310285 volée", "880692310285", Kind.NUMERO_PIECE_IDENTITE),
        ("Mon identifiant France Travail est 1234567A", "1234567A", Kind.IDENTIFIANT),
        ("numéro de contrat 202400123456 inconnu", "202400123456", Kind.IDENTIFIANT),
        ("J'habite 12 rue des Lilas depuis 2019", "12 rue des Lilas", Kind.ADRESSE),
        ("J'habite 3 bis avenue Jean Jaurès à Embrun", "3 bis avenue Jean Jaurès", Kind.ADRESSE),
        (
            "Adresse : 8 impasse des Mésanges, 05000 Gap.",
            "impasse des Mésanges, 05000 Gap",
            Kind.ADRESSE,
        ),
        (
            "Je vis lieu-dit Les Granges, 05200 Baratier",
            "lieu-dit Les Granges, 05200",
            Kind.ADRESSE,
        ),
        ("Écrivez à BP 123, 05003 Gap Cedex", "BP 123, 05003 Gap Cedex", Kind.ADRESSE),
        (
            "au 12 chemin de la Combe, 05100 Briançon",
            "chemin de la Combe, 05100 Briançon",
            Kind.ADRESSE,
        ),
        ("j'habite au 12 rue des lilas depuis 2019", "rue des lilas", Kind.ADRESSE),
        ("Nous habitons 45 bd Gambetta, 05000 Gap", "45 bd Gambetta, 05000 Gap", Kind.ADRESSE),
    ],
)
def test_rules_replace_each_kind(rules_only, text, value, kind):
    result = rules_only.scrub(text)
    assert value not in result.text
    assert kind.placeholder in result.text
    assert {replacement.kind for replacement in result.replacements} == {kind}


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("Remboursez sur FR76 3000 6000 0112 3456 7890 189 svp", "3456 7890 189", Kind.IBAN),
        ("IBAN FR7630006000011234567890189.", "FR7630006000011234567890189", Kind.IBAN),
        ("Compte allemand DE89 3704 0044 0532 0130 00", "0532 0130 00", Kind.IBAN),
        ("Compte anglais GB82 WEST 1234 5698 7654 32 merci", "WEST 1234", Kind.IBAN),
    ],
)
def test_ibans_of_several_countries(rules_only, text, value, kind):
    result = rules_only.scrub(text)
    assert value not in result.text
    assert result.text.count(kind.placeholder) == 1


def test_cards_are_replaced_when_luhn_passes_or_after_a_card_word(rules_only):
    card = _luhn_complete("497010123456789")
    spaced = f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}"
    for written in (card, spaced, spaced.replace(" ", "-")):
        result = rules_only.scrub(f"Débité deux fois sur {written} hier.")
        assert result.text == "Débité deux fois sur [CARTE_BANCAIRE] hier."
    wrong = card[:-1] + str((int(card[-1]) + 1) % 10)
    in_context = rules_only.scrub(
        f"Ma carte bancaire {wrong[:4]} {wrong[4:8]} {wrong[8:12]} {wrong[12:]}"
    )
    assert in_context.text == "Ma carte bancaire [CARTE_BANCAIRE]"


def test_nir_with_valid_key_anywhere_and_bad_key_only_in_context(rules_only):
    body = "2900538123456"
    valid = f"{body}{nir_key(body):02d}"
    bad = f"{body}{(nir_key(body) % 96) + 1:02d}"
    assert rules_only.scrub(f"Référence {valid}").text == "Référence [NIR]"
    assert rules_only.scrub(f"mon numéro de sécu est {bad}").text == "mon numéro de sécu est [NIR]"
    corse = "1750 12B123456".replace(" ", "")
    spaced = f"{corse[0]} {corse[1:3]} {corse[3:5]} {corse[5:7]} {corse[7:10]} {corse[10:13]}"
    text = f"NIR {spaced} {nir_key(corse):02d} (né à Bastia)"
    assert rules_only.scrub(text).text == "NIR [NIR] (né à Bastia)"
    assert rules_only.scrub("carte vitale 2 90 05 38 123 456").text == "carte vitale [NIR]"


def test_allocataire_number_needs_its_context(rules_only):
    assert rules_only.scrub("allocataire n° 5566778").text == "allocataire n° [NUMERO_ALLOCATAIRE]"
    assert rules_only.scrub("J'ai fait 5566778 pas").text == "J'ai fait 5566778 pas"
    kept = "La CAF me doit 1 250 000 € depuis 2019"
    assert rules_only.scrub(kept).text == kept


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Bonjour, je m'appelle Nathalie Girard et j'ai un souci.", "Nathalie Girard"),
        ("L'agent, Mme Lefèvre, m'a expliqué la démarche.", "Lefèvre"),
        ("Le guichetier, Monsieur DURAND, a refusé mon dossier.", "DURAND"),
        ("Merci pour tout.\nCordialement,\nJosiane Blanchard", "Josiane Blanchard"),
        ("Je n'ai rien reçu. Cordialement, Fatima Zahra El Idrissi", "Zahra El Idrissi"),
        ("je m'appelle karim benali et personne ne répond", "karim benali"),
        ("mon nom c'est dupuis, j'attends ma carte", "dupuis"),
        ("Mon fils Lucas n'est pas rattaché à ma carte vitale.", "Lucas"),
        ("La conseillère Sandrine m'a très bien reçue.", "Sandrine"),
        ("Merci à la France services de Laragne, Julie a tout rempli.", "Julie"),
        ("Mme O'Brien et M. N'Diaye m'ont reçu.", "Brien"),
        ("Monsieur Le Gall de la CARSAT a été compétent.", "Le Gall"),
        ("slt c kevin jai un souci avec ameli", "kevin"),
    ],
)
def test_names_are_replaced(scrubber, text, name):
    result = scrubber.scrub(text)
    assert name not in result.text
    assert "[NOM]" in result.text


def test_a_detected_name_is_replaced_everywhere(scrubber):
    text = "Mme Martin m'a reçue. Ensuite Martin a perdu mon dossier."
    assert scrubber.scrub(text).text == "Mme [NOM] m'a reçue. Ensuite [NOM] a perdu mon dossier."


def test_rules_only_scrubber_still_finds_rule_based_names(rules_only):
    assert rules_only.uses_ner is False
    assert rules_only.scrub("M. Garnier m'a crié dessus").text == "M. [NOM] m'a crié dessus"


# --- look-alikes are kept ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "On me réclame 1 250 € et 350 euros, soit 1 234 567 centimes.",
        "Dossier déposé le 12/03/2024, relance le 3 mars, réponse le 2024-05-12.",
        "Je suis à Gap 05000, le code postal 05100 n'est pas reconnu.",
        "L'article L123-1 du CRPA et l'art. 1240 du code civil, décret n° 2023-1234.",
        "Rendez-vous à 14h30, puis à 9h, accueil de 8h30-12h.",
        "Dossier n° 2024-123 et référence DEM-2024-000123 toujours en cours.",
        "Une hausse de 4,6 % et 12 % de retenue.",
        "La CAF, la CPAM, France Travail, Pôle emploi, l'URSSAF et la MSA ne répondent pas.",
        "Madame la directrice, Monsieur le Maire, Madame, Monsieur,",
        "La mairie de Saint-Denis et la sous-préfecture de Briançon sont fermées.",
        "J'habite à Gap, je suis née à Bastia et j'ai grandi à Marseille.",
        "Le 3949, le 3646 et le 0 809 401 401 sont toujours occupés.",
        "Nous avons attendu dans la rue devant la CAF, au cours de l'entretien.",
        "La route de Gap était fermée, il n'y avait pas de place.",
        "Acheter un timbre fiscal sur le site de l'ANTS.",
        "",
    ],
)
def test_look_alikes_are_kept(scrubber, text):
    result = scrubber.scrub(text)
    assert result.text == text
    assert result.replacements == []


# --- result, idempotence, robustness -------------------------------------------------------------


def test_result_holds_kinds_and_offsets_but_no_values(scrubber):
    text = "Je m'appelle Jean Dupont, tél. 06 12 34 56 78, mail jean.dupont@gmail.com."
    result = scrubber.scrub(text)
    assert result.text == "Je m'appelle [NOM], tél. [TELEPHONE], mail [EMAIL]."
    assert [r.kind for r in result.replacements] == [Kind.NOM, Kind.TELEPHONE, Kind.EMAIL]
    assert [text[r.start : r.end] for r in result.replacements] == [
        "Jean Dupont",
        "06 12 34 56 78",
        "jean.dupont@gmail.com",
    ]
    assert result.counts() == {"NOM": 1, "TELEPHONE": 1, "EMAIL": 1}
    for value in ("Dupont", "06 12", "gmail"):
        assert value not in repr(result)


def test_scrubbing_is_idempotent_on_the_labelled_set(scrubber, evaluation):
    assert len(evaluation.outputs) == evaluation.sentences
    for sentence_id, once in evaluation.outputs.items():
        twice = scrubber.scrub(once)
        assert twice.text == once, sentence_id
        assert twice.replacements == [], sentence_id


def test_scrubbing_is_deterministic(labelled):
    first, second = Scrubber.load(), Scrubber.load()
    for sentence in labelled[:20]:
        assert first.scrub(sentence.text) == second.scrub(sentence.text)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t", "\x00\x01", "\ud800\udfff lone surrogates", "🙂🙃 emoji ＠ full-width ０６"],
)
def test_odd_inputs_do_not_raise(scrubber, text):
    result = scrubber.scrub(text)
    assert isinstance(result.text, str)


def test_exotic_spaces_and_full_width_digits_are_handled(scrubber):
    text = "Tél\u00a0: 06\u202f12\u202f34\u202f56\u202f78 ou ０６ １２ ３４ ５６ ７８"
    assert scrubber.scrub(text).text == "Tél\u00a0: [TELEPHONE] ou [TELEPHONE]"


def test_huge_text_is_scrubbed_across_chunks(scrubber):
    filler = "Le dossier est toujours en cours d'instruction à la CAF de Gap. " * 600
    text = filler + "Cordialement, Nathalie Girard, 06 12 34 56 78"
    assert len(text) > 5 * DEFAULT_CHUNK_CHARS
    result = scrubber.scrub(text)
    assert result.text == filler + "Cordialement, [NOM], [TELEPHONE]"


def test_adversarial_repetitions_stay_fast(rules_only):
    for text in ("a." * 20_000 + "@", "1 " * 20_000, "jean point " * 5_000 + "arobase"):
        assert rules_only.scrub(text).text == text


def test_non_string_input_is_rejected(scrubber):
    with pytest.raises(TypeError):
        scrubber.scrub(None)  # type: ignore[arg-type]


def test_scrub_value_walks_nested_structures():
    event = {
        "event": "user",
        "text": "Je m'appelle Jean Dupont",
        "timestamp": 1712345678.5,
        "parse_data": {
            "entities": [{"entity": "phone", "value": "06 12 34 56 78", "start": 3}],
            "intent": {"name": "raconter", "confidence": 0.9},
        },
        "tags": ("mail jean@free.fr", None, True),
    }
    scrubbed = scrub_value(event)
    assert scrubbed == {
        "event": "user",
        "text": "Je m'appelle [NOM]",
        "timestamp": 1712345678.5,
        "parse_data": {
            "entities": [{"entity": "phone", "value": "[TELEPHONE]", "start": 3}],
            "intent": {"name": "raconter", "confidence": 0.9},
        },
        "tags": ("mail [EMAIL]", None, True),
    }
    assert event["text"] == "Je m'appelle Jean Dupont"  # the input is not modified


def test_module_level_scrub_uses_the_shared_scrubber():
    assert scrub("M. Garnier au 06 12 34 56 78").text == "M. [NOM] au [TELEPHONE]"


def test_merge_spans_keeps_highest_priority_kind_and_union():
    spans = [
        Replacement(Kind.NOM, 10, 20),
        Replacement(Kind.ADRESSE, 5, 15),
        Replacement(Kind.TELEPHONE, 30, 40),
        Replacement(Kind.IDENTIFIANT, 30, 44),
    ]
    assert merge_spans(spans) == [
        Replacement(Kind.ADRESSE, 5, 20),
        Replacement(Kind.TELEPHONE, 30, 44),
    ]


# --- labelled set and regression guard -----------------------------------------------------------


def test_labelled_set_is_large_and_covers_every_kind(labelled):
    assert len(labelled) >= 200
    planted = {kind for sentence in labelled for kind, _ in sentence.pii}
    assert planted == set(Kind)
    assert sum(len(sentence.keep) for sentence in labelled) >= 200
    assert {sentence.split for sentence in labelled} == {"dev", "heldout", "challenge"}


def test_regression_recall_and_precision_on_labelled_set(evaluation):
    assert evaluation.overall.recall >= 0.98, evaluation.missed
    assert evaluation.overall.precision >= 0.95, evaluation.false_positives
    assert len(evaluation.lookalikes_removed) <= 0.02 * evaluation.lookalikes


def test_regression_per_split(evaluation):
    assert set(evaluation.per_split) == {"dev", "heldout", "challenge"}
    for split, score in evaluation.per_split.items():
        assert score.recall >= 0.95, split
        assert score.precision >= 0.95, split
    for split in ("dev", "heldout"):
        assert evaluation.per_split[split].recall >= 0.98, split
