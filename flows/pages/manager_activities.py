"""Chorus Pro `Activités du gestionnaire`, and its paged `Mes structures` table."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import ElementHandle, Locator, Page
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from flows.models import StructureRow
from flows.perceive import (
    SEVERAL,
    DataTable,
    Option,
    Perceived,
    Perception,
    Target,
    click_if_attached,
    is_disabled,
)
from flows.text import loose
from flows.texts import DEFAULT_TEXTS, Texts

# The other columns a person reads in `Mes structures`; absent ones stay empty.
_OTHER_COLUMNS = {
    "name": ("Raison sociale", "Dénomination", "Nom"),
    "created": ("Date de création",),
    "type": ("Type", "Type de structure"),
    "status": ("Statut", "État"),
}


def _column_index(headers: list[str], words: tuple[str, ...]) -> int | None:
    for word in words:
        pattern = loose(word)
        for index, header in enumerate(headers):
            if pattern.match(header):
                return index
    return None


class ManagerActivitiesPage:
    def __init__(self, page: Page, texts: Texts = DEFAULT_TEXTS) -> None:
        self.page = page
        self.texts = texts
        self.see = Perception(page, texts)
        self._next: Locator | None = None
        self.announced: int | None = None  # as read by the last read_rows_with_targets
        self.structures_table: DataTable = self.see.table(
            "structures_header",
            also=[w for words in _OTHER_COLUMNS.values() for w in words],
            section_key="structures_section",
        )

        self.page_size = self.see.drop_down("page_size")

    def wait_until_shown(self) -> None:
        self.structures_table.wait()

    def largest_page_size(self) -> Option | None:
        """The largest `lignes par page` the list offers, when it is not the one shown."""
        sizes = [
            (int(digits), option)
            for option in self.page_size.choices()
            if (digits := re.sub(r"\D", "", option.text))
        ]
        if not sizes:
            return None
        _, largest = max(sizes, key=lambda size: size[0])
        current = self.page_size.selected()
        return None if current is not None and current.value == largest.value else largest

    def show_page_size(self, option: Option) -> None:
        self.page_size.choose(re.compile(rf"^{re.escape(option.text)}$"))

    def wait_for_more_rows(self, than: int) -> None:
        """Until the table shows more than `than` rows (drawn again after a page size)."""
        self.structures_table.wait_for_more_rows(than)

    def is_shown(self) -> bool:
        return self.structures_table.present()

    def has_row_for(self, siret: str) -> bool:
        return self.structures_table.row_with(siret).count() > 0

    def wait_until_row_gone(self, siret: str) -> None:
        """A pager may redraw the table in place: the old page's rows go away."""
        self.structures_table.row_with(siret).first.wait_for(state="detached")

    def row_gone(self, siret: str) -> Callable[[float], None]:
        """`wait_until_row_gone` in slices of `timeout` ms, for a caller that does other work
        between two slices (it catches the TimeoutError of a slice and calls again).

        The table is found again at each slice: which table is `Mes structures` is decided
        on the page shown, and the next page may be laid out differently (a `Demandes de
        rattachement` table holding the same SIRET first). A page that is being replaced
        cannot be asked: that slice just times out.
        """

        def gone(timeout: float) -> None:
            try:
                row = self.structures_table.row_with(siret).first
                row.wait_for(state="detached", timeout=timeout)
            except PlaywrightTimeoutError:
                raise
            except PlaywrightError as error:  # the old page's context went with it
                raise PlaywrightTimeoutError(str(error).splitlines()[0]) from None

        return gone

    def shown_structure_control(self, siret: str) -> ElementHandle | None:
        """The control that opens the structure, when one look at this page finds its row
        and that row's only control reads as such (see `DataTable.named_control_in_row`)."""
        return self.structures_table.named_control_in_row(siret, "open_structure")

    def open_structure(self, siret: str, control: ElementHandle | None = None) -> None:
        """Clicks the structure's control: `control` if it is still on the page, else the one
        the row shows now."""
        if control is not None and click_if_attached(control):
            return
        self.structures_table.click_in_row(siret, "open_structure")

    def structure_target(self, siret: str) -> Target | None:
        """Where the row's open control leads, so that another tab can go there directly."""
        control = self.structures_table.control_in_row(siret, "open_structure")
        if not control.present():
            return None
        return self.see.target_of(control.best())

    def read_rows(self) -> list[StructureRow]:
        return [row for row, _ in self._rows(self.structures_table.read())]

    def read_rows_with_targets(self) -> list[tuple[StructureRow, Target | None]]:
        """The rows, each with where its open control leads (None: only a click will do), in
        one round trip for rows with one control, one more for each row with several. The
        total the pager announces is read with them: see `announced`."""
        headers, cells, targets, self.announced = self.structures_table.read_with_targets()
        found = []
        for row, index in self._rows((headers, cells)):
            target = targets[index] if index < len(targets) else None
            if target == SEVERAL:
                target = self.structure_target(row.siret)
            found.append((row, target if isinstance(target, Target) else None))
        return found

    def _rows(self, table: tuple[list[str], list[list[str]]]) -> list[tuple[StructureRow, int]]:
        """The rows that hold a SIRET, with their index among the table's data rows."""
        headers, cells = table
        siret_at = _column_index(headers, self.texts.words("structures_header"))
        if siret_at is None:
            return []
        columns = {name: _column_index(headers, words) for name, words in _OTHER_COLUMNS.items()}

        def cell(values: list[str], index: int | None) -> str:
            return values[index] if index is not None and index < len(values) else ""

        rows = []
        for index, values in enumerate(cells):
            siret = re.sub(r"\D", "", cell(values, siret_at))
            if siret:
                rows.append(
                    (
                        StructureRow(
                            siret=siret, **{k: cell(values, i) for k, i in columns.items()}
                        ),
                        index,
                    )
                )
        return rows

    def announced_count(self) -> int | None:
        """The total the pager announces (`(14 ligne(s))`, `1 - 5 sur 14`), if it shows one."""
        return self.structures_table.announced_count()

    def next_page(self) -> Perceived:
        return self.structures_table.pager_control("next_page")

    def can_go_next(self) -> bool:
        # Kept for go_next: looking for the pager control costs more than the click.
        self._next = self.next_page().found()
        return self._next is not None and not is_disabled(self._next)

    def go_next(self, *, wait: bool = True) -> None:
        """`wait=False` returns once clicked, before the navigation it starts has committed:
        the caller then waits for the page to change, doing other work meanwhile."""
        control, self._next = self._next or self.next_page().best(), None
        control.click(no_wait_after=not wait)
