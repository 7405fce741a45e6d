"""The documented path: Chorus Pro → Activités du gestionnaire → Mes structures → the
structure's page → `Réinitialiser le mot de passe (utilisateur technique)`.

The login, second factor and Chorus Pro's home are shared with the `Raccordements` path
(flows/raccordements_path.py) and live in flows/entry.py; their names are kept here too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bot.errors import (
    ChorusBotError,
    NoTechnicalUser,
    PasswordNotShown,
    PortalError,
    StructureNotFound,
)
from bot.i18n import N_, T

# The shared steps, under the names other code imports from here (see __all__).
from flows.entry import (
    POLL_MS,
    back_to_chorus_home,
    enter_chorus_pro,
    follow_chorus_pro,
    log_in,
    open_chorus_pro,
    pass_second_factor,
    submit_login,
)
from flows.models import (
    NewPassword,
    ResetOutcome,
    StructureRow,
    StructuresWalk,
    TechnicalStatus,
)
from flows.pages.chorus_home import ChorusHomePage
from flows.pages.manager_activities import ManagerActivitiesPage
from flows.pages.reset_result import NewPasswordScreen, ResetConfirmation
from flows.pages.structure import StructurePage
from flows.perceive import Target
from flows.readers import Job, OnFailure, ReaderPool
from flows.session import Arrival, PortalSession

_POLL_MS = POLL_MS

__all__ = [
    "ResetOutcome",
    "StructuresWalk",
    "back_to_chorus_home",
    "check_structure",
    "each_structure_status",
    "enter_chorus_pro",
    "find_structure",
    "follow_chorus_pro",
    "list_structures",
    "log_in",
    "next_structures_page",
    "open_chorus_pro",
    "open_manager_activities",
    "page_through",
    "pass_second_factor",
    "read_status",
    "reset_password",
    "reset_structure",
    "submit_login",
]


def _chorus_home(session: PortalSession) -> str:
    return T("Chorus Pro's menu entry {value}", value=session.texts.describe("manager_activities"))


def _next_page_control(session: PortalSession) -> str:
    return T(
        "the next page of `Mes structures` ({value})", value=session.texts.describe("next_page")
    )


def _structures_table(session: PortalSession) -> str:
    return T(
        "the `Mes structures` table (header {value})",
        value=session.texts.describe("structures_header"),
    )


def _structure_block(session: PortalSession) -> str:
    texts = session.texts
    return T(
        "the structure page ({value} or {value2})",
        value=texts.describe("users_block"),
        value2=texts.describe("expiry"),
    )


def open_manager_activities(session: PortalSession) -> ManagerActivitiesPage:
    with session.step(N_("Activités du gestionnaire"), _chorus_home(session)):
        ChorusHomePage(session.page, session.texts).open_manager_activities()
        session.settle()
    with session.step(N_("Mes structures"), _structures_table(session)):
        activities = ManagerActivitiesPage(session.page, session.texts)
        activities.wait_until_shown()
        return activities


def find_structure(session: PortalSession, siret: str) -> StructurePage:
    activities = open_manager_activities(session)
    with session.step(N_("Mes structures"), T("the row of structure {siret}", siret=siret)):
        # The usual case, a row on the first page with its one control, in one look; the
        # rows are read and paged through only when that look cannot tell.
        control = activities.shown_structure_control(siret)
        if control is None:
            seen = page_through(session, activities, stop_at=siret)
            if siret not in seen and not activities.has_row_for(siret):
                raise StructureNotFound(
                    T(
                        "structure {siret} is not in `Mes structures` ({seen} structure(s) seen)",
                        siret=siret,
                        seen=len(seen),
                    ),
                    hint=T("check the SIRET, and that this manager account manages the structure"),
                )
    # The click is this step's: a slow structure page must not be blamed on the list.
    with session.step(N_("structure page"), _structure_block(session)):
        activities.open_structure(siret, control)
        session.settle()
        structure = StructurePage(session.page, session.texts)
        structure.wait_until_shown()
        return structure


def list_structures(session: PortalSession) -> list[StructureRow]:
    activities = open_manager_activities(session)
    with session.step(N_("Mes structures"), _next_page_control(session)):
        rows: list[StructureRow] = []
        page_through(session, activities, collect=rows)
        return rows


def page_through(
    session: PortalSession,
    activities: ManagerActivitiesPage,
    *,
    stop_at: str | None = None,
    collect: list[StructureRow] | None = None,
) -> set[str]:
    """Walks the pages until `stop_at` shows or the last page; returns the SIRETs seen."""
    seen_sirets: set[str] = set()
    while True:
        rows = activities.read_rows()
        fresh = [row for row in rows if row.siret not in seen_sirets]
        seen_sirets.update(row.siret for row in rows)
        if collect is not None:
            collect.extend(fresh)
        # The rows just read answer at once; the row's own text only when its SIRET column
        # did not (a page writing the SIRET elsewhere in the row).
        shown = {row.siret for row in rows}
        if stop_at and (stop_at in shown or activities.has_row_for(stop_at)):
            return seen_sirets
        # A pager that leads back to rows already seen would loop for ever.
        if not fresh or not activities.can_go_next():
            return seen_sirets
        next_structures_page(session, activities)


def _wait_for_page_change(activities: ManagerActivitiesPage, first_before: str) -> None:
    """A pager may redraw the table in place (no navigation): wait until its rows change."""
    if not first_before:
        return
    activities.wait_until_row_gone(first_before)


def read_status(session: PortalSession, structure: StructurePage, siret: str) -> TechnicalStatus:
    texts = session.texts
    with session.step(N_("structure page"), T("the technical user and expiry lines")):
        status = structure.read_status(siret)
        if status is None and not structure.has_technical_user():
            raise NoTechnicalUser(
                T(
                    "structure {siret} has no technical user (no line {value} on its page)",
                    siret=siret,
                    value=texts.describe("technical_user"),
                ),
                hint=T(
                    "a connector needs one to use the API: create it in Chorus Pro "
                    "(Raccordements, Compte technique), then run again"
                ),
            )
        if status is None:
            raise PortalError(
                T(
                    "the structure page shows no {value} or no date after {value2}",
                    value=texts.describe("technical_user"),
                    value2=texts.describe("expiry"),
                ),
                hint=T("if the portal renamed these lines, set them in the config file's [texts]"),
            )
        logger.debug(
            "{}: technical user {}, expires {:%d/%m/%Y %H:%M}",
            siret,
            status.login,
            status.expires_at,
        )
        return status


def check_structure(session: PortalSession, home_url: str, siret: str) -> TechnicalStatus:
    back_to_chorus_home(session, home_url)
    structure = find_structure(session, siret)
    return read_status(session, structure, siret)


def _no_diagnosis(session: PortalSession, siret: str, error: ChorusBotError) -> None:
    return None


def each_structure_status(
    session: PortalSession,
    home_url: str,
    wanted: set[str] | None = None,
    walk: StructuresWalk | None = None,
    *,
    readers: int = 0,
    on_failure: OnFailure = _no_diagnosis,
) -> Iterator[tuple[str, TechnicalStatus | ChorusBotError]]:
    """Reads every structure of `Mes structures` (or the `wanted` ones), walking the pages once.

    With `readers` >= 1 this tab only walks the list: each row's target (the URL its control
    leads to, or its form) goes to that many reader tabs, which load one page per structure,
    at the same time. With 0, or for a row that only a click opens, this tab opens the
    structure and comes back to the list (two page loads), as `reset` does.

    A structure whose page fails yields its error (after `on_failure` has seen its tab) and
    the walk goes on; a dead browser stops it. Results come as they are read, in no order.
    `walk` records what the list showed, so that the caller can tell "all read" from "none".
    """
    back_to_chorus_home(session, home_url)
    activities = open_manager_activities(session)
    if readers:
        _show_most_rows(session, activities)
    remaining = set(wanted) if wanted is not None else None
    walk = walk if walk is not None else StructuresWalk()
    seen = walk.seen
    pool = (
        ReaderPool(session, readers, home_url=home_url, read=_read_arrived, on_failure=on_failure)
        if readers
        else None
    )
    try:
        page_number = 1
        while remaining is None or remaining:
            with session.step(N_("Mes structures"), _structures_table(session)):
                found = _rows_and_targets(activities, with_targets=pool is not None)
                rows = [row for row, _ in found if row.siret not in seen]
                targets = {row.siret: _reusable(row.siret, target) for row, target in found}
                if pool is not None:
                    yield from pool.ready()
                    walk.note_announced(activities.announced)
                else:
                    walk.note_announced(activities.announced_count())
            seen.update(row.siret for row in rows)
            for row in rows:
                if remaining is not None and row.siret not in remaining:
                    continue
                if remaining is not None:
                    remaining.discard(row.siret)
                target = targets.get(row.siret)
                if pool is not None and target is not None:
                    pool.submit(Job(row.siret, target, page_number))
                    yield from pool.ready()
                    continue
                outcome = _status_from_list(session, activities, row.siret)
                if isinstance(outcome, ChorusBotError):
                    on_failure(session, row.siret, outcome)
                yield row.siret, outcome
                activities = _back_to_list(session, home_url, row.siret, page_number)
            if pool is not None and pool.holds_posts():
                # A posted form carries its list page's view state, which a JSF portal
                # forgets after some pages: read them before the list moves on.
                yield from pool.drain()
            with session.step(N_("Mes structures"), _next_page_control(session)):
                if not rows or not activities.can_go_next():
                    break
                if pool is not None:
                    yield from pool.ready()
                if pool is None:
                    next_structures_page(session, activities)
                else:
                    yield from _next_page_serving(session, activities, pool, found[0][0].siret)
                page_number += 1
        if pool is not None:
            yield from pool.drain()
            yield from _retry_posts(session, home_url, pool, on_failure)
    finally:
        if pool is not None:
            pool.close()
    for siret in sorted(remaining or ()):
        missing = StructureNotFound(
            T(
                "structure {siret} is not in `Mes structures` ({count} structure(s) seen)",
                siret=siret,
                count=len(seen),
            ),
            step=T("Mes structures"),
            hint=T("check the SIRET, and that this manager account manages the structure"),
        )
        # The list's last page, as it was shown: what the user compares the SIRET with.
        on_failure(session, siret, missing)
        yield siret, missing


def _rows_and_targets(
    activities: ManagerActivitiesPage, *, with_targets: bool
) -> list[tuple[StructureRow, Target | None]]:
    if with_targets:
        return activities.read_rows_with_targets()
    return [(row, None) for row in activities.read_rows()]


def _reusable(siret: str, target: Target | None) -> Target | None:
    """The target, when another tab can go there without a click."""
    if target is not None and target.reusable:
        return target
    if target is not None:
        logger.debug("{}: its control runs the page's own script; it is clicked", siret)
    return None


def _read_arrived(
    session: PortalSession, siret: str, arrival: Arrival
) -> TechnicalStatus | ChorusBotError:
    """In a reader tab: the structure page it went to, once parsed.

    A parsed page that already holds both lines is read at once (one look at its text); any
    other page gets every check of the serial walk (server error, login page, the page's
    own script still drawing it, the structure without a technical user).
    """
    try:
        with session.step(N_("structure page"), _structure_block(session)):
            arrival.wait()
            if session.last_status is not None and 400 <= session.last_status < 500:
                raise PortalError(
                    T(
                        "the portal answered HTTP {status} for the page of structure {siret}",
                        status=session.last_status,
                        siret=siret,
                    ),
                    hint=T(
                        "run again; if it keeps happening, run with --concurrency 1 and look "
                        "at the run folder"
                    ),
                )
            structure = StructurePage(session.page, session.texts)
            if (session.last_status or 200) < 400:
                status = structure.read_status(siret)
                if status is not None:
                    logger.debug(
                        "{}: technical user {}, expires {:%d/%m/%Y %H:%M}",
                        siret,
                        status.login,
                        status.expires_at,
                    )
                    return status
            session.settle()
            structure.wait_until_shown()
        return read_status(session, structure, siret)
    except ChorusBotError as error:
        if error.ends_run:
            raise
        return error


def _retry_posts(
    session: PortalSession, home_url: str, pool: ReaderPool, on_failure: OnFailure
) -> Iterator[tuple[str, TechnicalStatus | ChorusBotError]]:
    """Posted forms that failed, once more from their list page shown anew."""
    failed, pool.failed_posts = pool.failed_posts, []
    pages: dict[int, list[tuple[Job, ChorusBotError]]] = {}
    for job, error in failed:
        pages.setdefault(job.page_number, []).append((job, error))
    for page_number, jobs in sorted(pages.items()):
        activities = _reopen_list(session, home_url, page_number)
        for job, error in jobs:
            with session.step(
                N_("Mes structures"), T("the row of structure {siret}", siret=job.siret)
            ):
                targets = {row.siret: t for row, t in activities.read_rows_with_targets()}
            target = _reusable(job.siret, targets.get(job.siret))
            if target is None:
                on_failure(session, job.siret, error)
                yield job.siret, error
                continue
            pool.submit(Job(job.siret, target, page_number, retry=True))
        yield from pool.drain()


def _status_from_list(
    session: PortalSession, activities: ManagerActivitiesPage, siret: str
) -> TechnicalStatus | ChorusBotError:
    try:
        with session.step(N_("Mes structures"), T("the row of structure {siret}", siret=siret)):
            activities.open_structure(siret)
        with session.step(N_("structure page"), _structure_block(session)):
            session.settle()
            structure = StructurePage(session.page, session.texts)
            structure.wait_until_shown()
        return read_status(session, structure, siret)
    except ChorusBotError as error:
        if error.ends_run:
            raise
        return error


def _back_to_list(
    session: PortalSession, home_url: str, siret: str, page_number: int
) -> ManagerActivitiesPage:
    """Back on the list page we came from; a pager drawn by script may need walking again."""
    with session.step(N_("Mes structures"), _structures_table(session)):
        session.page.go_back()
        session.settle()
        activities = ManagerActivitiesPage(session.page, session.texts)
        activities.wait_until_shown()
        if activities.has_row_for(siret):
            return activities
    return _reopen_list(session, home_url, page_number)


def _next_page_serving(
    session: PortalSession, activities: ManagerActivitiesPage, pool: ReaderPool, first: str
) -> Iterator[tuple[str, TechnicalStatus | ChorusBotError]]:
    """`_next_page`, serving the reader tabs while the list loads: otherwise each would sit
    idle, its page read, until the list is back. `first` is the SIRET of the page's first row.
    """
    gone = activities.row_gone(first)
    activities.go_next(wait=False)
    yield from _serving(pool, gone, session)
    yield from _serving(
        pool, lambda ms: session.page.wait_for_load_state("domcontentloaded", timeout=ms), session
    )
    yield from pool.ready()
    session.settle()
    yield from pool.ready()
    activities.wait_until_shown()


def _serving(
    pool: ReaderPool, wait: Callable[[float], None], session: PortalSession
) -> Iterator[tuple[str, TechnicalStatus | ChorusBotError]]:
    """`wait` in short slices within the session's timeout, reading the tabs that are done
    and starting their next structure between two slices."""
    deadline = time.monotonic() + session.timeout_ms / 1000
    while True:
        try:
            wait(_POLL_MS)
            return
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise
        yield from pool.ready()


def _show_most_rows(session: PortalSession, activities: ManagerActivitiesPage) -> None:
    """The largest `lignes par page`, when the list has more rows than it shows and each row
    leads to a plain URL: with reader tabs the list is then only walked, and every page turn
    is a page load (with its stylesheets and scripts) shared with the reader tabs. Not for
    rows that post the list's form (JSF): a portal keeps a few views of a page, and a long
    page's last rows would come back expired. An optimisation only: a list that offers no
    page size, or does not redraw, is walked as it is."""
    with session.step(N_("Mes structures"), _structures_table(session)):
        try:
            rows = activities.read_rows_with_targets()
            plain = all(t is not None and t.reusable and t.method == "get" for _, t in rows)
            shown, total = len(rows), activities.announced
            option = activities.largest_page_size() if plain else None
            if option is None or total is None or total <= shown:
                return
            activities.show_page_size(option)
            activities.wait_for_more_rows(shown)
            session.settle()
            logger.debug("Mes structures: {} rows a page", option.text)
        except PlaywrightError as error:
            logger.debug("page size left as it was: {}", str(error).splitlines()[0])
        activities.wait_until_shown()


def _reopen_list(session: PortalSession, home_url: str, page_number: int) -> ManagerActivitiesPage:
    """`Mes structures` from the menu again, paged to `page_number`. Only posted rows are
    retried from it, and a list whose rows post keeps its page size (`_show_most_rows`), so
    the page numbers are the walk's."""
    back_to_chorus_home(session, home_url)
    activities = open_manager_activities(session)
    with session.step(N_("Mes structures"), _next_page_control(session)):
        for _ in range(page_number - 1):
            next_structures_page(session, activities)
    return activities


def next_structures_page(session: PortalSession, activities: ManagerActivitiesPage) -> None:
    rows = activities.read_rows()
    activities.go_next()
    session.settle()
    activities.wait_until_shown()
    _wait_for_page_change(activities, rows[0].siret if rows else "")


def reset_structure(
    session: PortalSession,
    home_url: str,
    siret: str,
    *,
    before_reset: Callable[[TechnicalStatus], bool],
    on_password: Callable[[NewPassword, TechnicalStatus], None],
) -> ResetOutcome | TechnicalStatus:
    """Reads the status, resets, hands the new password over, reads the expiry again.

    `before_reset` decides whether to go on (it returns False to stop with the status alone).
    `on_password` must keep the password safe before anything else can fail.
    """
    back_to_chorus_home(session, home_url)
    structure = find_structure(session, siret)
    before = read_status(session, structure, siret)
    structure_url = session.url
    if not before_reset(before):
        return before
    new_password = reset_password(session, structure, before)
    on_password(new_password, before)
    with session.step(N_("expiry re-read"), _structure_block(session)):
        session.page.goto(structure_url)
        session.settle()
        structure = StructurePage(session.page, session.texts)
        structure.wait_until_shown()
    after = read_status(session, structure, siret)
    return ResetOutcome(before=before, after=after)


def reset_password(
    session: PortalSession, structure: StructurePage, before: TechnicalStatus
) -> NewPassword:
    page = session.page
    confirmation = ResetConfirmation(page, session.texts)
    screen = NewPasswordScreen(page, session.texts)
    expecting = T("the button {value}", value=session.texts.describe("reset_button"))
    with session.step(N_("reset"), expecting):
        if not structure.has_reset_button():
            raise PortalError(
                T(
                    "the structure page has no button {value}",
                    value=session.texts.describe("reset_button"),
                ),
                hint=T(
                    "only the Gestionnaire principal can reset: check the account's role; "
                    "if the portal renamed the button, set it in the config file's [texts]"
                ),
            )
    with _reset_may_have_happened(before.siret):
        with session.step(N_("reset"), T("the confirmation or the new password")):
            page.on("dialog", ResetConfirmation.accept_browser_dialog)
            # Only the answer to the click counts, not the structure page's status.
            session.last_status = None
            try:
                structure.click_reset()
                appeared = _confirm_if_asked(session, confirmation, screen)
            finally:
                page.remove_listener("dialog", ResetConfirmation.accept_browser_dialog)
        with session.step(
            N_("new password"), T("the {value}", value=session.texts.describe("new_password"))
        ):
            session.settle()
            try:
                # The reset step already waited the whole timeout when nothing appeared.
                screen.shown.wait_for(timeout=None if appeared else _POLL_MS)
            except PlaywrightTimeoutError:
                raise PasswordNotShown(
                    T("the portal showed no new password after the reset")
                ) from None
            password = screen.read_password()
            if not password:
                raise PasswordNotShown(T("the reset screen holds no readable new password"))
            return NewPassword(siret=before.siret, login=before.login, password=password)


@contextmanager
def _reset_may_have_happened(siret: str) -> Iterator[None]:
    """After the click nobody knows whether the portal changed the password: say what to do."""
    try:
        yield
    except ChorusBotError as error:
        error.reset_may_have_happened = True
        error.hint = T(
            "the reset may have happened: run `chorus-bot check --structure {siret}`; if the "
            "expiry moved, the old password no longer works: reset again with "
            "`chorus-bot reset --force`",
            siret=siret,
        )
        raise


def _confirm_if_asked(
    session: PortalSession, confirmation: ResetConfirmation, screen: NewPasswordScreen
) -> bool:
    """A browser dialog is accepted by the listener; an in-page one needs its button clicked.

    Returns whether a confirmation or the new password appeared within the timeout.
    """
    deadline = time.monotonic() + session.timeout_ms / 1000
    while True:
        try:
            confirmation.confirm.union.or_(screen.shown).first.wait_for(timeout=_POLL_MS)
            break
        except PlaywrightTimeoutError:
            if session.last_status is not None and session.last_status >= 500:
                session.settle()  # raises: the server error is the news, not a timeout
            if time.monotonic() > deadline:
                # Nothing to confirm and no password: the next step reports it at once.
                return False
    if confirmation.is_shown():
        confirmation.click_confirm()
    return True
