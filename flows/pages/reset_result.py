"""The confirmation asked after the reset click, and the screen showing the new password once."""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Page

from flows.text import containing

_CONFIRM = re.compile(r"^\s*(confirmer|valider|oui|ok)\b", re.IGNORECASE)
_AFTER_LABEL = re.compile(r"nouveau mot de passe[^:\n]*:\s*(\S+)", re.IGNORECASE)


class ResetConfirmation:
    """An in-page confirmation dialog; `accept_browser_dialog` answers a browser `confirm()`."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialog = page.get_by_role("dialog").or_(page.get_by_role("alertdialog"))
        self.confirm = self.dialog.get_by_role("button", name=_CONFIRM)

    @staticmethod
    def accept_browser_dialog(dialog: Dialog) -> None:
        dialog.accept()

    def is_shown(self) -> bool:
        return self.confirm.count() > 0 and self.confirm.first.is_visible()

    def click_confirm(self) -> None:
        self.confirm.first.click()


class NewPasswordScreen:
    """Where the portal shows the new password: as text, or in a read-only field."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.field = page.get_by_role("textbox", name=containing("nouveau mot de passe"))
        self.label = page.get_by_text(containing("nouveau mot de passe"))
        self.shown = self.field.or_(self.label).first

    def password_locators(self) -> list:
        """What a screenshot must mask once the password is on screen."""
        return [self.field, self.label, self.label.locator("xpath=following-sibling::*[1]")]

    def read_password(self) -> str | None:
        if self.field.count():
            return self.field.first.input_value().strip() or None
        if not self.label.count():
            return None
        label = self.label.first
        match = _AFTER_LABEL.search(label.inner_text())
        if match:
            return match.group(1)
        # `<dt>Nouveau mot de passe</dt><dd>…</dd>`: the value sits in the next element.
        sibling = label.locator("xpath=following-sibling::*[1]")
        if sibling.count():
            tag = sibling.evaluate("e => e.tagName.toLowerCase()")
            value = sibling.input_value() if tag in ("input", "textarea") else sibling.inner_text()
            return value.strip() or None
        return None
