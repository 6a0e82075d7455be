"""Ranker: free French text → démarches, with typos, missing accents and familiar phrasing.

The ranker (spaCy model + catalogue index) is built once per session through the
``get_ranker()`` cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orientation.catalogue import get_catalogue
from orientation.ranking import Candidate, Ranker, RankingResult, Thresholds, get_ranker
from orientation.text import (
    basic_clean,
    content_tokens,
    normalize,
    split_glued_elisions,
    strip_accents,
)

REQUESTS = Path(__file__).resolve().parents[2] / "data" / "orientation_requests.yml"


@pytest.fixture(scope="session")
def ranker() -> Ranker:
    return get_ranker()


# --- text normalisation ------------------------------------------------------------------


def test_strip_accents_and_ligatures():
    assert strip_accents("Déclaration d'impôts, œuvre") == "Declaration d'impots, oeuvre"


def test_basic_clean_lowercases_and_splits_elisions():
    assert basic_clean("J'ai PERDU ma carte d’identité !!") == "j ai perdu ma carte d identite"


def test_normalize_expands_sms_forms():
    assert normalize("jveux refaire mon permis") == "je veux refaire mon permis"
    assert normalize("g perdu mes papié") == "j ai perdu mes papiers"
    assert normalize("chui au chomdu") == "je suis au chomage"


def test_glued_elisions_split_only_on_known_words():
    vocabulary = {"identite", "assurance"}
    assert split_glued_elisions(["carte", "didentite"], vocabulary) == ["carte", "d", "identite"]
    assert split_glued_elisions(["lassurance"], vocabulary) == ["l", "assurance"]
    assert split_glued_elisions(["dossier"], vocabulary) == ["dossier"]
    assert normalize("ma carte didentité", vocabulary) == "ma carte d identite"


def test_content_tokens_drop_filler_but_keep_domain_words():
    tokens = content_tokens(normalize("Bonjour, je voudrais une aide pour mon loyer svp"))
    assert tokens == ["aide", "loyer"]


# --- concrete phrasings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jveux refaire ma carte didentité", "titre_cni"),
        ("g perdu mon permi", "permis_perte_vol"),
        ("ma carte vital est cassé", "cpam_carte_vitale"),
        ("inscription a pole emploi stp", "ft_inscription"),
        ("comment faire une demande d'APL", "caf_aide_logement"),
        ("passport expiré", "titre_passeport"),
        ("titre de sejour a renouveler", "pref_titre_sejour_renouvellement"),
        ("mon proprio garde ma caution", "adil_conseil_logement"),
        ("carte grise a mon nom voiture occasion", "carte_grise_changement_titulaire"),
    ],
)
def test_typos_and_familiar_phrasing_find_the_right_demarche(ranker, text, expected):
    result = ranker.rank(text)
    assert result.status == "match"
    assert result.best.code == expected
    assert result.choices == result.candidates[:1]
    assert result.confidence > 0.8


def test_accents_and_case_do_not_change_the_ranking(ranker):
    accented = ranker.rank("Je voudrais déclarer mes revenus aux impôts")
    plain = ranker.rank("je voudrais declarer mes revenus aux impots")
    shouted = ranker.rank("JE VOUDRAIS DECLARER MES REVENUS AUX IMPOTS !!!")
    assert accented.best.code == "impots_declaration_revenus"
    assert accented.top_codes(5) == plain.top_codes(5) == shouted.top_codes(5)
    assert accented.best.score == pytest.approx(plain.best.score, abs=1e-6)


def test_result_invariants(ranker):
    result = ranker.rank("je cherche une aide pour payer mon loyer")
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert len(result.candidates) == 5
    for candidate in result.candidates:
        assert isinstance(candidate, Candidate)
        assert candidate.kind == "demarche"
        assert 0.0 <= candidate.score <= 1.0
        assert 0.0 <= candidate.confidence <= 1.0
        assert candidate.code in get_catalogue()
    assert set(result.choices) <= set(result.candidates)
    # The winner is more confident than the runner-up.
    assert result.candidates[0].confidence > result.candidates[1].confidence


# --- ambiguity ---------------------------------------------------------------------------------


def test_ambiguous_card_theft_asks_which_card(ranker):
    result = ranker.rank("ma carte a été volée")
    assert result.status == "ambiguous"
    codes = [c.code for c in result.choices]
    assert 2 <= len(codes) <= 4
    assert {"carte_grise_duplicata", "cpam_carte_vitale", "titre_perte_vol"} <= set(codes)
    assert result.confidence < 0.8


def test_ambiguous_generic_word_offers_several_bodies(ranker):
    result = ranker.rank("je voudrais une attestation")
    assert result.status == "ambiguous"
    organismes = {get_catalogue().get(c.code).organisme for c in result.choices}
    assert len(organismes) >= 2


def test_thresholds_drive_the_status(ranker):
    strict = Ranker(get_catalogue(), ranker._nlp, Thresholds(margin=0.99))
    assert strict.rank("g perdu mon permi").status == "ambiguous"
    lenient = Ranker(get_catalogue(), ranker._nlp, Thresholds(margin=0.0, window=0.0))
    assert lenient.rank("ma carte a été volée").status == "match"


# --- out of scope and unknown ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("ma banque refuse de me faire un prêt", "banque"),
        ("frais de notaire pour la maison", "notaire"),
        ("mon assurance habitation refuse de payer le dégât des eaux", "assurance"),
        ("mon patron me paie pas mes heures sup", "employeur"),
    ],
)
def test_out_of_scope_says_who_to_ask(ranker, text, topic):
    result = ranker.rank(text)
    assert result.status == "out_of_scope"
    assert result.hors_champ.code == topic
    assert result.hors_champ.kind == "hors_champ"
    assert result.choices == ()
    assert get_catalogue().hors_champ_entry(topic).who_to_ask


@pytest.mark.parametrize("text", ["", "   ", "bonjour", "azertyuiop", "merci beaucoup"])
def test_nothing_credible_is_unknown(ranker, text):
    result = ranker.rank(text)
    assert result.status == "unknown"
    assert result.choices == ()
    assert result.confidence == 0.0


# --- regression guard on the held-out split -----------------------------------------------------


def _held_out() -> list[dict]:
    requests = yaml.safe_load(REQUESTS.read_text(encoding="utf-8"))["requests"]
    return [r for r in requests if r["split"] == "test"]


def test_labelled_set_is_large_and_split():
    requests = yaml.safe_load(REQUESTS.read_text(encoding="utf-8"))["requests"]
    assert len(requests) >= 300
    kinds = {r["kind"] for r in requests}
    assert kinds == {"demarche", "out_of_scope", "unknown"}
    test_share = sum(r["split"] == "test" for r in requests) / len(requests)
    assert 0.25 <= test_share <= 0.40
    codes = {d.code for d in get_catalogue()}
    assert all(r["expected"] in codes for r in requests if r["kind"] == "demarche")


def test_held_out_top3_accuracy_regression_guard(ranker):
    in_scope = [r for r in _held_out() if r["kind"] == "demarche"]
    hits = sum(r["expected"] in ranker.rank(r["text"]).top_codes(3) for r in in_scope)
    assert len(in_scope) >= 100
    assert hits / len(in_scope) >= 0.90


def test_held_out_out_of_scope_detection(ranker):
    out_of_scope = [r for r in _held_out() if r["kind"] == "out_of_scope"]
    results = [ranker.rank(r["text"]) for r in out_of_scope]
    detected = sum(res.status == "out_of_scope" for res in results)
    assert detected / len(out_of_scope) >= 0.75


def test_rank_result_type(ranker):
    assert isinstance(ranker.rank("carte grise"), RankingResult)
