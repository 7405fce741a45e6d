"""Chorus Pro `Accueil connecté`."""

from __future__ import annotations

from playwright.sync_api import Page

from flows.perceive import Perception
from flows.texts import DEFAULT_TEXTS, Texts


class ChorusHomePage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        self.manager_activities = Perception(page, texts).control("manager_activities")

    def is_shown(self) -> bool:
        return self.manager_activities.present()

    def open_manager_activities(self) -> None:
        self.manager_activities.click()
