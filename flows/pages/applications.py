"""`Liste des applications disponibles pour …` after the DGFiP login."""

from __future__ import annotations

from playwright.sync_api import Page

from flows.text import containing, loose


class ApplicationsPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.title = page.get_by_text(containing("Liste des applications disponibles")).first
        self.chorus_pro = page.get_by_role("link", name=loose("Chorus Pro")).or_(
            page.get_by_role("button", name=loose("Chorus Pro"))
        )

    def is_shown(self) -> bool:
        return self.title.count() > 0 and self.title.is_visible()

    def has_chorus_pro(self) -> bool:
        return self.chorus_pro.count() > 0

    def click_chorus_pro(self) -> None:
        self.chorus_pro.first.click()
