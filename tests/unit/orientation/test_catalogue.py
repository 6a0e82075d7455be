"""Catalogue of démarches: content requirements, lookups and validation errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from orientation.catalogue import (
    DEFAULT_DATA_DIR,
    Catalogue,
    CatalogueError,
    get_catalogue,
)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return get_catalogue()


def test_catalogue_is_large_enough(catalogue):
    assert len(catalogue) >= 120
    used_organismes = {d.organisme for d in catalogue}
    assert len(used_organismes) >= 20
    assert len(catalogue.hors_champ) >= 8


def test_required_competent_bodies_are_present(catalogue):
    codes = {o.code for o in catalogue.organismes}
    for required in (
        "dgfip",
        "caf",
        "cpam",
        "assurance_retraite",
        "msa",
        "france_travail",
        "urssaf",
        "ants",
        "mairie",
        "prefecture",
        "la_poste",
        "point_justice",
        "tribunal",
        "conciliateur",
        "defenseur_droits",
        "crous",
        "education_nationale",
        "departement",
        "mdph",
        "adil",
        "cheque_energie",
        "consulat",
        "police_gendarmerie",
        "mon_compte_formation",
    ):
        assert required in codes, required
        assert catalogue.by_organisme(required), f"no démarche for {required}"


def test_every_entry_is_complete(catalogue):
    for demarche in catalogue:
        assert demarche.url.startswith("https://"), demarche.code
        assert demarche.name and demarche.description and demarche.first_step
        assert len(demarche.synonyms) >= 3, demarche.code
        assert isinstance(demarche.france_services, bool)
        assert demarche.organisme in {o.code for o in catalogue.organismes}
        # Usager-facing first steps use vouvoiement (imperative in -ez, vous/votre/vos)...
        step = demarche.first_step.lower()
        assert re.search(r"\b\w+ez\b|\bfaites\b|\bvous\b|\bvotre\b|\bvos\b", step), demarche.code
        # ...and never tutoiement.
        assert not re.search(r"\b(tu|ton|ta|tes|toi)\b", step), demarche.code
    for organisme in catalogue.organismes:
        assert organisme.website.startswith("https://"), organisme.code


def test_codes_are_unique_across_files():
    codes = []
    for path in sorted((DEFAULT_DATA_DIR / "demarches").glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(document["version"], int)
        codes.extend(entry["code"] for entry in document["demarches"])
    assert len(codes) == len(set(codes))
    assert len(codes) == len(get_catalogue())


def test_national_phones(catalogue):
    assert catalogue.organisme("caf").phone == "3230"
    assert catalogue.organisme("cpam").phone == "3646"
    assert catalogue.organisme("france_travail").phone == "3949"
    assert catalogue.organisme("assurance_retraite").phone == "3960"
    assert catalogue.organisme("dgfip").phone == "0 809 401 401"
    # A démarche without its own phone inherits the organisme's number...
    assert catalogue.get("caf_aide_logement").phone == "3230"
    # ...an explicit one wins, and `phone: null` means none.
    assert catalogue.get("police_violences_conjugales").phone == "3919"
    assert catalogue.get("cadastre").phone is None


def test_lookup_by_code_and_by_organisme(catalogue):
    cni = catalogue.get("titre_cni")
    assert cni.organisme == "mairie"
    assert catalogue.organisme_of(cni).name == "Mairie"
    assert "titre_cni" in catalogue
    caf = catalogue.by_organisme("caf")
    assert {d.organisme for d in caf} == {"caf"}
    assert "caf_aide_logement" in {d.code for d in caf}
    with pytest.raises(KeyError):
        catalogue.get("does_not_exist")
    with pytest.raises(KeyError):
        catalogue.by_organisme("nobody")


def test_hors_champ_entries_point_to_real_demarches(catalogue):
    banque = catalogue.hors_champ_entry("banque")
    assert "banque" in banque.who_to_ask.lower()
    assert "bdf_droit_au_compte" in banque.related
    for topic in catalogue.hors_champ:
        assert all(code in catalogue for code in topic.related)
        assert topic.synonyms


def test_versions_are_recorded(catalogue):
    assert catalogue.versions["organismes.yml"] >= 1
    assert catalogue.versions["hors_champ.yml"] >= 1
    demarche_files = [k for k in catalogue.versions if k.startswith("demarches/")]
    assert len(demarche_files) >= 5


def test_get_catalogue_is_cached():
    assert get_catalogue() is get_catalogue()


# --- validation errors -------------------------------------------------------------------


VALID_ENTRY = {
    "code": "test_demarche",
    "name": "Démarche de test",
    "organisme": "caf",
    "description": "Une description.",
    "synonyms": ["un", "deux"],
    "first_step": "Connectez-vous à votre espace.",
    "url": "https://www.caf.fr/",
    "france_services": True,
}


def _data_dir(tmp_path: Path, files: dict[str, list[dict]], version=1) -> Path:
    """Copy the real organismes and hors-champ files and write the given démarche files."""
    shutil.copy(DEFAULT_DATA_DIR / "organismes.yml", tmp_path / "organismes.yml")
    (tmp_path / "demarches").mkdir()
    for name, entries in files.items():
        document = {"version": version, "demarches": entries}
        (tmp_path / "demarches" / name).write_text(
            yaml.safe_dump(document, allow_unicode=True), encoding="utf-8"
        )
    hors_champ = {
        "version": 1,
        "hors_champ": [
            {
                "code": "banque",
                "name": "Votre banque",
                "who_to_ask": "Adressez-vous à votre banque.",
                "synonyms": ["ma banque"],
            }
        ],
    }
    (tmp_path / "hors_champ.yml").write_text(yaml.safe_dump(hors_champ), encoding="utf-8")
    return tmp_path


def test_minimal_valid_directory_loads(tmp_path):
    catalogue = Catalogue.load(_data_dir(tmp_path, {"a.yml": [VALID_ENTRY]}))
    assert len(catalogue) == 1
    assert catalogue.get("test_demarche").phone == "3230"  # inherited from the CAF


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": None}, "missing field 'url'"),
        ({"url": "http://www.caf.fr/"}, "must be an https:// URL"),
        ({"organisme": "inconnu"}, "unknown organisme 'inconnu'"),
        ({"synonyms": []}, "'synonyms' must not be empty"),
        ({"synonyms": ["ok", 119]}, "'synonyms' must be a list of non-empty strings"),
        ({"france_services": "oui"}, "'france_services' must be true or false"),
        ({"code": "Bad Code"}, "must match"),
        ({"phone": 3230}, "phone must be a string"),
    ],
)
def test_bad_entry_error_names_file_and_entry(tmp_path, change, message):
    entry = {**VALID_ENTRY, **change}
    data = _data_dir(tmp_path, {"theme.yml": [VALID_ENTRY | {"code": "first_ok"}, entry]})
    with pytest.raises(CatalogueError) as excinfo:
        Catalogue.load(data)
    text = str(excinfo.value)
    assert "theme.yml" in text
    assert "entry #2" in text
    assert message in text


def test_duplicate_code_across_files_is_rejected(tmp_path):
    data = _data_dir(tmp_path, {"a.yml": [VALID_ENTRY], "b.yml": [VALID_ENTRY]})
    with pytest.raises(CatalogueError, match=r"b\.yml: duplicate démarche code 'test_demarche'"):
        Catalogue.load(data)


def test_missing_version_and_invalid_yaml_are_rejected(tmp_path):
    data = _data_dir(tmp_path, {"a.yml": [VALID_ENTRY]}, version=None)
    with pytest.raises(CatalogueError, match="'version' must be a positive integer"):
        Catalogue.load(data)
    (data / "demarches" / "a.yml").write_text("version: 1\ndemarches: [oops: : :\n")
    with pytest.raises(CatalogueError, match=r"a\.yml: invalid YAML"):
        Catalogue.load(data)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(CatalogueError, match=r"organismes\.yml: file not found"):
        Catalogue.load(tmp_path)
