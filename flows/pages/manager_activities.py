"""Chorus Pro `Activités du gestionnaire`, and its paged `Mes structures` table."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page

from flows.models import StructureRow
from flows.text import containing, digits_pattern, normalize

_NEXT_PAGE = re.compile(r"^\s*(page\s+suivante|suivante?|next|›|>)\s*$", re.IGNORECASE)
_COLUMNS = {
    "identifiant structure": "siret",
    "raison sociale": "name",
    "date de création": "created",
    "type": "type",
    "statut": "status",
}


class ManagerActivitiesPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.structures_table = (
            page.get_by_role("table").filter(has_text=containing("Identifiant structure")).first
        )
        self.header_cells = self.structures_table.get_by_role("columnheader")
        self.data_rows = self.structures_table.get_by_role("row").filter(
            has=page.get_by_role("cell")
        )
        self.next_page = page.get_by_role("link", name=_NEXT_PAGE).or_(
            page.get_by_role("button", name=_NEXT_PAGE)
        )

    def wait_until_shown(self) -> None:
        self.structures_table.wait_for()

    def row_for(self, siret: str) -> Locator:
        return self.data_rows.filter(has_text=digits_pattern(siret))

    def has_row_for(self, siret: str) -> bool:
        return self.row_for(siret).count() > 0

    def open_structure(self, siret: str) -> None:
        row = self.row_for(siret).first
        row.get_by_role("link").or_(row.get_by_role("button")).first.click()

    def read_rows(self) -> list[StructureRow]:
        headers = [
            normalize(text).lower().rstrip(" :") for text in self.header_cells.all_inner_texts()
        ]
        # One round-trip for the whole page: with 200 structures, a call per cell adds up.
        cells: list[list[str]] = self.data_rows.evaluate_all(
            "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))"
        )
        rows = []
        for values in cells:
            record = {
                _COLUMNS[h]: normalize(v)
                for h, v in zip(headers, values, strict=False)
                if h in _COLUMNS
            }
            siret = re.sub(r"\D", "", record.get("siret", ""))
            if siret:
                rows.append(
                    StructureRow(
                        siret=siret,
                        name=record.get("name", ""),
                        created=record.get("created", ""),
                        type=record.get("type", ""),
                        status=record.get("status", ""),
                    )
                )
        return rows

    def row_count(self) -> int:
        return self.data_rows.count()

    def can_go_next(self) -> bool:
        if self.next_page.count() == 0:
            return False
        control = self.next_page.first
        if not control.is_visible() or control.get_attribute("aria-disabled") == "true":
            return False
        return control.is_enabled()

    def go_next(self) -> None:
        self.next_page.first.click()
