"""`doctor`: the documented path walked read-only, one result per step.

Every step looks for its element the way the other flows do (the same page objects, the same
`[texts]`), is timed, and ends found / not found. The walk goes on after a step that is not
found whenever the next one can still be reached, and stops where it cannot (no login form:
nothing after it is reached).

Nothing is changed on the portal: the reset button is found and never clicked, and no
confirmation is ever answered (Playwright dismisses a browser dialog nobody listens to).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

from playwright.sync_api import Error as PlaywrightError

from bot.errors import BrowserError, ChorusBotError, PortalError
from bot.i18n import N_, T
from flows.gestionnaire_path import (
    StructuresWalk,
    back_to_chorus_home,
    follow_chorus_pro,
    next_structures_page,
    open_manager_activities,
    page_through,
    pass_second_factor,
    submit_login,
)
from flows.models import ManagerLogin, StructureRow
from flows.pages.applications import ApplicationsPage
from flows.pages.chorus_home import ChorusHomePage
from flows.pages.login import LoginPage
from flows.pages.manager_activities import ManagerActivitiesPage
from flows.pages.second_factor import SecondFactorPage
from flows.pages.structure import StructurePage
from flows.perceive import Perceived
from flows.session import PortalSession
from flows.texts import Texts

# A status is also a CSS class of the report: it stays English; `_(status)` shows it.
FOUND = N_("found")
NOT_FOUND = N_("not found")
NOT_ASKED = N_("not asked")  # the portal asked no second factor
NOT_NEEDED = N_("not needed")  # one page of structures: no pager to follow
NOT_REACHED = N_("not reached")  # an earlier step failed and this one cannot be reached
OK_STATUSES = (FOUND, NOT_ASKED, NOT_NEEDED)
# Without --structure, how many structures are opened to find one with a technical user.
MAX_TRIED = 10


@dataclass
class DoctorStep:
    """One thing the bot looks for, and what it found."""

    name: str  # shown to the user and in the report; the `[texts]` key when there is one
    title: str  # what a person calls it
    phase: str  # the step of the real flows it belongs to (`login`, `Mes structures`, …)
    looked_for: str  # the text(s) looked for and their `[texts]` keys
    status: str = NOT_REACHED
    matched: str = ""  # role and perceived name of what matched
    detail: str = ""
    ms: int | None = None
    screen: str = ""  # the screen it was seen on; steps of one screen share a screenshot
    url: str = ""
    last_on_screen: bool = False  # the caller takes that screen's screenshot now

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES


def planned_steps(texts: Texts) -> list[DoctorStep]:
    """Every step of the walk, in order, each saying what it looks for."""
    d = texts.describe
    return [
        DoctorStep("login_identifiant", T("login page: identifiant field"), "login",
                   T("a field labelled {text}", text=d("login_identifiant"))),
        DoctorStep("login_password", T("login page: password field"), "login",
                   T("a field labelled {text}, or the masked field", text=d("login_password"))),
        DoctorStep("login_submit", T("login page: button"), "login",
                   T("a button {text}", text=d("login_submit"))),
        DoctorStep("second_factor_code", T("second factor: code field"), "second factor",
                   T("a field labelled {text}, when the portal asks",
                     text=d("second_factor_code"))),
        DoctorStep("second_factor_submit", T("second factor: button"), "second factor",
                   T("a button {text}", text=d("second_factor_submit"))),
        DoctorStep("applications_title", T("application list"), "application list",
                   T("the title {text}, after the login", text=d("applications_title"))),
        DoctorStep("chorus_pro", T("application list: Chorus Pro"), "application list",
                   T("a link {text}", text=d("chorus_pro"))),
        DoctorStep("manager_activities", T("Chorus Pro home: menu entry"), "Chorus Pro home",
                   T("a menu entry {text}", text=d("manager_activities"))),
        DoctorStep("structures_header", T("Mes structures: the table"), "Mes structures",
                   T("the table whose header reads {text}, under the title {title} when the page "
                     "shows it", text=d("structures_header"), title=d("structures_section"))),
        DoctorStep("next_page", T("Mes structures: the pager"), "Mes structures",
                   T("a pager control {text}, when there is more than one page",
                     text=d("next_page"))),
        DoctorStep("structures_list", T("Mes structures: every page"), "Mes structures",
                   T("every row of every page, as many as the page announces")),
        DoctorStep("open_structure", T("a structure's page"), "structure page",
                   T("the structure's row and its control {text}, then its page ({block} or "
                     "{expiry})", text=d("open_structure"), block=d("users_block"),
                     expiry=d("expiry"))),
        DoctorStep("users_block", T("structure page: users block"), "structure page",
                   T("the text {text}", text=d("users_block"))),
        DoctorStep("technical_user", T("structure page: technical user"), "structure page",
                   T("the line {text} and the login after it", text=d("technical_user"))),
        DoctorStep("expiry", T("structure page: expiry"), "structure page",
                   T("the line {text} and the date after it", text=d("expiry"))),
        DoctorStep("reset_button", T("structure page: reset button (never clicked)"), "reset",
                   T("a button {text}", text=d("reset_button"))),
    ]  # fmt: skip


def doctor_walk(
    session: PortalSession, start_url: str, manager: ManagerLogin, siret: str | None = None
) -> Iterator[DoctorStep]:
    """Yields every planned step once decided, in order; those never reached come last.

    When a step has `last_on_screen`, the page still shows that screen: the caller may take
    its screenshot before asking for the next step.
    """
    steps = planned_steps(session.texts)
    reported: set[str] = set()
    walker = _Walker(session, {step.name: step for step in steps})
    for step in walker.walk(start_url, manager, siret):
        reported.add(step.name)
        yield step
    for step in steps:
        if step.name not in reported:
            yield step


class _Stop(Exception):
    """Nothing after this step can be reached."""


class _Walker:
    def __init__(self, session: PortalSession, steps: dict[str, DoctorStep]) -> None:
        self.session = session
        self.texts = session.texts
        self.steps = steps
        self.home_url = ""
        self.rows: list[StructureRow] = []

    # -- helpers --------------------------------------------------------------------------

    def _attempt(
        self,
        step: DoctorStep,
        action: Callable[[], object],
        *,
        started: float,
        phase: str | None = None,
    ) -> bool:
        """Runs what the step needs; an error makes it `not found`, with the error's words.

        `phase` names the real flow's step when it is not the step's own: during `login` the
        login page is expected, elsewhere it means the session expired.
        """
        try:
            with self.session.step(phase or step.phase, step.looked_for):
                action()
            return True
        except ChorusBotError as error:
            if error.ends_run and not isinstance(error, BrowserError):
                raise  # interrupted: the user said stop
            self._decide(step, NOT_FOUND, started, detail=error.message)
            if isinstance(error, BrowserError):
                raise _Stop from None
            return False

    def _decide(
        self,
        step: DoctorStep,
        status: str,
        started: float,
        *,
        matched: str = "",
        detail: str = "",
        screen: str | None = None,
    ) -> DoctorStep:
        step.status = status
        step.ms = round((time.monotonic() - started) * 1000)
        step.matched = matched or step.matched
        step.detail = detail or step.detail
        step.url = self.session.url
        if screen is not None:
            step.screen = screen
        return step

    def _look(self, step: DoctorStep, found: Perceived, started: float, screen: str) -> bool:
        """Present now (the page is shown): found, with what matched; else not found."""
        try:
            present = found.present()
            matched = found.what() if present else ""
        except PlaywrightError as error:
            present, matched = False, ""
            step.detail = T(
                "the browser reported an error: {value}", value=str(error).splitlines()[0]
            )
        self._decide(step, FOUND if present else NOT_FOUND, started, matched=matched, screen=screen)
        return present

    def _last(self, step: DoctorStep) -> DoctorStep:
        step.last_on_screen = True
        return step

    # -- the walk -------------------------------------------------------------------------

    def walk(
        self, start_url: str, manager: ManagerLogin, siret: str | None
    ) -> Iterator[DoctorStep]:
        try:
            yield from self._login(start_url, manager)
            yield from self._chorus_pro()
            activities = yield from self._structures()
            yield from self._structure(activities, siret)
        except _Stop:
            return

    def _login(self, start_url: str, manager: ManagerLogin) -> Iterator[DoctorStep]:
        steps = self.steps
        login = LoginPage(self.session.page, self.texts)
        screen = T("login page")
        started = time.monotonic()

        def open_login() -> None:
            login.open(start_url)
            self.session.settle()
            login.password.wait()

        if self._attempt(steps["login_password"], open_login, started=started):
            self._look(steps["login_password"], login.password, started, screen)
        steps["login_password"].screen = screen
        self._look(steps["login_identifiant"], login.identifiant, time.monotonic(), screen)
        self._look(steps["login_submit"], login.connect, time.monotonic(), screen)
        yield steps["login_identifiant"]
        yield steps["login_password"]
        yield self._last(steps["login_submit"])
        if not all(
            steps[name].ok for name in ("login_identifiant", "login_password", "login_submit")
        ):
            raise _Stop

        # The page after the login is the next step's: the list, or the code page.
        started = time.monotonic()
        applications = steps["applications_title"]
        if not self._attempt(
            applications,
            lambda: submit_login(self.session, login, manager),
            started=started,
            phase="login",
        ):
            applications.screen = T("after the login")
            yield self._last(applications)
            raise _Stop
        yield from self._second_factor(manager)

    def _second_factor(self, manager: ManagerLogin) -> Iterator[DoctorStep]:
        code_step, submit_step = (
            self.steps["second_factor_code"],
            self.steps["second_factor_submit"],
        )
        started = time.monotonic()
        second_factor = SecondFactorPage(self.session.page, self.texts)
        if not second_factor.is_shown():
            for step in (code_step, submit_step):
                self._decide(step, NOT_ASKED, started, detail=T("the portal asked for no code"))
                yield step
            return
        screen = T("second factor page")
        self._look(code_step, second_factor.code, started, screen)
        self._look(submit_step, second_factor.validate, time.monotonic(), screen)
        yield code_step
        yield self._last(submit_step)
        if not (code_step.ok and submit_step.ok):
            raise _Stop
        applications = self.steps["applications_title"]
        started = time.monotonic()
        if not self._attempt(
            applications,
            lambda: pass_second_factor(self.session, second_factor, manager),
            started=started,
            phase="second factor",
        ):
            applications.screen = T("after the code")
            yield self._last(applications)
            raise _Stop

    def _chorus_pro(self) -> Iterator[DoctorStep]:
        steps = self.steps
        screen = T("application list")
        applications = ApplicationsPage(self.session.page, self.texts)
        title, link = steps["applications_title"], steps["chorus_pro"]
        started = time.monotonic()
        if self._attempt(title, applications.title.wait, started=started):
            self._look(title, applications.title, started, screen)
        title.screen = screen
        self._look(link, applications.chorus_pro, time.monotonic(), screen)
        yield title
        yield self._last(link)
        if not link.ok:
            raise _Stop

        menu = steps["manager_activities"]
        started = time.monotonic()
        if not self._attempt(
            menu, lambda: follow_chorus_pro(self.session, applications), started=started
        ):
            menu.screen = T("Chorus Pro home")
            yield self._last(menu)
            raise _Stop
        self.home_url = self.session.url
        home = ChorusHomePage(self.session.page, self.texts)
        self._look(menu, home.manager_activities, started, T("Chorus Pro home"))
        yield self._last(menu)
        if not menu.ok:
            raise _Stop

    def _structures(self) -> Generator[DoctorStep, None, ManagerActivitiesPage]:
        """`Mes structures`, every page (rows kept in `self.rows`); returns the list page."""
        steps = self.steps
        table, pager, listing = (
            steps["structures_header"],
            steps["next_page"],
            steps["structures_list"],
        )
        started = time.monotonic()
        holder: list[ManagerActivitiesPage] = []
        if not self._attempt(
            table, lambda: holder.append(open_manager_activities(self.session)), started=started
        ):
            table.screen = "Mes structures"
            yield self._last(table)
            raise _Stop
        activities = holder[0]
        screen = "Mes structures, page 1"
        matched = activities.structures_table.what()
        if not matched:  # the title is there, and something else in the table's place
            self._decide(
                table,
                NOT_FOUND,
                started,
                screen=screen,
                detail=T(
                    "no such table under {title}", title=self.texts.describe("structures_section")
                ),
            )
            yield self._last(table)
            raise _Stop
        self._decide(table, FOUND, started, matched=matched, screen=screen)

        walk = StructuresWalk()
        rows = activities.read_rows()
        self.rows.extend(rows)
        walk.seen.update(row.siret for row in rows)
        walk.note_announced(activities.announced_count())

        started = time.monotonic()
        control = activities.next_page()
        has_next = control.present() and not control.is_disabled()
        pages = 1
        if has_next:
            self._decide(pager, FOUND, started, matched=control.what(), screen=screen)
            yield table
            yield self._last(pager)
            started = time.monotonic()

            def walk_pages() -> None:
                nonlocal pages
                while activities.can_go_next():
                    next_structures_page(self.session, activities)
                    pages += 1
                    fresh = [row for row in activities.read_rows() if row.siret not in walk.seen]
                    walk.note_announced(activities.announced_count())
                    if not fresh:
                        return  # a pager that leads back to rows already seen
                    self.rows.extend(fresh)
                    walk.seen.update(row.siret for row in fresh)

            self._attempt(listing, walk_pages, started=started)
            screen = f"Mes structures, page {pages}"
        else:
            more = walk.announced is not None and walk.announced > len(walk.seen)
            self._decide(
                pager,
                NOT_FOUND if more else NOT_NEEDED,
                started,
                screen=screen,
                detail=T(
                    "the page announces {announced} structures and shows {seen}, but has no "
                    "control to see the others",
                    announced=walk.announced,
                    seen=len(walk.seen),
                )
                if more
                else T("all the structures are on one page"),
            )
            yield table
            yield pager
            started = time.monotonic()

        seen, announced = len(self.rows), walk.announced
        summary = (
            T(
                "{seen} structure(s) seen on {pages} page(s), {announced} announced",
                seen=seen,
                pages=pages,
                announced=announced,
            )
            if announced is not None
            else T(
                "{seen} structure(s) seen on {pages} page(s), no count announced",
                seen=seen,
                pages=pages,
            )
        )
        if listing.status == NOT_FOUND:  # the pager broke down on the way
            listing.detail = T("{detail} ({summary})", detail=listing.detail, summary=summary)
        elif not seen:
            self._decide(listing, NOT_FOUND, started, detail=T("no structure could be read"))
        elif announced is not None and seen < announced:
            self._decide(
                listing,
                NOT_FOUND,
                started,
                matched=summary,
                detail=T(
                    "only {seen} of the {announced} structures the page announces were read",
                    seen=seen,
                    announced=announced,
                ),
            )
        else:
            self._decide(listing, FOUND, started, matched=summary)
        listing.screen = screen
        yield self._last(listing)
        if not self.rows:
            raise _Stop
        return activities

    def _structure(
        self, activities: ManagerActivitiesPage | None, siret: str | None
    ) -> Iterator[DoctorStep]:
        steps = self.steps
        opened = steps["open_structure"]
        known = [row.siret for row in self.rows]
        started = time.monotonic()
        if siret is not None and siret not in known:
            self._decide(
                opened,
                NOT_FOUND,
                started,
                screen="Mes structures",
                detail=T(
                    "structure {siret} is not in `Mes structures` ({seen} seen): check the "
                    "SIRET, and that this account manages it",
                    siret=siret,
                    seen=len(known),
                ),
            )
            yield self._last(opened)
            raise _Stop
        candidates = [siret] if siret is not None else known[:MAX_TRIED]
        passed_over: list[str] = []
        structure: StructurePage | None = None
        for candidate in candidates:
            structure = self._open_structure(activities, candidate, time.monotonic())
            if structure is None:
                yield self._last(opened)
                raise _Stop
            if siret is not None or structure.has_technical_user():
                break
            passed_over.append(candidate)
            activities = None  # the list is behind us: the next one is reached from the menu
        assert structure is not None
        if passed_over and len(passed_over) < len(candidates):
            opened.detail = T(
                "{detail}; passed over, no technical user: {sirets}",
                detail=opened.detail,
                sirets=", ".join(passed_over),
            )
        yield opened
        yield from self._structure_lines(structure, siret, len(candidates))

    def _open_structure(
        self, activities: ManagerActivitiesPage | None, siret: str, started: float
    ) -> StructurePage | None:
        """Back to the row of `siret` if the list is elsewhere, then its page. None: failed."""
        step = self.steps["open_structure"]
        control: list[Perceived] = []
        holder: list[StructurePage] = []

        def reach_row() -> None:
            nonlocal activities
            if activities is None or not activities.has_row_for(siret):
                back_to_chorus_home(self.session, self.home_url)
                activities = open_manager_activities(self.session)
                page_through(self.session, activities, stop_at=siret)
                if not activities.has_row_for(siret):
                    raise PortalError(
                        T("structure {siret} no longer shows in `Mes structures`", siret=siret)
                    )
            control.append(activities.structures_table.control_in_row(siret, "open_structure"))

        def open_page() -> None:
            control[0].click()
            self.session.settle()
            structure = StructurePage(self.session.page, self.texts)
            structure.wait_until_shown()
            holder.append(structure)

        if not self._attempt(step, reach_row, started=started):
            step.screen = "Mes structures"
            return None
        try:
            matched = control[0].what() if control[0].present() else ""
        except PlaywrightError:
            matched = ""
        if not matched:
            self._decide(
                step,
                NOT_FOUND,
                started,
                screen="Mes structures",
                detail=T("the row of structure {siret} has no control to open it", siret=siret),
            )
            return None
        screen = T("structure {siret}", siret=siret)
        if not self._attempt(step, open_page, started=started):
            step.matched, step.screen = matched, screen
            return None
        self._decide(step, FOUND, started, matched=matched, screen=screen)
        step.detail = T("structure {siret}", siret=siret)
        return holder[0]

    def _structure_lines(
        self, structure: StructurePage, siret: str | None, tried: int
    ) -> Iterator[DoctorStep]:
        steps = self.steps
        screen = steps["open_structure"].screen
        self._look(steps["users_block"], structure.users_section, time.monotonic(), screen)
        yield steps["users_block"]

        technical = steps["technical_user"]
        started = time.monotonic()
        login = structure.technical_login()
        if login is not None and structure.technical_user_line.present():
            self._decide(
                technical,
                FOUND,
                started,
                screen=screen,
                matched=structure.technical_user_line.what(),
                detail=T("login {login}", login=login),
            )
        else:
            nobody = not structure.has_technical_user()
            if nobody and siret is None:
                detail = T(
                    "none of the {tried} first structure(s) of `Mes structures` has a "
                    "technical user: run doctor with --structure on one that has",
                    tried=tried,
                )
            elif nobody:
                detail = T(
                    "structure {siret} has no technical user: create one in Chorus Pro "
                    "(Raccordements, Compte technique), or run doctor on another structure",
                    siret=siret,
                )
            else:
                detail = T("the line or the login after it is missing")
            self._decide(technical, NOT_FOUND, started, screen=screen, detail=detail)
        yield technical

        expiry = steps["expiry"]
        started = time.monotonic()
        date = structure.expiry()
        if date is not None and structure.expiry_line.present():
            self._decide(
                expiry,
                FOUND,
                started,
                screen=screen,
                matched=structure.expiry_line.what(),
                detail=T(
                    "expires {moment} (Europe/Paris)", moment=date.strftime("%d/%m/%Y %H:%M:%S")
                ),
            )
        else:
            self._decide(
                expiry,
                NOT_FOUND,
                started,
                screen=screen,
                detail=T("the line or the date after it is missing"),
            )
        yield expiry

        reset = steps["reset_button"]
        started = time.monotonic()
        if self._look(reset, structure.reset_button, started, screen):
            reset.detail = T("found, not clicked")
        elif not structure.has_technical_user():
            reset.detail = T("a structure without a technical user has no reset button")
        else:
            reset.detail = T(
                "if the portal renamed it, set [texts] reset_button in the config file "
                "(the report lists the page's controls)"
            )
        yield self._last(reset)
