"""Chorus Pro `Accueil connecté`: its menu offers `Activités du gestionnaire` (the documented
path; absent on some accounts of today's portal) and `Raccordements` (the newer path)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from flows.perceive import Perception
from flows.texts import DEFAULT_TEXTS, Texts


class ChorusHomePage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        see = Perception(page, texts)
        self.manager_activities = see.control("manager_activities")
        self.raccordements = see.control("raccordements")

    @property
    def menu(self) -> Locator:
        """Either menu entry: what tells that Chorus Pro's home is on screen."""
        return self.manager_activities.union.or_(self.raccordements.union)

    def wait(self, timeout: float | None = None) -> None:
        self.menu.first.wait_for(state="visible", timeout=timeout)

    def is_shown(self) -> bool:
        return self.manager_activities.present() or self.raccordements.present()

    def has_manager_activities(self) -> bool:
        return self.manager_activities.present()

    def open_manager_activities(self) -> None:
        self.manager_activities.click()

    def open_raccordements(self) -> None:
        self.raccordements.click()
