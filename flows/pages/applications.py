"""`Liste des applications disponibles pour …` after the DGFiP login."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from flows.perceive import Perception
from flows.texts import DEFAULT_TEXTS, Texts


class ApplicationsPage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        see = Perception(page, texts)
        self.title = see.text("applications_title")
        self.chorus_pro = see.control("chorus_pro")
        self._chorus_pro: Locator | None = None  # as found by has_chorus_pro

    def is_shown(self) -> bool:
        return self.title.present()

    def has_chorus_pro(self) -> bool:
        # Kept for the click: the look that finds the link is the costly part.
        self._chorus_pro = self.chorus_pro.found()
        return self._chorus_pro is not None

    def click_chorus_pro(self) -> None:
        link, self._chorus_pro = self._chorus_pro, None
        if link is None:
            self.chorus_pro.click()
        else:
            link.click()
