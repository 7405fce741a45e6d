"""A structure's page: its technical user, the expiry date, and the reset button."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from playwright.sync_api import Page

from flows.models import PARIS, TechnicalStatus
from flows.perceive import Perception
from flows.text import label_pattern, normalize
from flows.texts import DEFAULT_TEXTS, Texts

_DOCUMENTED = DEFAULT_TEXTS
_DATE = r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_DATE_LIKE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}")
# What a page may write where a structure has no technical user.
_NOBODY = re.compile(r"^(aucun|aucune|n[ée]ant|non|-+|/)$", re.IGNORECASE)


def parse_technical_login(
    text: str, labels: Iterable[str] = _DOCUMENTED.words("technical_user")
) -> str | None:
    """The token after `Utilisateur technique :`, whatever its format."""
    flat = normalize(text)
    for label in labels:
        # `… de l'utilisateur technique : 22/12/2017` is the expiry line, not the login.
        for match in re.finditer(rf"(?<!')\b{label_pattern(label)}\s*:?\s*(\S+)", flat, re.I):
            token = re.sub(r"\(.*$", "", match.group(1)).strip(".,;")
            if token and not _DATE_LIKE.match(token) and not _NOBODY.match(token):
                return token
    return None


def parse_expiry(text: str, labels: Iterable[str] = _DOCUMENTED.words("expiry")) -> datetime | None:
    """`Expiration du mot de passe de l'utilisateur technique : 22/12/2017 15:20:45`, Paris time."""
    flat = normalize(text)
    for label in labels:
        match = re.search(rf"{label_pattern(label)}\s*:?\s*{_DATE}", flat, re.IGNORECASE)
        if match:
            day, month, year, hour, minute, second = match.groups()
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                tzinfo=PARIS,
            )
    return None


class StructurePage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        self.texts = texts
        self.see = Perception(page, texts)
        self.users_section = self.see.text("users_block")
        self.expiry_line = self.see.text("expiry")
        self.technical_user_line = self.see.text("technical_user")
        self.reset_button = self.see.control("reset_button")

    def wait_until_shown(self) -> None:
        """The structure's users block or its technical user lines, whichever comes first."""
        self.users_section.union.or_(self.expiry_line.union).or_(
            self.technical_user_line.union
        ).first.wait_for()

    def text(self) -> str:
        return self.see.body_text()

    def technical_login(self) -> str | None:
        return parse_technical_login(self.text(), self.texts.words("technical_user"))

    def expiry(self) -> datetime | None:
        return parse_expiry(self.text(), self.texts.words("expiry"))

    def has_technical_user(self) -> bool:
        return self.technical_login() is not None or self.expiry() is not None

    def read_status(self, siret: str) -> TechnicalStatus | None:
        text = self.text()
        login = parse_technical_login(text, self.texts.words("technical_user"))
        expires_at = parse_expiry(text, self.texts.words("expiry"))
        if login is None or expires_at is None:
            return None
        return TechnicalStatus(siret=siret, login=login, expires_at=expires_at)

    def has_reset_button(self) -> bool:
        return self.reset_button.present()

    def click_reset(self) -> None:
        self.reset_button.click()
