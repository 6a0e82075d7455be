"""Label spaces for experience stories (engagements, tags généraux, irritants, ressenti, canal).

This module encodes ``TAXONOMY.md`` once for the whole project. Codes are stable identifiers and
are never renamed in place; labels are what people see. Every mapping is read-only
(``MappingProxyType`` of frozen dataclasses) so no caller can mutate the contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

TAXONOMY_VERSION = "2026.1"

# Rubriques of the Marianne référentiel (2016); engagements 11 and 12 concern agents only.
MARIANNE_RUBRIQUES: tuple[str, ...] = (
    "information et orientation",
    "accueil",
    "réponses",
    "écoute",
)

# Short wording of the five first engagements of the 2021 Services Publics+ référentiel (9 in all).
SP_PLUS_2021_ENGAGEMENTS: Mapping[int, str] = MappingProxyType(
    {
        1: "Accueil avec courtoisie et bienveillance, droit à l'erreur",
        2: "Joignables par téléphone ou sur place, démarches en ligne facilitées",
        3: "Accompagnement adapté à la situation personnelle",
        4: "Orientation vers la personne compétente",
        5: "Réponse dans les délais annoncés, information sur l'avancement du dossier",
    }
)


@dataclass(frozen=True)
class Engagement:
    """A Services Publics+ engagement (current référentiel, 8 engagements).

    Attributes:
        code: Stable code (``E1`` … ``E8``).
        label: Published wording.
        marianne_rubriques: Marianne (2016) rubriques this engagement falls under.
        sp_plus_2021: Numbers of the matching engagements in the 2021 référentiel (only where the
            correspondence is documented; empty otherwise).

    """

    code: str
    label: str
    marianne_rubriques: tuple[str, ...]
    sp_plus_2021: tuple[int, ...]


@dataclass(frozen=True)
class TagGeneral:
    """One of the five general categories of the Services Publics+ platform export.

    Attributes:
        code: Stable code.
        label: Label shown to people.
        export_column: Boolean column of the open-data export for this tag.

    """

    code: str
    label: str
    export_column: str


@dataclass(frozen=True)
class Irritant:
    """A fine-grained pain point, mapped to one tag général and to engagements.

    Attributes:
        code: Stable code.
        label: Short French label shown to people.
        description: French description of what the usager describes.
        tag: Code of its tag général.
        engagements: Codes of the engagements it breaches (main one first).

    """

    code: str
    label: str
    description: str
    tag: str
    engagements: tuple[str, ...]


ENGAGEMENTS: Mapping[str, Engagement] = MappingProxyType(
    {
        e.code: e
        for e in (
            Engagement(
                "E1",
                "Dans le respect mutuel, vous êtes accueillis avec bienveillance et avez le droit "
                "à l'erreur",
                ("accueil",),
                (1,),
            ),
            Engagement(
                "E2",
                "Vous pouvez facilement entrer en contact avec vos services publics",
                ("accueil", "information et orientation"),
                (2,),
            ),
            Engagement(
                "E3",
                "Vous bénéficiez d'un accompagnement adapté à votre situation personnelle",
                ("accueil", "information et orientation"),
                (3, 4),
            ),
            Engagement(
                "E4",
                "Votre demande est traitée dans les délais annoncés",
                ("réponses",),
                (5,),
            ),
            Engagement(
                "E5",
                "Vous disposez d'une information claire, simple et accessible",
                ("information et orientation", "réponses"),
                (5,),
            ),
            Engagement(
                "E6",
                "Vous avez accès à nos résultats de qualité de service",
                ("écoute",),
                (),
            ),
            Engagement(
                "E7",
                "Votre avis est pris en compte pour améliorer le service rendu",
                ("écoute",),
                (),
            ),
            Engagement(
                "E8",
                "Avec vous, nous agissons pour limiter notre impact sur l'environnement",
                (),
                (),
            ),
        )
    }
)

TAGS_GENERAUX: Mapping[str, TagGeneral] = MappingProxyType(
    {
        t.code: t
        for t in (
            TagGeneral("accessibilite", "Accessibilité", "tags_generaux_accessibilite"),
            TagGeneral(
                "information",
                "Information / explication",
                "tags_generaux_information_explication",
            ),
            TagGeneral("relation", "Relation", "tags_generaux_relation"),
            TagGeneral("reactivite", "Réactivité", "tags_generaux_reactivite"),
            TagGeneral(
                "simplicite",
                "Simplicité / complexité",
                "tags_generaux_simplicite_complexite",
            ),
        )
    }
)

IRRITANTS: Mapping[str, Irritant] = MappingProxyType(
    {
        i.code: i
        for i in (
            Irritant(
                "injoignable",
                "Service injoignable",
                "Téléphone sans réponse, lignes saturées, e-mails sans réponse, guichet fermé, "
                "aucun créneau de rendez-vous.",
                "accessibilite",
                ("E2",),
            ),
            Irritant(
                "attente",
                "Attente trop longue",
                "Longue attente au guichet ou au téléphone.",
                "reactivite",
                ("E2", "E4"),
            ),
            Irritant(
                "delai_traitement",
                "Délai de traitement trop long",
                "Dossier ou demande traité en retard, au-delà du délai annoncé, ou jamais traité.",
                "reactivite",
                ("E4",),
            ),
            Irritant(
                "suivi_dossier",
                "Absence de suivi du dossier",
                "Aucune nouvelle de l'avancement du dossier, impossible de savoir où il en est.",
                "information",
                ("E4", "E5"),
            ),
            Irritant(
                "info_contradictoire",
                "Informations contradictoires",
                "Réponses différentes selon les agents, les canaux ou les documents.",
                "information",
                ("E5",),
            ),
            Irritant(
                "info_incomprehensible",
                "Information incompréhensible",
                "Courrier peu clair, jargon, explication absente ou erronée.",
                "information",
                ("E5",),
            ),
            Irritant(
                "demarche_complexe",
                "Démarche trop complexe",
                "Trop de pièces demandées, pièces redemandées, formulaires abscons ou trop longs.",
                "simplicite",
                ("E5", "E3"),
            ),
            Irritant(
                "numerique_defaillant",
                "Démarche en ligne défaillante",
                "Site ou démarche en ligne en panne, bloquée, ou uniquement en ligne sans "
                "alternative.",
                "accessibilite",
                ("E2", "E3"),
            ),
            Irritant(
                "renvoi_de_service",
                "Renvoyé d'un service à l'autre",
                "Renvoyé d'un service à un autre, personne n'est compétent.",
                "accessibilite",
                ("E2", "E3"),
            ),
            Irritant(
                "accueil_irrespectueux",
                "Accueil irrespectueux",
                "Accueil brusque, méprisant ou irrespectueux, manque de bienveillance.",
                "relation",
                ("E1",),
            ),
            Irritant(
                "erreur_sanctionnee",
                "Erreur de bonne foi sanctionnée",
                "Sanction pour une erreur de bonne foi, droit à l'erreur non appliqué.",
                "relation",
                ("E1",),
            ),
            Irritant(
                "situation_non_prise_en_compte",
                "Situation personnelle non prise en compte",
                "Handicap, langue, précarité, âge ou isolement ignorés ; réponse standard "
                "inadaptée.",
                "relation",
                ("E3",),
            ),
            Irritant(
                "dossier_perdu",
                "Dossier ou pièces perdus",
                "Documents ou dossier perdus par l'administration.",
                "reactivite",
                ("E4",),
            ),
            Irritant(
                "locaux_signaletique",
                "Locaux et signalétique",
                "Locaux, signalétique, accessibilité du bâtiment, conditions de la salle "
                "d'attente.",
                "accessibilite",
                ("E1", "E2"),
            ),
            Irritant(
                "avis_ignore",
                "Avis ou réclamation ignorés",
                "Réclamation ou suggestion restée sans suite, avis ignoré.",
                "relation",
                ("E7",),
            ),
            Irritant(
                "impact_environnemental",
                "Impact environnemental inutile",
                "Papier, déplacements ou gaspillage inutiles.",
                "simplicite",
                ("E8",),
            ),
        )
    }
)

RESSENTIS: Mapping[str, str] = MappingProxyType(
    {"positif": "Positif", "neutre": "Neutre", "negatif": "Négatif"}
)

CANAUX: Mapping[str, str] = MappingProxyType(
    {
        "guichet": "Guichet",
        "telephone": "Téléphone",
        "courrier": "Courrier",
        "email": "E-mail",
        "en_ligne": "En ligne",
        "france_services": "France services",
        "autre": "Autre",
    }
)

# Column names of the Services Publics+ open-data export of experiences (TAXONOMY.md §4).
EXPORT_COLUMNS: tuple[str, ...] = (
    "id_experience",
    "titre",
    "description",
    "ressenti_usager",
    "intitule_structure_1",
    "ecrit_le",
    "code_postal_usager",
    "tags_generaux_accessibilite",
    "tags_generaux_information_explication",
    "tags_generaux_relation",
    "tags_generaux_reactivite",
    "tags_generaux_simplicite_complexite",
    "amelioration_de_service_a_considerer",
)

# Tag général code -> export column (read-only view of TAGS_GENERAUX).
TAG_EXPORT_COLUMNS: Mapping[str, str] = MappingProxyType(
    {code: tag.export_column for code, tag in TAGS_GENERAUX.items()}
)

# Current engagement code -> Marianne rubriques, for services still reporting in Marianne terms.
MARIANNE_MAPPING: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {code: e.marianne_rubriques for code, e in ENGAGEMENTS.items()}
)

# Current engagement code -> 2021 SP+ engagement numbers (empty where no documented match).
SP_PLUS_2021_MAPPING: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {code: e.sp_plus_2021 for code, e in ENGAGEMENTS.items()}
)

_SPACES: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "engagement": ENGAGEMENTS,
        "tag": TAGS_GENERAUX,
        "irritant": IRRITANTS,
        "ressenti": RESSENTIS,
        "canal": CANAUX,
    }
)
SPACES: tuple[str, ...] = tuple(_SPACES)


def check_code(space: str, code: str) -> str:
    """Validate a code against one label space.

    Args:
        space: One of ``engagement``, ``tag``, ``irritant``, ``ressenti``, ``canal``.
        code: The code to check (exact, case-sensitive).

    Returns:
        The code itself, so the call can be used inline.

    Raises:
        ValueError: If the space is unknown or the code does not belong to it.

    """
    if space not in _SPACES:
        raise ValueError(f"Unknown label space {space!r}; expected one of: {', '.join(SPACES)}.")
    valid = _SPACES[space]
    if not isinstance(code, str) or code not in valid:
        raise ValueError(
            f"Unknown {space} code {code!r} (taxonomy {TAXONOMY_VERSION}); "
            f"valid codes: {', '.join(valid)}."
        )
    return code


def check_codes(space: str, codes: Iterable[str]) -> list[str]:
    """Validate several codes of one space; see :func:`check_code`.

    Returns:
        The codes as a list, in the given order.

    """
    return [check_code(space, code) for code in codes]


def derive_tags(irritants: Iterable[str]) -> set[str]:
    """Return the tags généraux implied by irritant codes.

    Raises:
        ValueError: On an unknown irritant code.

    """
    return {IRRITANTS[check_code("irritant", code)].tag for code in irritants}


def engagements_for(irritants: Iterable[str]) -> set[str]:
    """Return the engagement codes breached by the given irritant codes.

    Raises:
        ValueError: On an unknown irritant code.

    """
    return {e for code in irritants for e in IRRITANTS[check_code("irritant", code)].engagements}


def marianne_rubriques_for(engagements: Iterable[str]) -> set[str]:
    """Return the Marianne rubriques covering the given engagement codes.

    Raises:
        ValueError: On an unknown engagement code.

    """
    return {r for code in engagements for r in MARIANNE_MAPPING[check_code("engagement", code)]}


def sorted_codes(space: str, codes: Iterable[str]) -> list[str]:
    """Sort codes in the order the taxonomy declares them.

    Raises:
        ValueError: On an unknown space or code.

    """
    order = {code: index for index, code in enumerate(_SPACES.get(space, {}))}
    return sorted(check_codes(space, codes), key=order.__getitem__)
