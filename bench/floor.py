"""The floor: bare Playwright visiting the pages the bot visits, with no bot logic.

Run as a script (`python bench/floor.py check SIRET` or `python bench/floor.py status`), so that
interpreter start-up counts as it does for `chorus-bot`. It imports Playwright only: no bot
module, so the floor pays nothing the bot adds. Settings come from the environment, set by the
harness: BENCH_PORTAL_URL, BENCH_USERNAME, BENCH_PASSWORD, BENCH_BROWSER, BENCH_ARGS (JSON list
of Chromium flags), BENCH_PAGE_SIZE (`max` picks the largest `lignes par page` option, to
measure that strategy; anything else keeps the portal's default, as the bot does), BENCH_SKIN
(the mock's markup: `modern`, the default, or `jsf2017`).

It prints one line per structure read (`SIRET<TAB>characters of page text`), then `read N`, for
the harness to check that it did visit every page. It assumes the happy path of the mock portal
(Chorus Pro in the same tab, no second factor): a floor, not a bot. On `jsf2017` it uses that
skin's known markup (field names, the structures table's id, the paginator's class) where the
bot has to perceive: a baseline, not what the bot may do.
"""

from __future__ import annotations

import json
import os
import re
import sys

from playwright.sync_api import sync_playwright

# Either apostrophe (jsf2017 sets French typography: ’), any white space (modern breaks the
# line inside it).
_EXPIRY = re.compile(r"Expiration\s+du\s+mot\s+de\s+passe\s+de\s+l.utilisateur\s+technique")
_JSF = os.environ.get("BENCH_SKIN") == "jsf2017"
# jsf2017: the page holds two data tables headed `Identifiant structure` and layout tables
# around them; the structures' one and its paginator are known by the ids JSF gives them.
_JSF_TABLE = '[id="formGestionnaire:tableStructures"] table[role=grid]'
_JSF_NEXT = (
    '[id="formGestionnaire:tableStructures_paginator_top"] '
    ".ui-paginator-next:not(.ui-state-disabled)"
)


def _log_in(page, url: str, username: str, password: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    if _JSF:  # labels sit in the form table's previous cell, not in a <label>
        page.locator("input[name=identifiant]").fill(username)
        page.locator("input[name=secret]").fill(password)
    else:
        page.get_by_label("Identifiant").fill(username)
        page.get_by_label("Mot de passe").fill(password)
    with page.expect_navigation(wait_until="commit"):
        page.get_by_role("button", name="Connexion").click()
    with page.expect_navigation(wait_until="commit"):
        page.get_by_role("link", name="Chorus Pro", exact=True).click()
    with page.expect_navigation(wait_until="commit"):
        page.get_by_role("link", name="Activités du gestionnaire").first.click()


def _table(page):
    if _JSF:
        return page.locator(_JSF_TABLE)
    return page.get_by_role("table").filter(has_text="Identifiant structure")


def _row(page, siret: str):
    rows = _table(page).locator("tbody tr") if _JSF else _table(page).get_by_role("row")
    return rows.filter(has_text=siret)


def _largest_page_size(page) -> None:
    select = page.get_by_label("lignes par page").first
    if not select.count():
        return
    values = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    best = max(values, key=lambda v: int(v) if v.isdigit() else 0)
    if best == select.input_value():
        return
    with page.expect_navigation(wait_until="commit"):
        select.select_option(best)


def _sirets(page) -> list[str]:
    cells = _table(page).locator("tbody tr td:first-child").all_inner_texts()
    return [re.sub(r"\D", "", cell) for cell in cells if re.sub(r"\D", "", cell)]


def _next_page(page) -> bool:
    link = page.locator(_JSF_NEXT) if _JSF else page.get_by_role("link", name="Page suivante")
    if not link.count():
        return False
    with page.expect_navigation(wait_until="commit"):
        link.click()
    _table(page).wait_for()
    return True


def _open_structure(page, siret: str) -> str:
    row = _row(page, siret)
    with page.expect_navigation(wait_until="commit"):
        # jsf2017: an icon-only button named `ui-button` (its `title` is only a description)
        (row.locator("button") if _JSF else row.get_by_role("button")).click()
    page.get_by_text(_EXPIRY).wait_for()
    return page.locator("body").inner_text()


def check(page, siret: str) -> int:
    _table(page).wait_for()
    while not _row(page, siret).count():
        if not _next_page(page):
            raise SystemExit(f"floor: {siret} not found")
    print(f"{siret}\t{len(_open_structure(page, siret))}")
    return 1


def status(page) -> int:
    _table(page).wait_for()
    if os.environ.get("BENCH_PAGE_SIZE") == "max":
        _largest_page_size(page)
        _table(page).wait_for()
    read = 0
    while True:
        sirets = _sirets(page)
        for siret in sirets:
            print(f"{siret}\t{len(_open_structure(page, siret))}")
            read += 1
            page.go_back(wait_until="commit")
            _row(page, siret).wait_for()
        if not _next_page(page):
            return read


def main(argv: list[str]) -> None:
    mode = argv[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("BENCH_BROWSER") or None,
            headless=True,
            args=json.loads(os.environ.get("BENCH_ARGS", "[]")),
        )
        context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
        page = context.new_page()
        _log_in(
            page,
            os.environ["BENCH_PORTAL_URL"],
            os.environ["BENCH_USERNAME"],
            os.environ["BENCH_PASSWORD"],
        )
        read = check(page, argv[1]) if mode == "check" else status(page)
        print(f"read {read}")
        context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
