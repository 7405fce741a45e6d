"""The limit: bare Playwright reading the same structures by direct navigation, N tabs at once.

Run as a script (`python bench/limit.py status N`), like bench/floor.py, so that interpreter
start-up counts as it does for `chorus-bot`. It imports Playwright only, and does what the
bot's strategy needs and nothing else: log in, open `Mes structures`, walk its pages once
reading each row's link or GET form target, and meanwhile let N tabs (asyncio tasks of the
async API, the fastest Playwright offers) go to those pages and read their text. Same
environment as the floor (BENCH_PORTAL_URL, BENCH_USERNAME, BENCH_PASSWORD, BENCH_BROWSER,
BENCH_ARGS); the harness gives it the bot's launch flags, so it skips images and fonts too.

It prints one line per structure read, then `read N`. Happy path of the mock only: a limit,
not a bot (no error handling, no perception, no JSF post-backs).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys

from playwright.async_api import async_playwright

_EXPIRY = "Expiration du mot de passe de l'utilisateur technique"
_DONE = object()

# Each data row's SIRET and where its (only) control leads: a link, or a GET form's URL.
_ROWS_JS = """(table) => Array.from(table.querySelectorAll('tbody tr')).map(r => {
  const siret = (r.cells[0] ? r.cells[0].innerText : '').replace(/\\D/g, '');
  const link = r.querySelector('a[href]');
  if (link) return [siret, link.href];
  const form = r.querySelector('form');
  if (!form) return [siret, null];
  const u = new URL(form.action);
  u.search = new URLSearchParams(new FormData(form)).toString();
  return [siret, u.href];
})"""


async def _log_in(page, url: str, username: str, password: str) -> None:
    await page.goto(url, wait_until="domcontentloaded")
    await page.get_by_label("Identifiant").fill(username)
    await page.get_by_label("Mot de passe").fill(password)
    async with page.expect_navigation(wait_until="commit"):
        await page.get_by_role("button", name="Connexion").click()
    async with page.expect_navigation(wait_until="commit"):
        await page.get_by_role("link", name="Chorus Pro", exact=True).click()
    async with page.expect_navigation(wait_until="commit"):
        await page.get_by_role("link", name="Activités du gestionnaire").first.click()


def _table(page):
    return page.get_by_role("table").filter(has_text="Identifiant structure")


async def _walk(page, queue: asyncio.Queue, readers: int) -> None:
    seen: set[str] = set()
    while True:
        await _table(page).wait_for()
        rows = await _table(page).evaluate(_ROWS_JS)
        fresh = [(siret, url) for siret, url in rows if siret and siret not in seen]
        for siret, url in fresh:
            seen.add(siret)
            await queue.put((siret, url))
        link = page.get_by_role("link", name="Page suivante")
        if not fresh or not await link.count():
            break
        first = fresh[0][0]
        async with page.expect_navigation(wait_until="commit"):
            await link.click()
        await _table(page).get_by_role("row").filter(has_text=first).wait_for(state="detached")
    for _ in range(readers):
        await queue.put(_DONE)


async def _read(context, queue: asyncio.Queue, out: list[str]) -> None:
    page = await context.new_page()
    while (item := await queue.get()) is not _DONE:
        siret, url = item
        await page.goto(url, wait_until="domcontentloaded")
        await page.get_by_text(_EXPIRY).wait_for()
        text = await page.locator("body").inner_text()
        out.append(f"{siret}\t{len(text)}")
    await page.close()


async def status(readers: int) -> int:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=os.environ.get("BENCH_BROWSER") or None,
            headless=True,
            args=json.loads(os.environ.get("BENCH_ARGS", "[]")),
        )
        context = await browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
        page = await context.new_page()
        await _log_in(
            page,
            os.environ["BENCH_PORTAL_URL"],
            os.environ["BENCH_USERNAME"],
            os.environ["BENCH_PASSWORD"],
        )
        queue: asyncio.Queue = asyncio.Queue()
        out: list[str] = []
        await asyncio.gather(
            _walk(page, queue, readers), *(_read(context, queue, out) for _ in range(readers))
        )
        print("\n".join(out))
        await context.close()
        await browser.close()
        return len(out)


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] != "status" or not re.fullmatch(r"[1-9]", argv[1]):
        raise SystemExit("usage: limit.py status READERS")
    print(f"read {asyncio.run(status(int(argv[1])))}")


if __name__ == "__main__":
    main(sys.argv[1:])
