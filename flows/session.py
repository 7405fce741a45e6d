"""The page the flows drive, and how a failing step becomes one clear error."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bot.errors import BrowserError, ChorusBotError, PortalError, SessionExpired
from bot.i18n import T
from flows.perceive import Target
from flows.texts import DEFAULT_TEXTS, Texts

if TYPE_CHECKING:  # what Page.expect_navigation returns; not exported by name
    from playwright._impl._sync_base import EventContextManager

# Raised by whoever owns the credentials when the page about to receive them is not genuine.
HostGuard = Callable[[str], None]

_BROWSER_GONE = ("has been closed", "Target closed", "Connection closed", "crashed")


class Arrival:
    """A navigation under way: `wait` waits until the new page is parsed (DOMContentLoaded);
    `is_done` does not wait."""

    def __init__(self, session: PortalSession, waiting: EventContextManager[Response | None]):
        self._session = session
        self._waiting = waiting
        self._event = waiting.__enter__()

    def wait(self) -> Response | None:
        """Until the new page is parsed (or the navigation failed: raises); the status of
        its document becomes the session's `last_status`."""
        response = self._event.value
        if response is not None:
            self._session.last_status = response.status
        return response

    def is_done(self) -> bool:
        return self._event.is_done()

    def cancel(self) -> None:
        """No longer waited for (its tab is closing): nothing will read its outcome."""
        if not self._event.is_done():
            self._waiting.__exit__(_Abandoned, _Abandoned(), None)


class _Abandoned(Exception):
    """Handed to a navigation wait to cancel it."""


# Runs in the page: go where a control leads, as the browser does on a click (a GET for a URL;
# for a form, the same fields posted again), but without waiting, so that other tabs can load
# meanwhile. The timer lets the call return before the page starts to unload.
_GO_JS = """(t) => { setTimeout(() => {
  if (t.method !== 'post') { window.location.assign(t.url); return; }
  const form = document.createElement('form');
  form.method = 'post';
  form.action = t.url;
  form.enctype = t.enctype;
  form.acceptCharset = 'UTF-8';
  form.style.display = 'none';
  for (const [name, value] of t.fields) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.appendChild(input);
  }
  (document.body || document.documentElement).appendChild(form);
  HTMLFormElement.prototype.submit.call(form);
}, 0); }"""


class PortalSession:
    """One logged-in (or logging-in) tab on the portal, followed across new tabs."""

    def __init__(
        self,
        page: Page,
        *,
        timeout_ms: float,
        host_guard: HostGuard,
        texts: Texts = DEFAULT_TEXTS,
        watch_responses: bool = True,
        path: str = "auto",
        before_secret: Callable[[], None] | None = None,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        self.timeout_ms = timeout_ms
        # Called right before a page is made to show a password (the caller stops its trace).
        self._before_secret = before_secret
        # Given every password a page showed (the caller redacts it from what it saves).
        self._on_secret = on_secret
        self.texts = texts
        # The way to the technical user wanted (`documented`, `raccordements`, `auto`), and
        # the one taken, decided on Chorus Pro's home after login (flows/entry.py).
        self.path_choice = path
        self.path: str | None = None
        # Whether the home offers `Activités du gestionnaire`: the Raccordements path reads
        # the expiry on the structure page when it can.
        self.documented_available = False
        self.host_guard = host_guard
        self.current_step: str | None = None
        self.last_status: int | None = None
        self.page = page
        # Watching responses makes Playwright send every request of the tab (a page's dozens
        # of stylesheets and scripts) to Python; a reader tab learns its status from `go`.
        self._watch_responses = watch_responses
        self._follow(page)

    def _follow(self, page: Page) -> None:
        self.page = page
        page.set_default_timeout(self.timeout_ms)
        page.set_default_navigation_timeout(self.timeout_ms)
        if self._watch_responses:
            page.on("response", self._record_response)

    def before_secret_shown(self) -> None:
        """Right before a page shows a new password: a trace must not record it, even on a
        read (the Raccordements form shows one as soon as the account is chosen)."""
        if self._before_secret is not None:
            self._before_secret()

    @contextmanager
    def secret_on_screen(self, read: Callable[[], str | None]) -> Iterator[None]:
        """Around what makes a page show a new password: no trace records it, and what `read`
        finds on the page afterwards is handed to `on_secret`, even when the step failed
        half-way, so that the page a failure saves is redacted of it."""
        self.before_secret_shown()
        try:
            yield
        finally:
            try:
                shown = read() if self._on_secret is not None else None
            except PlaywrightError:
                shown = None  # a dead page shows nothing, and will not be saved
            if shown and self._on_secret is not None:
                self._on_secret(shown)

    def switch_to(self, page: Page) -> None:
        """Chorus Pro may open in a new tab; the flow goes on there."""
        self._follow(page)

    def new_tab(self) -> PortalSession:
        """Another tab of the same logged-in browser context, with the same rules.

        This tab stays in front: a new tab takes the front, and a tab behind it gets no
        animation frames, while Playwright's click waits for two of them to call an element
        stable (a click on the list's pager took 1.6 s behind two reader tabs). Tabs that only
        navigate and read do not need them."""
        tab = PortalSession(
            self.page.context.new_page(),
            timeout_ms=self.timeout_ms,
            host_guard=self.host_guard,
            texts=self.texts,
            watch_responses=False,
        )
        self.page.bring_to_front()
        return tab

    def close(self) -> None:
        try:
            self.page.close()
        except PlaywrightError as error:  # already gone with the browser: nothing to close
            logger.debug("tab not closed: {}", type(error).__name__)

    def go(self, target: Target) -> Arrival:
        """Starts going to `target` and returns at once; `.wait()` waits for the new page."""
        self.last_status = None
        # Arrived once parsed: a tab that is done can be read at once, without a wait that
        # would hold every other tab (see flows/readers.py).
        arrival = Arrival(self, self.page.expect_navigation(wait_until="domcontentloaded"))
        try:
            self.page.evaluate(
                _GO_JS,
                {
                    "url": target.url,
                    "method": target.method,
                    "fields": [list(field) for field in target.fields],
                    "enctype": target.enctype,
                },
            )
        except BaseException:
            arrival.cancel()
            raise
        return arrival

    def _record_response(self, response: Response) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.last_status = response.status

    @property
    def url(self) -> str:
        try:
            return self.page.url
        except PlaywrightError:
            return ""

    def settle(self) -> None:
        """After a navigation: fail fast on a server error or a bounce to the login page."""
        self.page.wait_for_load_state("domcontentloaded")
        if self.last_status is not None and self.last_status >= 500:
            raise PortalError(
                T(
                    "the portal answered HTTP {last_status} (server error)",
                    last_status=self.last_status,
                ),
                hint=T("the portal may be down or in maintenance; try again later"),
            )
        from flows.pages.login import LoginPage

        if self.current_step != "login" and LoginPage(self.page, self.texts).is_shown():
            raise SessionExpired(
                T("the portal sent the bot back to the login page (session expired)"),
                hint=T("run the command again; if it keeps happening, the portal is unstable"),
            )

    @contextmanager
    def step(self, name: str, expecting: str) -> Iterator[None]:
        """Names the step in any error it raises, and explains Playwright's failures."""
        self.current_step = name
        logger.debug("step: {}", name)
        try:
            yield
        except ChorusBotError as error:
            error.step = error.step or name
            raise
        except PlaywrightTimeoutError as error:
            raise self._explain(name, expecting) from error
        except PlaywrightError as error:
            if any(marker in str(error) for marker in _BROWSER_GONE):
                raise BrowserError(
                    T("the browser closed or crashed during the run"),
                    step=name,
                    hint=T("run again; if it keeps happening, try another browser with --browser"),
                ) from None
            network = re.search(r"net::(ERR_[A-Z_]+)", str(error))
            if network:
                target = re.search(r" at (\S+)", str(error))
                raise PortalError(
                    T(
                        "cannot reach {value} ({value2})",
                        value=target.group(1) if target else "the portal",
                        value2=network.group(1),
                    ),
                    step=name,
                    hint=T("check --portal-url and the network (proxy, DNS), then run again"),
                ) from None
            raise PortalError(
                T("the browser reported an error: {value}", value=str(error).splitlines()[0]),
                step=name,
                hint=T("run again with -v and look at the run folder"),
            ) from None

    def stop_loading(self) -> None:
        """Like the browser's Stop button. A navigation still waiting for a slow portal holds
        every look at the page (locators, screenshot, HTML) until the portal answers."""
        try:
            cdp = self.page.context.new_cdp_session(self.page)
            cdp.send("Page.stopLoading")
            cdp.detach()
        except PlaywrightError as error:
            logger.debug("could not stop the page loading: {}", type(error).__name__)

    def _explain(self, name: str, expecting: str) -> ChorusBotError:
        seconds = self.timeout_ms / 1000
        # The timeout has elapsed: whatever is still loading came too late.
        self.stop_loading()
        try:
            self.settle()
        except ChorusBotError as error:
            error.step = name
            return error
        except PlaywrightError:
            pass
        return PortalError(
            T(
                "{expecting} did not appear within {seconds:g} s",
                expecting=expecting,
                seconds=seconds,
            ),
            step=name,
            hint=T(
                "the portal is slow or its page changed: retry with a larger --timeout, "
                "and look at the screenshot in the run folder"
            ),
        )
