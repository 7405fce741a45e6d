"""Chorus Pro `Accueil connecté`."""

from __future__ import annotations

from playwright.sync_api import Page

from flows.text import loose


class ChorusHomePage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.manager_activities = page.get_by_role("link", name=loose("Activités du gestionnaire"))

    def is_shown(self) -> bool:
        return self.manager_activities.count() > 0 and self.manager_activities.first.is_visible()

    def open_manager_activities(self) -> None:
        self.manager_activities.first.click()
