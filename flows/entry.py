"""The steps every path shares: the login page (the DGFiP portal's or Chorus Pro's own), the
second factor when the portal asks for one (choosing it when the portal lets the user choose),
then Chorus Pro's home, where the path in use is decided.

After login the DGFiP portal shows its application list (then `Chorus Pro` opens the home);
Chorus Pro's own login leads to the home directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from loguru import logger
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bot.errors import (
    LoginRejected,
    PortalError,
    SecondFactorError,
    SecondFactorUnsupported,
)
from bot.i18n import N_, T, _
from flows.models import AUTO, DOCUMENTED, RACCORDEMENTS, ManagerLogin
from flows.pages.applications import ApplicationsPage
from flows.pages.chorus_home import ChorusHomePage
from flows.pages.login import LoginPage
from flows.pages.second_factor import SecondFactorChoicePage, SecondFactorPage
from flows.session import PortalSession

# Short waits inside a longer deadline, so that two possible outcomes can be watched at once.
POLL_MS = 250
# What shows after the password, when it is not a second factor: asked once, then passed on.
LISTED, HOME = "application list", "Chorus Pro home"


def _nothing() -> None:
    return None


def log_in(session: PortalSession, start_url: str, manager: ManagerLogin) -> str | None:
    """Returns LISTED or HOME when the password led straight there; None after a second
    factor (then nobody has looked yet)."""
    texts = session.texts
    login = LoginPage(session.page, texts)
    expecting = T(
        "the login form ({value}, {value2})",
        value=texts.describe("login_identifiant"),
        value2=texts.describe("login_password"),
    )
    with session.step(N_("login"), expecting):
        login.open(start_url)
        session.settle()
        login.password.wait()
        shown = submit_login(session, login, manager)
    if shown is None:
        pass_second_factor_if_asked(session, manager)
    return shown


def submit_login(session: PortalSession, login: LoginPage, manager: ManagerLogin) -> str | None:
    """Types the credentials into the login form on screen (genuine host only) and sends it.

    Returns once the application list (LISTED), Chorus Pro's home (HOME), or a second-factor
    page (None) shows. Call it inside the `login` step: the session must not take the login
    page for an expired one.
    """
    session.host_guard(session.url)
    login.fill_identifiant(manager.identifiant)
    session.host_guard(session.url)
    login.fill_password(manager.password)
    login.submit()
    session.settle()
    return _wait_after_login(session, login)


def _logged_in(session: PortalSession) -> tuple[ApplicationsPage, ChorusHomePage]:
    return ApplicationsPage(session.page, session.texts), ChorusHomePage(
        session.page, session.texts
    )


def _wait_after_login(session: PortalSession, login: LoginPage) -> str | None:
    """LISTED or HOME as it shows; None for a second-factor page; raises when the portal
    refused the login."""
    applications, home = _logged_in(session)
    code = SecondFactorPage(session.page, session.texts)
    choice = SecondFactorChoicePage(session.page, session.texts)
    # The usual case, asked first and cheapest first: a look for the choice of factor (every
    # control tier of three options) costs ten times a look for a title.
    if shown := _listed_or_home(applications, home):
        return shown
    applications.title.union.or_(home.menu).or_(code.code.union).or_(choice.shown).or_(
        login.error_message
    ).first.wait_for()
    if shown := _listed_or_home(applications, home):
        return shown
    if code.is_shown() or choice.is_shown() or choice.asks_security_key_only():
        return None
    detail = login.error_text()
    raise LoginRejected(
        T("the portal refused the identifiant or password ({detail})", detail=detail)
        if detail
        else T("the portal refused the identifiant or password"),
        hint=T(
            "check them with `chorus-bot credentials set`; the bot does not retry, "
            "so that the account is not locked"
        ),
    )


def _listed_or_home(applications: ApplicationsPage, home: ChorusHomePage) -> str | None:
    if applications.is_shown():
        return LISTED
    return HOME if home.is_shown() else None


def pass_second_factor_if_asked(session: PortalSession, manager: ManagerLogin) -> None:
    """After the password: nothing, a code to type, or a choice of factor and then a code."""
    applications, home = _logged_in(session)
    if applications.is_shown() or home.is_shown():
        return
    code_source = None
    choice = SecondFactorChoicePage(session.page, session.texts)
    if choice.is_shown() or choice.asks_security_key_only():
        code_source = choose_second_factor(session, choice, manager)
    second_factor = SecondFactorPage(session.page, session.texts)
    if second_factor.is_shown():
        pass_second_factor(session, second_factor, manager, code_source)
        return
    _close(code_source)
    applications, home = _logged_in(session)
    if not (applications.is_shown() or home.is_shown()):
        # E.g. `L'envoi du code a échoué`: said now, not as a missing application list later.
        detail = second_factor.error_text()
        raise SecondFactorError(
            T("the portal showed no code page after the choice of factor ({detail})", detail=detail)
            if detail
            else T("the portal showed no code page after the choice of factor"),
            step=N_("second factor"),
            hint=T("run again later; nothing was changed"),
        )


def choose_second_factor(
    session: PortalSession, choice: SecondFactorChoicePage, manager: ManagerLogin
) -> Callable[[], str] | None:
    """Picks the factor: the authenticator application when its secret is stored, else the
    e-mailed code. Returns where the code will come from (None: the usual one-time code).

    The e-mail source is asked BEFORE the click that makes the portal send the mail, so that
    only a mail that arrives after it counts; a security key alone stops the run.
    """
    texts = session.texts
    with session.step(
        N_("second factor"),
        T(
            "the choice of {value} or {value2}",
            value=texts.describe("second_factor_choice_app"),
            value2=texts.describe("second_factor_choice_email"),
        ),
    ):
        if choice.asks_security_key_only():
            raise SecondFactorUnsupported(
                T(
                    "the portal offers only a security key as second factor, which cannot be "
                    "automated"
                ),
                hint=T(
                    "add the authenticator application (TOTP, recommended) to this account "
                    "on Chorus Pro and store its secret with `chorus-bot credentials set "
                    "--totp`, or let the account receive its code by e-mail"
                ),
            )
        has_totp = bool(manager.has_totp_secret and manager.has_totp_secret())
        if choice.offers_app() and (has_totp or not choice.offers_email()):
            logger.info(_("second factor: the authenticator application"))
            choice.choose_app()
            _wait_for_code_page(session)
            return None
        if manager.expect_email_code is None:
            raise SecondFactorError(
                T("the portal e-mails a verification code and no source for it is configured")
            )
        logger.info(_("second factor: the code sent by e-mail"))
        wait_for_code = manager.expect_email_code()  # right before the portal sends it
        try:
            choice.choose_email()
            _wait_for_code_page(session)
        except BaseException:
            _close(wait_for_code)
            raise
        return wait_for_code


def _wait_for_code_page(session: PortalSession) -> None:
    session.settle()
    applications, home = _logged_in(session)
    code = SecondFactorPage(session.page, session.texts)
    code.code.union.or_(home.menu).or_(applications.title.union).or_(
        code.error_message
    ).first.wait_for()


def _close(code_source: Callable[[], str] | None) -> None:
    """A mailbox opened for a code that will never be read is closed (IMAP logout)."""
    close = getattr(code_source, "close", None)
    if callable(close):
        close()


def pass_second_factor(
    session: PortalSession,
    page: SecondFactorPage,
    manager: ManagerLogin,
    code_source: Callable[[], str] | None = None,
) -> None:
    """Types the code (from `code_source`, else the usual one-time code) and sends it."""
    with session.step(
        N_("second factor"),
        T("the page after {value}", value=session.texts.describe("second_factor_code")),
    ):
        source = code_source or manager.one_time_code
        if source is None:
            raise SecondFactorError(T("the portal asks for a one-time code and none is configured"))
        try:
            page.code.wait()
        except BaseException:
            _close(code_source)
            raise
        code = source()
        session.host_guard(session.url)
        page.enter_code(code)
        session.settle()
        applications, home = _logged_in(session)
        applications.title.union.or_(home.menu).or_(page.error_message).first.wait_for()
        if not (applications.is_shown() or home.is_shown()):
            detail = page.error_text()
            raise SecondFactorError(
                T("the portal refused the one-time code ({detail})", detail=detail)
                if detail
                else T("the portal refused the one-time code"),
                hint=T(
                    "run again for a new code; a TOTP secret (`chorus-bot credentials set "
                    "--totp`) needs no mailbox"
                )
                if code_source is not None
                else T("check the TOTP secret with `chorus-bot credentials set --totp`"),
            )


def open_chorus_pro(session: PortalSession, shown: str | None = None) -> None:
    """From the DGFiP application list to Chorus Pro's home; on Chorus Pro's own login the
    home is already there. `shown`: what log_in saw, if it did (not looked at again)."""
    applications, home = _logged_in(session)
    if shown is None:
        shown = _listed_or_home(applications, home)  # the title is the cheaper look
    if shown == HOME:
        return
    listed = shown == LISTED
    with session.step(
        N_("application list"), T("the link {value}", value=session.texts.describe("chorus_pro"))
    ):
        if not listed:
            applications.title.wait()
        if not applications.has_chorus_pro():
            raise PortalError(
                T(
                    "the application list has no link {value}",
                    value=session.texts.describe("chorus_pro"),
                ),
                hint=T("this account may lack Chorus Pro access: log in by hand to check"),
            )
    follow_chorus_pro(session, applications)


def follow_chorus_pro(session: PortalSession, applications: ApplicationsPage) -> None:
    """Clicks `Chorus Pro` and waits for its home, in this tab or in the one it opens."""
    with session.step(
        N_("application list"), T("the link {value}", value=session.texts.describe("chorus_pro"))
    ):
        popups: list = []
        session.page.on("popup", lambda popup: popups.append(popup))
        applications.click_chorus_pro()
    with session.step(N_("Chorus Pro home"), chorus_home(session)):
        _follow_same_or_new_tab(session, popups)
        session.settle()


def _follow_same_or_new_tab(session: PortalSession, popups: list) -> None:
    """`Chorus Pro` opens in the same tab on some portals and in a new one on others; returns
    once its home shows."""
    deadline = time.monotonic() + session.timeout_ms / 1000
    home = ChorusHomePage(session.page, session.texts)
    while True:
        if popups:
            session.switch_to(popups[0])
            session.page.wait_for_load_state("domcontentloaded")
            ChorusHomePage(session.page, session.texts).wait()
            return
        try:
            home.wait(timeout=POLL_MS)
            return
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise


def chorus_home(session: PortalSession) -> str:
    texts = session.texts
    return T(
        "Chorus Pro's menu entry {value} or {value2}",
        value=texts.describe("manager_activities"),
        value2=texts.describe("raccordements"),
    )


def choose_path(session: PortalSession) -> str:
    """On Chorus Pro's home: the path wanted (`session.path_choice`), or with `auto` the
    documented one when `Activités du gestionnaire` is there, else `Raccordements`."""
    texts = session.texts
    with session.step(N_("Chorus Pro home"), chorus_home(session)):
        home = ChorusHomePage(session.page, session.texts)
        documented = home.has_manager_activities()  # shown: no need to wait for the menu
        if not documented:
            home.wait()
            documented = home.has_manager_activities()
        session.documented_available = documented
        wanted = session.path_choice
        if wanted == DOCUMENTED and not documented:
            raise PortalError(
                T(
                    "Chorus Pro's home has no menu entry {value}, so the documented path "
                    "cannot be taken",
                    value=texts.describe("manager_activities"),
                ),
                hint=T(
                    "use `--path raccordements` (or `auto`, the default, which takes it "
                    "when the documented path is missing)"
                ),
            )
        if wanted == RACCORDEMENTS and not home.raccordements.present():
            raise PortalError(
                T(
                    "Chorus Pro's home has no menu entry {value}",
                    value=texts.describe("raccordements"),
                ),
                hint=T(
                    "use `--path documented` (or `auto`); if the portal renamed the entry, "
                    "set it in the config file's [texts]"
                ),
            )
        path = wanted if wanted != AUTO else DOCUMENTED if documented else RACCORDEMENTS
        session.path = path
        logger.debug("path: {} ({})", path, "chosen" if wanted != AUTO else "auto")
        return path


def enter_chorus_pro(
    session: PortalSession,
    start_url: str,
    manager: ManagerLogin,
    *,
    on_logged_in: Callable[[], None] = _nothing,
) -> str:
    """Logs in, opens Chorus Pro and decides the path; returns the home URL to come back to."""
    shown = log_in(session, start_url, manager)
    on_logged_in()
    open_chorus_pro(session, shown)
    choose_path(session)
    return session.url


def back_to_chorus_home(session: PortalSession, home_url: str) -> None:
    """Between two structures: the menu is on `Accueil connecté`, one page away."""
    if session.url == home_url:
        return
    with session.step(N_("Chorus Pro home"), chorus_home(session)):
        session.page.goto(home_url)
        session.settle()
        ChorusHomePage(session.page, session.texts).wait()
