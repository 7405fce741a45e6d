"""A structure's page: its technical user, the expiry date, and the reset button."""

from __future__ import annotations

import re
from datetime import datetime

from playwright.sync_api import Page

from flows.models import PARIS, TechnicalStatus
from flows.text import containing, loose, normalize

# `Utilisateur technique : TECH_…` but not `… de l'utilisateur technique : 22/12/2017`.
_LOGIN = re.compile(r"(?<!')\butilisateur technique\s*:\s*(\S+)", re.IGNORECASE)
_EXPIRY = re.compile(
    r"expiration du mot de passe de l'utilisateur technique\s*:?\s*"
    r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?",
    re.IGNORECASE,
)
_DATE_LIKE = re.compile(r"^\d{1,2}/\d{1,2}/\d{4}")


def parse_technical_login(text: str) -> str | None:
    for line in text.splitlines():
        match = _LOGIN.search(normalize(line))
        if match and not _DATE_LIKE.match(match.group(1)):
            # `TECH_…@cpp2017(ACTIF)` when the page glues the status to the login.
            return re.sub(r"\(.*$", "", match.group(1)).strip(".,;")
    return None


def parse_expiry(text: str) -> datetime | None:
    match = _EXPIRY.search(normalize(text))
    if not match:
        return None
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


class StructurePage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.users_section = page.get_by_text(
            containing("Utilisateurs rattachés à la structure")
        ).first
        self.expiry_line = page.get_by_text(
            containing("Expiration du mot de passe de l'utilisateur technique")
        ).first
        name = loose("Réinitialiser le mot de passe (utilisateur technique)")
        self.reset_button = page.get_by_role("button", name=name).or_(
            page.get_by_role("link", name=name)
        )

    def wait_until_shown(self) -> None:
        self.expiry_line.wait_for()

    def text(self) -> str:
        return self.page.locator("body").inner_text()

    def technical_login(self) -> str | None:
        return parse_technical_login(self.text())

    def expiry(self) -> datetime | None:
        return parse_expiry(self.text())

    def read_status(self, siret: str) -> TechnicalStatus | None:
        text = self.text()
        login, expires_at = parse_technical_login(text), parse_expiry(text)
        if login is None or expires_at is None:
            return None
        return TechnicalStatus(siret=siret, login=login, expires_at=expires_at)

    def has_reset_button(self) -> bool:
        return self.reset_button.count() > 0

    def click_reset(self) -> None:
        self.reset_button.first.click()
