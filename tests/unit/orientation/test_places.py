"""Offline place resolution on the real La Poste communes file."""

from __future__ import annotations

import json

import pytest

from orientation.geo import haversine_km
from orientation.places import (
    Place,
    PlaceResolver,
    canonical_arrondissements,
    get_place_resolver,
    normalize,
    resolve_place,
    strip_filler,
)


@pytest.fixture(scope="module")
def resolver() -> PlaceResolver:
    return get_place_resolver()


def found(resolver: PlaceResolver, text: str) -> Place:
    result = resolver.resolve(text)
    assert result.status == "found", (text, result)
    assert result.place is not None
    return result.place


# --------------------------------------------------------------------------- text helpers


def test_normalize_folds_accents_case_punctuation_and_saint() -> None:
    assert normalize("St-Étienne") == "saint etienne"
    assert normalize("Ste  Marie!") == "sainte marie"
    assert normalize("L’Haÿ-les-Roses") == "l hay les roses"
    assert normalize("Œuilly") == "oeuilly"
    assert normalize("   ") == ""


def test_canonical_arrondissements_variants() -> None:
    for text in (
        "paris 15",
        "paris 15e",
        "paris 15eme",
        "paris 15eme arrondissement",
        "15e arrondissement de paris",
        "paris xv",
    ):
        assert canonical_arrondissements(text) == "paris 15", text
    assert canonical_arrondissements("paris 1er") == "paris 1"
    assert canonical_arrondissements("marseille 13eme") == "marseille 13"
    assert canonical_arrondissements("gap") == "gap"


def test_strip_filler_keeps_articles_of_names() -> None:
    assert strip_filler("pres de gap") == "gap"
    assert strip_filler("a cote de briancon") == "briancon"
    assert strip_filler("j habite a lyon 3") == "lyon 3"
    assert strip_filler("le puy en velay") == "le puy en velay"
    assert strip_filler("gap svp merci") == "gap"


# --------------------------------------------------------------------------- communes


@pytest.mark.parametrize("text", ["Briançon", "briancon", "BRIANCON", "à côté de Briançon"])
def test_briancon_spellings(resolver: PlaceResolver, text: str) -> None:
    place = found(resolver, text)
    assert place.name == "Briançon"
    assert place.insee_code == "05023"
    assert place.postal_code == "05100"
    assert place.departement_code == "05"
    assert place.departement_name == "Hautes-Alpes"
    assert haversine_km(place.lat, place.lon, 44.8986, 6.6388) < 3


def test_typo_brianson_resolves_to_briancon(resolver: PlaceResolver) -> None:
    result = resolver.resolve("Brianson")
    assert result.status == "found"
    assert result.match == "fuzzy"
    assert result.place is not None and result.place.insee_code == "05023"


@pytest.mark.parametrize(
    ("text", "insee"),
    [
        ("le puy en velay", "43157"),
        ("Puy-en-Velay", "43157"),
        ("près du Puy-en-Velay", "43157"),
        ("St Etienne", "42218"),
        ("saint-étienne", "42218"),
        ("près de Gap", "05061"),
        ("au Mans", "72181"),
        ("La France services la plus proche de Gap svp", "05061"),
        ("Morne à l'eau", "97116"),
    ],
)
def test_names_with_articles_saints_and_filler(
    resolver: PlaceResolver, text: str, insee: str
) -> None:
    assert found(resolver, text).insee_code == insee


def test_display_names_are_accented_and_articles_restored(resolver: PlaceResolver) -> None:
    assert found(resolver, "le puy en velay").name == "Le Puy-en-Velay"
    assert found(resolver, "st etienne").name == "Saint-Étienne"
    assert found(resolver, "Mamoudzou").departement_name == "Mayotte"


def test_former_commune_name_leads_to_current_commune(resolver: PlaceResolver) -> None:
    place = found(resolver, "Bellegarde-sur-Valserine")
    assert place.insee_code == "01033"
    assert normalize(place.name) == "valserhone"


@pytest.mark.parametrize(
    ("text", "insee"),
    [("saint etiene", "42218"), ("Marseile", "13055"), ("tulouse", "31555")],
)
def test_near_misses(resolver: PlaceResolver, text: str, insee: str) -> None:
    result = resolver.resolve(text)
    assert result.status == "found" and result.match == "fuzzy"
    assert result.place is not None and result.place.insee_code == insee


# --------------------------------------------------------------------------- arrondissements


@pytest.mark.parametrize(
    "text", ["75015", "Paris 15", "Paris 15e", "paris 15ème arrondissement", "Paris XV"]
)
def test_paris_15(resolver: PlaceResolver, text: str) -> None:
    place = found(resolver, text)
    assert place.insee_code == "75115"
    assert place.kind == "arrondissement"
    assert place.name == "Paris 15e Arrondissement"
    assert place.postal_code == "75015"


@pytest.mark.parametrize("text", ["Lyon 3e", "lyon 3eme", "j'habite à Lyon 3e", "69003"])
def test_lyon_3(resolver: PlaceResolver, text: str) -> None:
    place = found(resolver, text)
    assert place.insee_code == "69383"
    assert place.name == "Lyon 3e Arrondissement"
    assert place.departement_name == "Rhône"


def test_marseille_13_and_paris_1(resolver: PlaceResolver) -> None:
    assert found(resolver, "Marseille 13ème").insee_code == "13213"
    assert found(resolver, "13013").insee_code == "13213"
    assert found(resolver, "Paris 1er").name == "Paris 1er Arrondissement"


def test_whole_city_is_the_mean_of_its_arrondissements(resolver: PlaceResolver) -> None:
    paris = found(resolver, "Paris")
    assert paris.kind == "city" and paris.insee_code == "75056"
    assert len(paris.postal_codes) == 21  # 75001..75020 plus 75116
    assert haversine_km(paris.lat, paris.lon, 48.8566, 2.3522) < 3
    assert found(resolver, "Lyon").kind == "city"


def test_postal_code_and_city_name_pick_the_arrondissement(resolver: PlaceResolver) -> None:
    assert found(resolver, "75015 Paris").insee_code == "75115"


# --------------------------------------------------------------------------- postal codes


def test_postal_code_of_several_communes_gives_an_area(resolver: PlaceResolver) -> None:
    result = resolver.resolve("05100")
    assert result.status == "found" and result.match == "postal_code"
    area = result.place
    assert area is not None and area.kind == "postal_code"
    assert area.insee_code is None
    assert "Briançon" in area.communes and "Névache" in area.communes
    assert result.candidate_count == len(area.communes)
    assert area.departement_code == "05"
    # The centroid lies among the communes it averages.
    assert haversine_km(area.lat, area.lon, 44.8995, 6.6495) < 20


def test_four_digit_postal_code_is_padded(resolver: PlaceResolver) -> None:
    assert resolver.resolve("5100").place == resolver.resolve("05100").place


def test_unknown_postal_code(resolver: PlaceResolver) -> None:
    result = resolver.resolve("99999")
    assert result.status == "not_found" and result.match == "postal_code"


def test_by_postal_code_lists_communes(resolver: PlaceResolver) -> None:
    names = {p.name for p in resolver.by_postal_code("05100")}
    assert {"Briançon", "Cervières", "Montgenèvre"} <= names
    assert all(p.postal_code == "05100" for p in resolver.by_postal_code("05100"))


# --------------------------------------------------------------------------- overseas


def test_overseas_communes(resolver: PlaceResolver) -> None:
    cayenne = found(resolver, "Cayenne")
    assert cayenne.departement_code == "973" and cayenne.departement_name == "Guyane"
    # Town centre, not the La Poste centroid 22 km away.
    assert haversine_km(cayenne.lat, cayenne.lon, 4.9358, -52.3236) < 3
    assert found(resolver, "97300").insee_code == "97302"
    assert found(resolver, "Pointe-à-Pitre").departement_code == "971"
    assert found(resolver, "Fort de France").departement_code == "972"
    assert found(resolver, "Mamoudzou").departement_code == "976"


def test_saint_denis_disambiguated_by_postal_code(resolver: PlaceResolver) -> None:
    reunion = found(resolver, "Saint-Denis 97400")
    assert reunion.insee_code == "97411" and reunion.departement_name == "La Réunion"
    assert reunion.lat < 0
    seine = found(resolver, "Saint-Denis 93200")
    assert seine.insee_code == "93066" and seine.departement_code == "93"


def test_saint_denis_disambiguated_by_departement_name(resolver: PlaceResolver) -> None:
    assert found(resolver, "Saint Denis la Réunion").insee_code == "97411"
    assert found(resolver, "Saint-Martin 65").departement_code == "65"


def test_hamlet_listed_by_la_poste_maps_to_its_commune(resolver: PlaceResolver) -> None:
    result = resolver.resolve("Sainte-Clotilde")
    assert result.status == "found" and result.match == "locality"
    assert result.place is not None and result.place.insee_code == "97411"
    assert result.place.postal_code == "97490"


# --------------------------------------------------------------------------- ambiguity


def test_saint_martin_is_ambiguous_with_labelled_suggestions(resolver: PlaceResolver) -> None:
    result = resolver.resolve("Saint-Martin")
    assert result.status == "ambiguous"
    assert result.place is None
    assert 2 <= len(result.suggestions) <= 5
    assert result.candidate_count >= len(result.suggestions)
    assert all(s.name == "Saint-Martin" for s in result.suggestions)
    deps = [s.departement_code for s in result.suggestions]
    assert len(set(deps)) == len(deps)
    for s in result.suggestions:
        assert s.postal_code and s.departement_name
        assert s.label == f"Saint-Martin ({s.postal_code}, {s.departement_name})"


def test_saint_denis_alone_is_ambiguous(resolver: PlaceResolver) -> None:
    result = resolver.resolve("Saint-Denis")
    assert result.status == "ambiguous"
    assert {"93066", "97411"} <= {s.insee_code for s in result.suggestions}


def test_name_and_postal_code_that_disagree_offer_both(resolver: PlaceResolver) -> None:
    result = resolver.resolve("Cayenne 05100")
    assert result.status == "ambiguous" and result.match == "conflict"
    kinds = {s.kind for s in result.suggestions}
    assert "postal_code" in kinds
    assert "97302" in {s.insee_code for s in result.suggestions}


# --------------------------------------------------------------------------- not found


def test_not_found_offers_close_spellings(resolver: PlaceResolver) -> None:
    result = resolver.resolve("Lyom")
    assert result.status == "not_found"
    assert "Lyon" in [s.name for s in result.suggestions]


@pytest.mark.parametrize("text", ["", "   ", "xqzwv", "près de chez moi", "France services"])
def test_nothing_to_resolve(resolver: PlaceResolver, text: str) -> None:
    result = resolver.resolve(text)
    assert result.status == "not_found"
    assert result.place is None
    assert result.suggestions == ()


def test_departement_alone_is_not_a_place(resolver: PlaceResolver) -> None:
    result = resolver.resolve("Hautes-Alpes")
    assert result.status == "not_found" and result.match == "departement"


def test_non_string_input_does_not_crash(resolver: PlaceResolver) -> None:
    assert resolver.resolve(None).status == "not_found"  # type: ignore[arg-type]


# --------------------------------------------------------------------------- serialisation


def test_resolution_round_trips_through_json(resolver: PlaceResolver) -> None:
    result = resolve_place("Paris 15")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "found"
    assert data["place"]["label"] == "Paris 15e Arrondissement (75015, Paris)"
    assert Place.from_dict(data["place"]) == result.place


def test_factory_is_cached() -> None:
    assert get_place_resolver() is get_place_resolver()
    assert len(get_place_resolver()) > 35_000
