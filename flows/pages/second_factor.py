"""The optional page asking for a 6-digit `Code de vérification`."""

from __future__ import annotations

from playwright.sync_api import Page

from flows.text import loose


class SecondFactorPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.code = page.get_by_label(loose("Code de vérification"))
        self.validate = page.get_by_role("button", name=loose("Valider"))
        self.error_message = page.get_by_role("alert")

    def is_shown(self) -> bool:
        return self.code.count() > 0 and self.code.first.is_visible()

    def enter_code(self, code: str) -> None:
        self.code.fill(code)
        self.validate.click()

    def error_text(self) -> str:
        if self.error_message.count() and self.error_message.first.is_visible():
            return " ".join(self.error_message.first.inner_text().split())
        return ""
