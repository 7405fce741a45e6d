"""`doctor`: the path in use walked read-only, one result per step.

The login (the DGFiP portal's or Chorus Pro's own), the second factor (its choice page, then
the code), then the path `--path` takes on Chorus Pro's home: the documented one (`Mes
structures`, a structure's page, the reset button) or `Raccordements` (the `Compte technique`
form up to the new password and `Soumettre`); the other path's steps are `not needed`.

Every step looks for its element the way the other flows do (the same page objects, the same
`[texts]`), is timed, and ends found / not found. The walk goes on after a step that is not
found whenever the next one can still be reached, and stops where it cannot (no login form:
nothing after it is reached).

Nothing is changed on the portal: the reset button is found and never clicked, and no
confirmation is ever answered (Playwright dismisses a browser dialog nobody listens to). On
the Raccordements form the portal shows a new password once the account is chosen; it takes
effect only on `Soumettre`, which is found and never clicked, and the form is left at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

from loguru import logger
from playwright.sync_api import Error as PlaywrightError

from bot.errors import BrowserError, ChorusBotError, NoTechnicalUser, PortalError
from bot.i18n import N_, T
from flows import gestionnaire_path, raccordements_path
from flows.entry import choose_path, choose_second_factor
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
from flows.models import RACCORDEMENTS, ManagerLogin, StructureRow
from flows.pages.applications import ApplicationsPage
from flows.pages.chorus_home import ChorusHomePage
from flows.pages.login import LoginPage
from flows.pages.manager_activities import ManagerActivitiesPage
from flows.pages.raccordements import RaccordementsPage, TechnicalAccountForm
from flows.pages.second_factor import SecondFactorChoicePage, SecondFactorPage
from flows.pages.structure import StructurePage
from flows.perceive import Perceived
from flows.session import PortalSession
from flows.texts import Texts

# A status is also a CSS class of the report: it stays English; `_(status)` shows it.
FOUND = N_("found")
NOT_FOUND = N_("not found")
NOT_ASKED = N_("not asked")  # the portal asked no second factor
NOT_NEEDED = N_("not needed")  # one page of structures, or a step of the path not taken
NOT_REACHED = N_("not reached")  # an earlier step failed and this one cannot be reached
OK_STATUSES = (FOUND, NOT_ASKED, NOT_NEEDED)
# Without --structure, how many structures are opened to find one with a technical user.
MAX_TRIED = 10
# The steps of each path: those of the path not taken are `not needed`.
DOCUMENTED_STEPS = (
    "structures_header",
    "next_page",
    "structures_list",
    "open_structure",
    "users_block",
    "technical_user",
    "reset_button",
)
RACCORDEMENTS_STEPS = (
    "technical_account_app",
    "request_type",
    "choose_structure",
    "technical_account",
    "new_password",
    "submit_request",
)


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
        DoctorStep("second_factor_choice", T("second factor: choice of factor"), "second factor",
                   T("an option {app} or {email}, when the portal lets the user choose",
                     app=d("second_factor_choice_app"), email=d("second_factor_choice_email"))),
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
        DoctorStep("raccordements", T("Chorus Pro home: Raccordements"), "Chorus Pro home",
                   T("a menu entry {text}, for the Raccordements path", text=d("raccordements"))),
        DoctorStep("technical_account_app", T("Raccordements: Compte technique"), "Raccordements",
                   T("a control {text}", text=d("technical_account_app"))),
        DoctorStep("request_type", T("Compte technique: type of request"), "Compte technique",
                   T("the list {text} and its entry {entry}", text=d("request_type"),
                     entry=d("request_type_reset"))),
        DoctorStep("choose_structure", T("Compte technique: the structures"), "Compte technique",
                   T("the list {text} (`<SIRET> - <Raison sociale>`)", text=d("choose_structure"))),
        DoctorStep("technical_account", T("Compte technique: the technical account"),
                   "Compte technique",
                   T("the list {text} once the structure is chosen", text=d("technical_account"))),
        DoctorStep("new_password", T("Compte technique: the new password (never submitted)"),
                   "new password",
                   T("the line {text} once the account is chosen", text=d("new_password"))),
        DoctorStep("submit_request", T("Compte technique: Soumettre (never clicked)"), "Soumettre",
                   T("a button {text}", text=d("submit_request"))),
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


def _close_source(code_source) -> None:
    """A mailbox opened for a code that will never be typed is closed."""
    close = getattr(code_source, "close", None)
    if callable(close):
        close()


class _Stop(Exception):
    """Nothing after this step can be reached."""


class _Walker:
    def __init__(self, session: PortalSession, steps: dict[str, DoctorStep]) -> None:
        self.session = session
        self.texts = session.texts
        self.steps = steps
        self.home_url = ""
        self.rows: list[StructureRow] = []
        self.code_source = None  # where the code comes from after the choice of factor

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
            if self.session.path == RACCORDEMENTS:
                yield from self._not_needed(DOCUMENTED_STEPS, T("the Raccordements path is taken"))
                yield from self._raccordements(siret)
            else:
                yield from self._not_needed(RACCORDEMENTS_STEPS, T("the documented path is taken"))
                activities = yield from self._structures()
                yield from self._structure(activities, siret)
        except _Stop:
            return

    def _not_needed(self, names: tuple[str, ...], why: str) -> Iterator[DoctorStep]:
        started = time.monotonic()
        for name in names:
            yield self._decide(self.steps[name], NOT_NEEDED, started, detail=why)

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
        choice_step, code_step, submit_step = (
            self.steps["second_factor_choice"],
            self.steps["second_factor_code"],
            self.steps["second_factor_submit"],
        )
        started = time.monotonic()
        choice = SecondFactorChoicePage(self.session.page, self.texts)
        code_source = None
        if choice.is_shown() or choice.asks_security_key_only():
            yield from self._choose_factor(choice, manager, started)
            code_source = self.code_source
        else:
            self._decide(
                choice_step, NOT_ASKED, started, detail=T("the portal offered no choice of factor")
            )
            yield choice_step
        started = time.monotonic()
        second_factor = SecondFactorPage(self.session.page, self.texts)
        if not second_factor.is_shown():
            if code_source is not None:
                _close_source(code_source)
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
            _close_source(code_source)
            raise _Stop
        applications = self.steps["applications_title"]
        started = time.monotonic()
        if not self._attempt(
            applications,
            lambda: pass_second_factor(self.session, second_factor, manager, code_source),
            started=started,
            phase="second factor",
        ):
            applications.screen = T("after the code")
            yield self._last(applications)
            raise _Stop

    def _choose_factor(
        self, choice: SecondFactorChoicePage, manager: ManagerLogin, started: float
    ) -> Iterator[DoctorStep]:
        """The choice page: the option the run takes is looked at, then chosen as `check`
        chooses it (the authenticator when its secret is stored, else the e-mailed code)."""
        step = self.steps["second_factor_choice"]
        screen = T("second factor choice")
        self.code_source = None
        if choice.asks_security_key_only():
            self._decide(
                step,
                NOT_FOUND,
                started,
                screen=screen,
                detail=T(
                    "only a security key is offered, which cannot be automated: add the "
                    "authenticator application (TOTP, recommended) to the account"
                ),
            )
            yield self._last(step)
            raise _Stop
        has_totp = bool(manager.has_totp_secret and manager.has_totp_secret())
        app = choice.offers_app() and (has_totp or not choice.offers_email())
        option = choice.app if app else choice.email
        self._decide(
            step,
            FOUND,
            started,
            screen=screen,
            matched=option.what(),
            detail=T("the authenticator application") if app else T("the code sent by e-mail"),
        )
        yield self._last(step)
        holder: list = []
        code_step = self.steps["second_factor_code"]
        if not self._attempt(
            code_step,
            lambda: holder.append(choose_second_factor(self.session, choice, manager)),
            started=time.monotonic(),
            phase="second factor",
        ):
            code_step.screen = T("after the choice")
            yield self._last(code_step)
            raise _Stop
        self.code_source = holder[0]

    def _chorus_pro(self) -> Iterator[DoctorStep]:
        steps = self.steps
        title, link = steps["applications_title"], steps["chorus_pro"]
        applications = ApplicationsPage(self.session.page, self.texts)
        home = ChorusHomePage(self.session.page, self.texts)
        started = time.monotonic()
        if home.is_shown() and not applications.is_shown():
            why = T("Chorus Pro's own login leads to its home directly")
            for step in (title, link):
                self._decide(step, NOT_NEEDED, started, detail=why)
                yield step
        else:
            screen = T("application list")
            if self._attempt(title, applications.title.wait, started=started):
                self._look(title, applications.title, started, screen)
            title.screen = screen
            self._look(link, applications.chorus_pro, time.monotonic(), screen)
            yield title
            yield self._last(link)
            if not link.ok:
                raise _Stop
            started = time.monotonic()
            if not self._attempt(
                steps["manager_activities"],
                lambda: follow_chorus_pro(self.session, applications),
                started=started,
            ):
                steps["manager_activities"].screen = T("Chorus Pro home")
                yield self._last(steps["manager_activities"])
                raise _Stop
        yield from self._home(started)

    def _home(self, started: float) -> Iterator[DoctorStep]:
        """Both menu entries looked at; the path decided as the other commands decide it."""
        menu, raccordements = self.steps["manager_activities"], self.steps["raccordements"]
        screen = T("Chorus Pro home")
        self.home_url = self.session.url
        home = ChorusHomePage(self.session.page, self.texts)
        error = ""
        try:
            choose_path(self.session)
        except ChorusBotError as failure:
            if failure.ends_run and not isinstance(failure, BrowserError):
                raise
            error = failure.message
        path = self.session.path
        for step, entry, other in (
            (menu, home.manager_activities, T("the Raccordements path is taken")),
            (raccordements, home.raccordements, T("the documented path is taken")),
        ):
            self._look(step, entry, started, screen)
            taken = (step is menu) == (path != RACCORDEMENTS)
            if not step.ok and path is not None and not taken:
                self._decide(step, NOT_NEEDED, started, detail=T("absent: {other}", other=other))
            elif step.ok:
                step.detail = T("the path taken") if taken and path else T("present")
        if error:
            wanted = raccordements if self.session.path_choice == RACCORDEMENTS else menu
            self._decide(wanted, NOT_FOUND, started, detail=error)
        yield menu
        yield self._last(raccordements)
        if self.session.path is None:
            raise _Stop

    # -- the Raccordements path ----------------------------------------------------------

    def _raccordements(self, siret: str | None) -> Iterator[DoctorStep]:
        steps = self.steps
        app_step = steps["technical_account_app"]
        started = time.monotonic()
        holder: list = []

        def open_raccordements() -> None:
            ChorusHomePage(self.session.page, self.texts).open_raccordements()
            self.session.settle()
            page = RaccordementsPage(self.session.page, self.texts)
            page.wait_until_shown()
            holder.append(page)

        if not self._attempt(app_step, open_raccordements, started=started):
            app_step.screen = "Raccordements"
            yield self._last(app_step)
            raise _Stop
        self._look(app_step, holder[0].technical_account_app, started, "Raccordements")
        yield self._last(app_step)
        if not app_step.ok:
            raise _Stop
        yield from self._request_form(holder[0], siret)

    def _request_form(
        self, raccordements: RaccordementsPage, siret: str | None
    ) -> Iterator[DoctorStep]:
        steps = self.steps
        kind, structures, account = (
            steps["request_type"],
            steps["choose_structure"],
            steps["technical_account"],
        )
        screen = T("Compte technique form")
        form = TechnicalAccountForm(self.session.page, self.texts)
        started = time.monotonic()

        def open_form() -> None:
            raccordements.open_technical_account()
            self.session.settle()
            form.wait_until_shown()
            raccordements_path.fill_form(self.session, form, None, until="structures")

        if not self._attempt(kind, open_form, started=started):
            kind.screen = screen
            yield self._last(kind)
            raise _Stop
        entry = form.request_type.selected()
        self._decide(
            kind,
            FOUND,
            started,
            screen=screen,
            matched=T("list {text}", text=form.request_type.description),
            detail=T("entry {text}", text=entry.text) if entry else "",
        )
        rows = form.structures()
        self.rows = rows
        self._decide(
            structures,
            FOUND if rows else NOT_FOUND,
            time.monotonic(),
            screen=screen,
            matched=T("list {text}", text=form.structure.description) if rows else "",
            detail=T("{count} structure(s) offered", count=len(rows))
            if rows
            else T("no structure offered"),
        )
        yield kind
        yield structures
        if not rows:
            raise _Stop

        known = [row.siret for row in rows]
        started = time.monotonic()
        if siret is not None and siret not in known:
            self._decide(
                account,
                NOT_FOUND,
                started,
                screen=screen,
                detail=T(
                    "structure {siret} is not offered ({count} offered): check the SIRET, and "
                    "that this account manages it",
                    siret=siret,
                    count=len(known),
                ),
            )
            yield self._last(account)
            raise _Stop
        candidates = [siret] if siret is not None else known[:MAX_TRIED]
        chosen: tuple[str, str] | None = None
        passed_over: list[str] = []
        for candidate in candidates:
            found: list = []

            def accounts(candidate: str = candidate, found: list = found) -> None:
                try:
                    found.extend(raccordements_path.fill_form(self.session, form, candidate))
                except NoTechnicalUser:
                    found.append(None)

            if not self._attempt(account, accounts, started=started):
                account.screen = screen
                yield self._last(account)
                raise _Stop
            if found and found[0] is not None:
                chosen = (candidate, found[0])
                break
            passed_over.append(candidate)
        if chosen is None:
            self._decide(
                account,
                NOT_FOUND,
                started,
                screen=screen,
                detail=T(
                    "none of the structure(s) {sirets} has a technical account: run doctor "
                    "with --structure on one that has",
                    sirets=", ".join(passed_over),
                ),
            )
            yield self._last(account)
            raise _Stop
        detail = T("structure {siret}, login {login}", siret=chosen[0], login=chosen[1])
        if passed_over:
            detail = T(
                "{detail}; passed over, no technical account: {sirets}",
                detail=detail,
                sirets=", ".join(passed_over),
            )
        self._decide(
            account,
            FOUND,
            started,
            screen=screen,
            detail=detail,
            matched=T("list {text}", text=form.account.description),
        )
        yield self._last(account)
        yield from self._revealed(form, *chosen)

    def _revealed(self, form: TechnicalAccountForm, siret: str, login: str) -> Iterator[DoctorStep]:
        """The account chosen: the new password shown (never read out, never submitted),
        `Soumettre` found, the expiry where the portal shows it; then the form is left."""
        steps = self.steps
        password, submit, expiry = (
            steps["new_password"],
            steps["submit_request"],
            steps["expiry"],
        )
        screen = T("Compte technique form, {siret}", siret=siret)
        started = time.monotonic()
        if not self._attempt(
            password,
            lambda: raccordements_path.fill_form(
                self.session, form, siret, login, until="revealed"
            ),
            started=started,
        ):
            password.screen = screen
            yield self._last(password)
            raise _Stop
        readable = bool(form.read_password())
        self._decide(
            password,
            FOUND if readable else NOT_FOUND,
            started,
            screen=screen,
            matched=form.new_password.label.what() if form.new_password.label.present() else "",
            detail=T("shown, masked here, never submitted")
            if readable
            else T("no readable password after the label (a reset would stop before Soumettre)"),
        )
        if self._look(submit, form.submit_button, time.monotonic(), screen):
            submit.detail = T("found, not clicked")
        started = time.monotonic()
        date = form.expiry()
        if date is not None:
            self._decide(
                expiry,
                FOUND,
                started,
                screen=screen,
                matched=form.expiry_line.what(),
                detail=T(
                    "expires {moment} (Europe/Paris), on the form",
                    moment=date.strftime("%d/%m/%Y %H:%M:%S"),
                ),
            )
        yield password
        yield submit if date is not None else self._last(submit)
        if date is not None:
            yield self._last(expiry)
        # Leaving the form drops the request and its password: nothing stays pending.
        try:
            back_to_chorus_home(self.session, self.home_url)
        except ChorusBotError as error:
            if error.ends_run and not isinstance(error, BrowserError):
                raise
            logger.debug("doctor: could not leave the form: {}", error.message)
        if date is None:
            yield from self._expiry_elsewhere(siret)

    def _expiry_elsewhere(self, siret: str) -> Iterator[DoctorStep]:
        expiry = self.steps["expiry"]
        started = time.monotonic()
        if not self.session.documented_available:
            self._decide(
                expiry,
                NOT_FOUND,
                started,
                screen=T("Chorus Pro home"),
                detail=T(
                    "neither the Raccordements form nor a structure page (no `Activités du "
                    "gestionnaire`) shows it: check exits 1, reset --force still works"
                ),
            )
            yield expiry
            return
        holder: list = []
        if not self._attempt(
            expiry,
            lambda: holder.append(
                gestionnaire_path.check_structure(self.session, self.home_url, siret)
            ),
            started=started,
            phase="structure page",
        ):
            expiry.screen = T("structure {siret}", siret=siret)
            yield self._last(expiry)
            return
        status = holder[0]
        self._decide(
            expiry,
            FOUND,
            started,
            screen=T("structure {siret}", siret=siret),
            matched=T("the structure page of {siret}", siret=siret),
            detail=T(
                "expires {moment} (Europe/Paris)",
                moment=status.expires_at.strftime("%d/%m/%Y %H:%M:%S"),
            ),
        )
        yield self._last(expiry)

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
