"""The `Raccordements` path: the domain's page, and the `Compte technique` request form.

The form asks, in order, `Type de demande`, `Choisir la structure` (`<SIRET> - <Raison
sociale>`) and `Compte technique` (the structure's technical login). Once they are chosen the
portal shows the new password framed in red, and only `Soumettre` puts it in force.
"""

from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import Locator, Page

from flows.models import StructureRow
from flows.pages.login import ERROR_WORDS
from flows.pages.reset_result import NewPasswordScreen
from flows.pages.structure import parse_expiry
from flows.perceive import Option, Perception
from flows.text import containing_any, digits_pattern, loose_any, normalize
from flows.texts import DEFAULT_TEXTS, Texts

# A SIRET at the start of an entry, however its digits are grouped.
_SIRET = re.compile(r"^\D{0,3}((?:\d[\s\u00a0\u202f]?){13}\d)(?!\d)")


def parse_structure_option(text: str) -> StructureRow | None:
    """`25900096600020 - SIAGEP` as a row of the structures list (name only)."""
    flat = normalize(text)
    match = _SIRET.match(flat)
    if not match:
        return None
    siret = re.sub(r"\D", "", match.group(1))
    name = flat[match.end() :].strip(" -–—:|")
    return StructureRow(siret=siret, name=name, created="", type="", status="")


def technical_login_of(option: Option) -> str:
    """The login an entry names: its first word (`TECH_1_…@cpro.fr (ACTIF)`)."""
    return re.sub(r"\(.*$", "", option.text).split()[0].strip(".,;")


class RaccordementsPage:
    """`Raccordements`: the domain's applications, among them `Compte technique`."""

    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        self.technical_account_app = Perception(page, texts).control("technical_account_app")

    def wait_until_shown(self) -> None:
        self.technical_account_app.wait()

    def open_technical_account(self) -> None:
        self.technical_account_app.click()


class TechnicalAccountForm:
    """`Compte technique`: the request, the new password shown before `Soumettre`."""

    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        self.texts = texts
        see = Perception(page, texts)
        self.see = see
        self.request_type_label = see.text("request_type")
        self.request_type = see.drop_down("request_type")
        self.structure = see.drop_down("choose_structure")
        self.account = see.drop_down("technical_account")
        self.no_technical_account = see.text("no_technical_account")
        self.submit_button = see.control("submit_request")
        self.done = see.text("request_done")
        self.expiry_line = see.text("expiry")
        self.new_password = NewPasswordScreen(page, texts)
        self.error_message = see.alert().or_(see.words(ERROR_WORDS))

    def wait_until_shown(self) -> None:
        self.request_type_label.wait()

    # -- the three lists ---------------------------------------------------------------

    def request_type_chosen(self) -> bool:
        chosen = self.request_type.selected()
        return chosen is not None and bool(self._reset_request().search(chosen.text))

    def choose_request_type(self) -> bool:
        """`Réinitialisation du mot de passe d'un compte technique`; False if not offered."""
        return self.request_type.choose(self._reset_request()) is not None

    def _reset_request(self) -> re.Pattern[str]:
        words = self.texts.words("request_type_reset")
        exact = self.request_type.choices()
        if any(loose_any(words).match(option.text) for option in exact):
            return loose_any(words)
        return containing_any(words)

    def structures(self) -> list[StructureRow]:
        """Every structure `Choisir la structure` offers, in its order."""
        rows = [parse_structure_option(option.text) for option in self.structure.choices()]
        return [row for row in rows if row is not None]

    def structure_chosen(self, siret: str) -> bool:
        chosen = self.structure.selected()
        return chosen is not None and bool(digits_pattern(siret).search(chosen.text))

    def offers_structure(self, siret: str) -> bool:
        return any(digits_pattern(siret).search(o.text) for o in self.structure.choices())

    def choose_structure(self, siret: str) -> bool:
        return self.structure.choose(digits_pattern(siret)) is not None

    def has_no_technical_account(self) -> bool:
        return self.no_technical_account.present()

    def technical_logins(self) -> list[str]:
        return [technical_login_of(option) for option in self.account.choices()]

    def account_chosen(self, login: str) -> bool:
        chosen = self.account.selected()
        return chosen is not None and technical_login_of(chosen) == login

    def choose_account(self, login: str) -> bool:
        pattern = re.compile(rf"^\W*{re.escape(login)}(?![\w@.-])")
        return self.account.choose(pattern) is not None

    # -- once chosen -------------------------------------------------------------------

    @property
    def revealed(self) -> Locator:
        """The new password or the expiry line: what shows once the account is chosen."""
        return self.new_password.shown.or_(self.expiry_line.union)

    def is_revealed(self) -> bool:
        return self.new_password.label.present() or self.expiry_line.present()

    def read_password(self) -> str | None:
        return self.new_password.read_password()

    def password_locators(self) -> list[Locator]:
        return self.new_password.password_locators()

    def expiry(self) -> datetime | None:
        """`Expiration du mot de passe de l'utilisateur technique : …`, when the form shows it."""
        if not self.expiry_line.present():
            return None
        return parse_expiry(self.see.body_text(), self.texts.words("expiry"))

    def submit(self) -> None:
        self.submit_button.click()

    def is_done(self) -> bool:
        return self.done.present()

    def error_text(self) -> str:
        if self.error_message.count() and self.error_message.first.is_visible():
            return " ".join(self.error_message.first.inner_text().split())
        return ""
