import dataclasses
import re

import pytest

from feedback_store import taxonomy as t


def test_version_and_sizes():
    assert t.TAXONOMY_VERSION == "2026.1"
    assert list(t.ENGAGEMENTS) == [f"E{i}" for i in range(1, 9)]
    assert len(t.TAGS_GENERAUX) == 5
    assert len(t.IRRITANTS) == 16
    assert list(t.RESSENTIS.values()) == ["Positif", "Neutre", "Négatif"]
    assert t.CANAUX["email"] == "E-mail"
    assert t.CANAUX["telephone"] == "Téléphone"
    assert set(t.CANAUX) == {
        "guichet",
        "telephone",
        "courrier",
        "email",
        "en_ligne",
        "france_services",
        "autre",
    }


def test_engagement_wording_matches_published_text():
    assert t.ENGAGEMENTS["E2"].label == (
        "Vous pouvez facilement entrer en contact avec vos services publics"
    )
    assert t.ENGAGEMENTS["E8"].label.startswith("Avec vous, nous agissons")


@pytest.mark.parametrize("code", list(t.IRRITANTS))
def test_each_irritant_is_consistent(code):
    irritant = t.IRRITANTS[code]
    assert irritant.code == code
    assert re.fullmatch(r"[a-z_]+", code)
    assert irritant.tag in t.TAGS_GENERAUX
    assert irritant.engagements
    assert all(e in t.ENGAGEMENTS for e in irritant.engagements)
    assert irritant.label and irritant.description.endswith(".")


def test_irritant_table_rows():
    assert t.IRRITANTS["attente"].engagements == ("E2", "E4")
    assert t.IRRITANTS["demarche_complexe"].tag == "simplicite"
    assert t.IRRITANTS["demarche_complexe"].engagements == ("E5", "E3")
    assert t.IRRITANTS["avis_ignore"].engagements == ("E7",)
    assert t.IRRITANTS["locaux_signaletique"].engagements == ("E1", "E2")
    # Every tag général is reachable from at least one irritant.
    assert {i.tag for i in t.IRRITANTS.values()} == set(t.TAGS_GENERAUX)


def test_derive_tags_and_engagements():
    assert t.derive_tags([]) == set()
    assert t.derive_tags(["attente", "dossier_perdu"]) == {"reactivite"}
    assert t.derive_tags(["injoignable", "accueil_irrespectueux", "suivi_dossier"]) == {
        "accessibilite",
        "relation",
        "information",
    }
    assert t.engagements_for(["attente", "impact_environnemental"]) == {"E2", "E4", "E8"}
    assert t.engagements_for(("renvoi_de_service",)) == {"E2", "E3"}
    with pytest.raises(ValueError, match="Unknown irritant code 'queue'"):
        t.derive_tags(["queue"])
    with pytest.raises(ValueError, match="valid codes: injoignable"):
        t.engagements_for(["nope"])


def test_check_code():
    assert t.check_code("engagement", "E3") == "E3"
    assert t.check_code("canal", "france_services") == "france_services"
    assert t.check_codes("ressenti", ["negatif", "positif"]) == ["negatif", "positif"]
    with pytest.raises(ValueError, match="Unknown engagement code 'E9'"):
        t.check_code("engagement", "E9")
    with pytest.raises(ValueError, match="Unknown label space 'colour'"):
        t.check_code("colour", "red")
    with pytest.raises(ValueError):
        t.check_code("ressenti", "Positif")  # labels are not codes


def test_sorted_codes_follows_declaration_order():
    assert t.sorted_codes("engagement", ["E7", "E1", "E4"]) == ["E1", "E4", "E7"]
    assert t.sorted_codes("irritant", ["avis_ignore", "injoignable"]) == [
        "injoignable",
        "avis_ignore",
    ]


def test_legacy_mappings():
    assert set(t.MARIANNE_MAPPING) == set(t.ENGAGEMENTS)
    for rubriques in t.MARIANNE_MAPPING.values():
        assert set(rubriques) <= set(t.MARIANNE_RUBRIQUES)
    assert t.MARIANNE_MAPPING["E4"] == ("réponses",)
    assert t.MARIANNE_MAPPING["E7"] == ("écoute",)
    assert t.marianne_rubriques_for(["E1", "E5"]) == {
        "accueil",
        "information et orientation",
        "réponses",
    }
    for numbers in t.SP_PLUS_2021_MAPPING.values():
        assert set(numbers) <= set(t.SP_PLUS_2021_ENGAGEMENTS)
    assert t.SP_PLUS_2021_MAPPING["E1"] == (1,)


def test_export_columns():
    assert len(t.EXPORT_COLUMNS) == 13
    assert t.EXPORT_COLUMNS[0] == "id_experience"
    assert set(t.TAG_EXPORT_COLUMNS.values()) <= set(t.EXPORT_COLUMNS)
    assert t.TAG_EXPORT_COLUMNS["simplicite"] == "tags_generaux_simplicite_complexite"


def test_nothing_mutates():
    with pytest.raises(TypeError):
        t.IRRITANTS["new"] = t.IRRITANTS["attente"]  # type: ignore[index]
    with pytest.raises(TypeError):
        t.CANAUX["fax"] = "Fax"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.IRRITANTS["attente"].tag = "relation"  # type: ignore[misc]
