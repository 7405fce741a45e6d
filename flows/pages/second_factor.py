"""The page asking for a 6-digit `Code de vérification`."""

from __future__ import annotations

from playwright.sync_api import Page

from flows.perceive import Perception
from flows.texts import DEFAULT_TEXTS, Texts


class SecondFactorPage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        see = Perception(page, texts)
        self.code = see.field("second_factor_code")
        self.validate = see.control("second_factor_submit")
        self.error_message = see.alert()

    def is_shown(self) -> bool:
        return self.code.present()

    def enter_code(self, code: str) -> None:
        self.code.fill(code)
        self.validate.click()

    def error_text(self) -> str:
        if self.error_message.count() and self.error_message.first.is_visible():
            return " ".join(self.error_message.first.inner_text().split())
        return ""
