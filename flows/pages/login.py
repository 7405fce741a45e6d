"""The login page: the DGFiP portal's (`Identifiant :`, `Mot de passe :`, `Connexion`) or
Chorus Pro's own (`Adresse électronique`, `Mot de passe`, `Se connecter`)."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from flows.perceive import Perception
from flows.texts import DEFAULT_TEXTS, Texts

# Words a login error uses on French portals; the message itself is unknown and may change.
ERROR_WORDS = re.compile(
    r"incorrect|invalide|erron|[ée]ch(ec|ou)|refus|inconnu|bloqu", re.IGNORECASE
)


class LoginPage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        see = self.see = Perception(page, texts)
        self.identifiant = see.field("login_identifiant")
        self.password = see.field("login_password", secret=True)
        self.connect = see.control("login_submit")
        self.error_message = see.alert().or_(see.words(ERROR_WORDS)).first

    def open(self, url: str) -> None:
        # Parsed is enough: the fields are waited for, and images and fonts are not loaded.
        self.page.goto(url, wait_until="domcontentloaded")

    def is_shown(self) -> bool:
        # Asked after every navigation: a quick script rules out most pages first.
        return self.see.field_may_show("login_password", secret=True) and self.password.present()

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
