"""The confirmation asked after the reset click, and the screen showing the new password once."""

from __future__ import annotations

from playwright.sync_api import Dialog, Locator, Page

from flows.perceive import Perception
from flows.texts import DEFAULT_TEXTS, Texts


class ResetConfirmation:
    """An in-page confirmation dialog; `accept_browser_dialog` answers a browser `confirm()`."""

    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        see = Perception(page, texts)
        self.dialog = see.open_dialog()
        self.confirm = see.control("confirm", within=self.dialog)

    @staticmethod
    def accept_browser_dialog(dialog: Dialog) -> None:
        dialog.accept()

    def is_shown(self) -> bool:
        return self.confirm.present()

    def click_confirm(self) -> None:
        self.confirm.click()


class NewPasswordScreen:
    """Where the portal shows the new password: as text, or in a read-only field."""

    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        self.see = Perception(page, texts)
        self.field = self.see.field("new_password", exact=False)
        self.label = self.see.text("new_password")
        self.shown = self.field.union.or_(self.label.union).first

    def password_locators(self) -> list[Locator]:
        """What a screenshot must mask once the password is on screen."""
        return self.see.masks_for(self.field, self.label)

    def read_password(self) -> str | None:
        if self.field.present():
            return self.field.value().strip() or None
        if not self.label.present():
            return None
        return self.see.value_after(self.label, self.see.texts.words("new_password"))
