"""The words the bot looks for on the portal, and the user's `[texts]` overrides.

Every text a page object searches for has a key here. The documented texts (docs/portal.md)
are the defaults; a `[texts]` table in the config file puts the user's words before them,
for the day the portal renames something and nobody can patch the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# key -> the documented texts, most specific first. Order matters: the first is the one named
# in error messages.
DOCUMENTED: dict[str, tuple[str, ...]] = {
    "login_identifiant": ("Identifiant", "Adresse électronique", "Adresse e-mail"),
    "login_password": ("Mot de passe",),
    "login_submit": ("Connexion", "Se connecter"),
    "second_factor_code": ("Code de vérification", "Code de sécurité", "Code à usage unique"),
    "second_factor_submit": ("Valider", "Vérifier", "Continuer"),
    # The page that lets the user choose the second factor (Chorus Pro since September 2024).
    "second_factor_choice_app": ("Application d'authentification",),
    "second_factor_choice_email": (
        "Code envoyé par courriel",
        "Code envoyé par e-mail",
        "Code envoyé par mail",
    ),
    "second_factor_choice_key": ("Clé de sécurité",),
    "second_factor_continue": ("Continuer", "Suivant", "Valider"),
    "applications_title": ("Liste des applications disponibles",),
    "chorus_pro": ("Chorus Pro",),
    "manager_activities": (
        "Activités du gestionnaire",
        "Activité du gestionnaire",
        "Activité(s) du gestionnaire",
    ),
    "structures_section": ("Mes structures",),
    "structures_header": ("Identifiant structure", "Identifiant de la structure"),
    "open_structure": (
        "Consulter la structure",
        "Consulter",
        "Modifier la structure",
        "Modifier",
        "Ouvrir",
        "Voir",
        "Détail",
        "Éditer",
    ),
    "next_page": ("Page suivante", "Suivante", "Suivant", "Next Page", "Next", "›", ">"),
    # The list's page size: a walk that reads the structures in other tabs turns fewer pages.
    "page_size": ("lignes par page", "éléments par page", "résultats par page"),
    "users_block": ("Utilisateurs rattachés à la structure",),
    "technical_user": ("Utilisateur technique",),
    "expiry": ("Expiration du mot de passe de l'utilisateur technique",),
    "reset_button": ("Réinitialiser le mot de passe (utilisateur technique)",),
    "confirm": ("Confirmer", "Valider", "Oui", "OK"),
    "new_password": ("Nouveau mot de passe",),
    # The `Raccordements` path: Raccordements → Compte technique → the request form.
    "raccordements": ("Raccordements",),
    "technical_account_app": ("Compte technique",),
    "request_type": ("Type de demande",),
    "request_type_reset": ("Réinitialisation du mot de passe d'un compte technique",),
    "choose_structure": ("Choisir la structure",),
    "technical_account": ("Compte technique",),
    "no_technical_account": ("Cette structure n'a pas de compte technique",),
    "submit_request": ("Soumettre",),
    "request_done": ("Votre demande a été prise en compte",),
}
KEYS = tuple(DOCUMENTED)


@dataclass(frozen=True)
class Texts:
    """The documented texts, each preceded by the user's overrides for its key."""

    overrides: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.overrides) - set(DOCUMENTED))
        if unknown:
            raise KeyError(", ".join(unknown))

    def words(self, key: str) -> tuple[str, ...]:
        extra = tuple(self.overrides.get(key, ()))
        return extra + tuple(w for w in DOCUMENTED[key] if w not in extra)

    def describe(self, key: str) -> str:
        """How an error names what it looked for: the text, and the key that overrides it."""
        return f"`{self.words(key)[0]}` ([texts] {key})"

    def source(self, key: str) -> str:
        return "file" if key in self.overrides else "default"


DEFAULT_TEXTS = Texts()
