"""DGFiP portal login page (`Bienvenue sur le Portail de la Gestion Publique`)."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from flows.text import loose

# Words a login error uses on French portals; the message itself is unknown and may change.
_ERROR_WORDS = re.compile(
    r"incorrect|invalide|erron|[ée]ch(ec|ou)|refus|inconnu|bloqu", re.IGNORECASE
)


class LoginPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.identifiant = page.get_by_label(loose("Identifiant :"))
        self.password = page.get_by_label(loose("Mot de passe :"))
        self.connect = page.get_by_role("button", name=loose("Connexion"))
        self.error_message = page.get_by_role("alert").or_(page.get_by_text(_ERROR_WORDS)).first

    def open(self, url: str) -> None:
        self.page.goto(url)

    def is_shown(self) -> bool:
        return self.password.count() > 0 and self.password.first.is_visible()

    def fill_identifiant(self, identifiant: str) -> None:
        self.identifiant.fill(identifiant)

    def fill_password(self, password: str) -> None:
        self.password.fill(password)

    def submit(self) -> None:
        self.connect.click()

    def error_text(self) -> str:
        if self.error_message.count() and self.error_message.is_visible():
            return " ".join(self.error_message.inner_text().split())
        return ""
