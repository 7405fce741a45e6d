"""The second factor: the page asking for a 6-digit `Code de vérification`, and the page that
lets the user choose how to get it (authenticator application, e-mailed code, security key)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from flows.pages.login import ERROR_WORDS
from flows.perceive import Perceived, Perception
from flows.texts import DEFAULT_TEXTS, Texts


class SecondFactorPage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        see = Perception(page, texts)
        self.code = see.field("second_factor_code")
        self.validate = see.control("second_factor_submit")
        # A refusal may be an alert or a plain line (`Code de vérification incorrect.`).
        self.error_message = see.alert().or_(see.words(ERROR_WORDS))

    def is_shown(self) -> bool:
        return self.code.present()

    def enter_code(self, code: str) -> None:
        self.code.fill(code)
        self.validate.click()

    def error_text(self) -> str:
        if self.error_message.count() and self.error_message.first.is_visible():
            return " ".join(self.error_message.first.inner_text().split())
        return ""


class SecondFactorChoicePage:
    """`Choisissez la méthode de vérification`: one option per factor the account allows."""

    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        see = Perception(page, texts)
        self.app = see.choice("second_factor_choice_app")
        self.email = see.choice("second_factor_choice_email")
        self.key = see.choice("second_factor_choice_key")
        # A page that can only wait for a security key names it in a sentence, not an option.
        self.key_text = see.text("second_factor_choice_key")
        self.proceed = see.control("second_factor_continue")

    @property
    def shown(self) -> Locator:
        """Any option, or the security key named: what tells this page is on screen."""
        return self.app.union.or_(self.email.union).or_(self.key.union).or_(self.key_text.union)

    def offers_app(self) -> bool:
        return self.app.present()

    def offers_email(self) -> bool:
        return self.email.present()

    def is_shown(self) -> bool:
        """A choice to make: at least one factor a bot can use, or the key among options."""
        return self.offers_app() or self.offers_email() or self.key.present()

    def asks_security_key_only(self) -> bool:
        """Only a security key is offered (as an option, or as the only way forward)."""
        return (self.key.present() or self.key_text.present()) and not (
            self.offers_app() or self.offers_email()
        )

    def choose_app(self) -> None:
        self._choose(self.app)

    def choose_email(self) -> None:
        self._choose(self.email)

    def _choose(self, option: Perceived) -> None:
        option.wait()
        # A radio button only selects; a button naming the factor goes on by itself.
        selects_only = option.picks_only()
        option.click()
        if selects_only:
            self.proceed.click()
