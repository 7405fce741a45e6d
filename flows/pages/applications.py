"""`Liste des applications disponibles pour …` after the DGFiP login."""

from __future__ import annotations

from playwright.sync_api import Page

from flows.perceive import Perception
from flows.texts import DEFAULT_TEXTS, Texts


class ApplicationsPage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        see = Perception(page, texts)
        self.title = see.text("applications_title")
        self.chorus_pro = see.control("chorus_pro")

    def is_shown(self) -> bool:
        return self.title.present()

    def has_chorus_pro(self) -> bool:
        return self.chorus_pro.present()

    def click_chorus_pro(self) -> None:
        self.chorus_pro.click()
