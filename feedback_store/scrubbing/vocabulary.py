"""Word lists used to tell names from look-alikes (administrations, roles, communes, greetings).

Every entry is stored in its :func:`normalize`-d form (lower case, no accents, hyphens as spaces).
"""

from __future__ import annotations

import functools
import unicodedata
from importlib import resources


def normalize(text: str) -> str:
    """Lower-case ``text``, strip accents, turn hyphens/apostrophes into spaces, squeeze spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    for char in "-'’":
        stripped = stripped.replace(char, " ")
    return " ".join(stripped.lower().split())


def _words(block: str) -> frozenset[str]:
    return frozenset(normalize(item) for item in block.split(",") if item.strip())


#: Public bodies, services, programmes and brands an usager names; never a person.
ADMINISTRATIONS = _words(
    """
    CAF, CNAF, Caisse d'allocations familiales, allocations familiales, CPAM, CNAM, Assurance
    maladie, Ameli, MSA, URSSAF, CARSAT, CNAV, Assurance retraite, Agirc-Arrco, France Travail,
    Pôle emploi, Pole, Emploi, Travail, ANTS, DGFiP, Finances publiques, impots, impôts, Trésor
    public, SIP, SIE, Préfecture, Sous-préfecture, Mairie, Hôtel de ville, France services,
    Maison France services, France, Services, Service public, La Poste, Poste, MDPH, Maison
    départementale, CCAS, CIAS, CDAS, PMI, Conseil départemental, Département, Région, Défenseur
    des droits, Médiateur, Mission locale, CROUS, EDF, Engie, SNCF, Orange, SFR, Free, Bouygues,
    CNIL, OFII, ANAH, ADIL, FranceConnect, Légifrance, Éducation nationale, Rectorat, Tribunal,
    Cour, Conseil d'État, Banque de France, APL, ALS, ALF, RSA, AAH, ASPA, PCH, APA, Prime
    d'activité, Chèque énergie, Carte vitale, Sécurité sociale, Sécu, Gendarmerie, Police,
    Commissariat, Hôpital, Urgences, Samu, Doctolib, Cerfa, Internet, Google, Facebook, Gmail,
    Hotmail, Outlook, Yahoo, WhatsApp, Ameli.fr, Oups, ESSOC, CRPA, Code civil, Cité
    administrative, DDT, DDETS, DREETS, DDFiP, Inspection du travail, Cap emploi, Mutualité,
    Mutuelle, Crédit agricole, Banque postale, LCL, BNP, Société générale, Caisse d'épargne,
    Crédit mutuel, Trésorerie, Etat, État, République, Assemblée nationale, Sénat, Conseil
    constitutionnel, Europe, Union européenne, AME, ARCE, ACRE, ARE, ASS, CMU, CSS, PUMa, Pacs,
    Histovec, France Rénov, MaPrimeRénov, Action logement, Parcoursup, Vitale, RIB, IBAN, BIC,
    Pass Sport, Chorus, Ants.gouv.fr, Mon espace santé, Info retraite, Emmaüs, Croix-Rouge,
    Secours populaire, Secours catholique, Restos du cœur, UDAF, ATD Quart Monde, Cimade,
    Petits frères des pauvres, CHU, CHRS, EHPAD, Cesu, Samu social, Planning familial
    """
)

#: Role and title words: "Madame la directrice", "Monsieur le Maire" are not names.
ROLES = _words(
    """
    maire, adjoint, adjointe, directeur, directrice, préfet, préfète, sous-préfet, sous-préfète,
    président, présidente, juge, ministre, conseiller, conseillère, agent, agente, responsable,
    député, députée, sénateur, sénatrice, médiateur, médiatrice, défenseur, défenseure,
    commissaire, procureur, procureure, inspecteur, inspectrice, chef, cheffe, secrétaire,
    délégué, déléguée, receveur, trésorier, comptable, gérant, gérante, docteur, docteure,
    professeur, professeure, notaire, huissier, avocat, avocate, maître, madame, monsieur,
    mademoiselle, messieurs, mesdames, mme, mlle, m, dr, me, pr, le, la, les, l, directeur
    général, directrice générale, coordinateur, coordinatrice, assistante, assistant,
    infirmière, infirmier, médecin, capitaine, lieutenant
    """
)

#: Capitalised words that start sentences or greet; spaCy sometimes labels them PER.
COMMON_CAPITALISED = _words(
    """
    Bonjour, Bonsoir, Salut, Hello, Merci, Mercis, Cordialement, Salutations, Respectueusement,
    Amicalement, Bravo, Super, Vraiment, Franchement, Bref, Voilà, Voila, Alors, Ensuite, Puis,
    Enfin, Aujourd'hui, Hier, Demain, Depuis, Donc, Mais, Et, Ou, Car, Sinon, Cependant,
    Pourtant, Heureusement, Malheureusement, Impossible, Personne, Rien, Tout, Toujours, Jamais,
    Encore, Beaucoup, Bien, Très, Trop, Madame, Monsieur, Mademoiselle, Messieurs, Mesdames,
    Dame, Docteur, Maître, Lundi, Mardi, Mercredi, Jeudi, Vendredi, Samedi, Dimanche, Janvier,
    Février, Mars, Avril, Mai, Juin, Juillet, Août, Septembre, Octobre, Novembre, Décembre,
    Noël, Pâques, Toussaint, Dieu, Covid, Signé, Nom, Prénom, Adresse, Tél, Téléphone, Mail,
    Email, Courriel, Numéro, Objet, Réf, Référence, Dossier, Courrier, Accueil, Guichet, Agence,
    Bureau, Service, Site, Formulaire, Réclamation, Recours, Réponse, Demande, Attestation,
    Dans, Pour, Avec, Sans, Suite, Après, Avant, Pendant, Chez, Selon, Comme, Quand, Lorsque,
    Parce, Vous, Nous, Je, Il, Elle, Ils, Elles, On, Mon, Ma, Mes, Votre, Vos, Notre, Nos, Son,
    Sa, Ses, Leur, Leurs, Ce, Cette, Ces, Un, Une, Des, Le, La, Les, Du, De, Au, Aux, Oui, Non,
    Ok, Bien à vous, Bonne journée, Bonne soirée, Excusez, Désolé, Désolée, SVP, STP, Urgent,
    Aide, Help, Retraite, Allocation, Allocations, Titre, Séjour, Passeport, Carte, Permis,
    Identité, Impôt, Impôts, Taxe, Amende, Loi, Article, Décret, Code, Cerfa, Madame Monsieur,
    Mesdames Messieurs, Ps, Nb, Cdt, Cdlt
    """
)

#: Frequent first names given in France (INSEE-style list, all generations and origins). A
#: capitalised word from this list is taken as a name; "Marie" or "Vincent" are never a place.
#: Left out on purpose: first names that are also common capitalised words or places
#: ("France", "Noël", "Grâce", "Victoire", "Lourdes", "Nancy").
FIRST_NAMES = _words(
    """
    Aaron, Abdel, Abdelkader, Abdallah, Abdoulaye, Achille, Adam, Adèle, Adrien, Agathe, Agnès,
    Ahmed, Aïcha, Aimée, Alain, Alban, Albert, Alexandra, Alexandre, Alexia, Alexis, Alice,
    Aline, Alix, Amandine, Amar, Ambre, Amélie, Amina, Amine, Amir, Anaïs, Andréa, André,
    Andrée, Angélique, Anissa, Anne, Annie, Anthony, Antoine, Antonin, Apolline, Ariane, Arnaud,
    Arthur, Astrid, Aubin, Audrey, Augustin, Aurélie, Aurélien, Aurore, Axel, Aya, Baptiste,
    Bastien, Béatrice, Benjamin, Benoît, Bernadette, Bernard, Bertrand, Blandine, Brigitte,
    Bruno, Camille, Capucine, Carine, Carole, Caroline, Catherine, Cécile, Cédric, Céline,
    Chantal, Charles, Charlotte, Chloé, Christelle, Christian, Christiane, Christine,
    Christophe, Claire, Clara, Claude, Claudine, Clément, Clémence, Clémentine, Colette,
    Coralie, Corinne, Cyril, Cyrille, Damien, Daniel, Danielle, David, Delphine, Denis, Denise,
    Didier, Dimitri, Dominique, Dylan, Édouard, Éléonore, Éliane, Élias, Élise, Élodie, Éloïse,
    Elsa, Emma, Emmanuel, Emmanuelle, Enzo, Éric, Ernest, Estelle, Éthan, Étienne, Eugénie, Éva,
    Évelyne, Fabien, Fabienne, Fabrice, Fanny, Farid, Fatima, Fatou, Fatoumata, Félix, Fernand,
    Flavie, Florence, Florent, Florian, Francis, Francine, Franck, François, Françoise,
    Frédéric, Frédérique, Gabin, Gabriel, Gabrielle, Gaël, Gaëlle, Gaëtan, Gaspard, Geneviève,
    Georges, Gérald, Gérard, Germaine, Ghislaine, Gilbert, Gilles, Ginette, Gisèle, Grégoire,
    Grégory, Guillaume, Guy, Hakim, Halima, Hamid, Hannah, Hassan, Hélène, Henri, Hervé, Hind,
    Hocine, Hugo, Hugues, Ibrahim, Inès, Irène, Isabelle, Jacqueline, Jacques, Jade, Jamel,
    Jean, Jeanne, Jérémy, Jérôme, Jessica, Joël, Joëlle, Johan, Jonathan, Jordan, Josette,
    Joseph, Josiane, Juliette, Jules, Julia, Julie, Julien, Justine, Karim, Karima, Kader,
    Karine, Kelly, Kenza, Kévin, Khadija, Laetitia, Laëtitia, Lamia, Laura, Laure, Laurence,
    Laurent, Léa, Léna, Léo, Léon, Léonie, Leïla, Leila, Liam, Lilian, Liliane, Lina, Lisa,
    Loïc, Louis, Louise, Luc, Luca, Lucas, Lucie, Lucien, Lucienne, Ludovic, Lydie, Madeleine,
    Maël, Maëlle, Maëva, Magali, Malik, Malika, Mamadou, Manon, Manuel, Marc, Marcel, Marcelle,
    Margaux, Marguerite, Maria, Marianne, Marie, Marine, Marion, Mariam, Marius, Marjorie,
    Marlène, Marthe, Martin, Martine, Maryse, Mathéo, Mathias, Mathieu, Mathilde, Matthieu,
    Maurice, Max, Maxence, Maxime, Mehdi, Mélanie, Mélissa, Michel, Michèle, Micheline, Mickaël,
    Mila, Mireille, Mohamed, Mohammed, Monique, Morgane, Mounir, Mourad, Moussa, Myriam, Nabil,
    Nadia, Nadine, Naïma, Najat, Nathalie, Nathan, Nicolas, Nicole, Nina, Noah, Noémie, Nora,
    Océane, Odette, Odile, Olivia, Olivier, Omar, Pascal, Pascale, Patrice, Patricia, Patrick,
    Paul, Paule, Paulette, Pauline, Perrine, Philippe, Pierre, Pierrette, Quentin, Rachel,
    Rachid, Rachida, Rafael, Raphaël, Raphaëlle, Raymond, Raymonde, Régis, Régine, Rémi, Rémy,
    Renée, René, Richard, Robert, Robin, Rodolphe, Roger, Roland, Romain, Romane, Rose, Rosine,
    Sabine, Sabrina, Sacha, Salim, Salomé, Samia, Samir, Samira, Samuel, Sandra, Sandrine,
    Sarah, Sébastien, Serge, Sébastienne, Séverine, Simon, Simone, Solène, Sonia, Sophie,
    Stéphane, Stéphanie, Suzanne, Sylvain, Sylvie, Tatiana, Théo, Théodore, Thérèse, Thibault,
    Thibaut, Thierry, Thomas, Timothée, Tiphaine, Tom, Tony, Ulysse, Valentin, Valentine,
    Valérie, Vanessa, Véronique, Victor, Vincent, Violette, Virginie, Vivien, Viviane, Walid,
    Wassim, Xavier, Yann, Yannick, Yasmine, Yassine, Yves, Yvette, Yvonne, Youssef, Zoé, Zohra
    """
)

#: First names that are also ordinary French words once written in lower case ("rose", "marc",
#: "pierre", "claire", "manuel", "maxime", "marié"...): only their capitalised form is a name.
_LOWERCASE_AMBIGUOUS = _words(
    """
    Aimée, Amandine, Ambre, Angélique, Aurore, Capucine, Charlotte, Claire, Clémence, Clément,
    Clémentine, Germaine, Jade, Jean, Madeleine, Manuel, Marc, Marguerite, Marie, Marine, Max,
    Maxime, Olivier, Pascal, Pascale, Pierre, Romain, Romane, Rose, Violette, Julien, Serge,
    Guy, Luc, Tom, Mila, Moussa, Amine, Franck
    """
)

#: First names recognised even when typed in lower case ("slt c kevin").
LOWERCASE_FIRST_NAMES = FIRST_NAMES - _LOWERCASE_AMBIGUOUS


@functools.lru_cache(maxsize=1)
def communes() -> frozenset[str]:
    """Return the normalised names of French communes (loaded once from ``data/communes.txt``)."""
    path = resources.files(__package__).joinpath("data", "communes.txt")
    with path.open(encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())
