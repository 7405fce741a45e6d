"""Finding a browser, running one, and keeping what a failed run needs for diagnosis."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from loguru import logger

from bot.config import Settings
from bot.errors import BrowserError, ChorusBotError, UsageError
from bot.hosts import page_guard
from bot.i18n import T, _
from bot.log import redactor

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from flows.session import PortalSession

# Flags that keep a headless Chromium quiet on closed networks and inside containers.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Seeded into each run's own profile: the password manager and autofill never save what the
# bot types (the manager's password) or what the portal shows.
PROFILE_PREFERENCES = {
    "credentials_enable_service": False,
    "credentials_enable_autosignin": False,
    "profile": {"password_manager_enabled": False},
    "autofill": {"enabled": False, "profile_enabled": False, "credit_card_enabled": False},
    "search": {"suggest_enabled": False},
}
# What nobody looks at is not downloaded: Blink neither requests images (<img>, CSS
# backgrounds) nor web fonts. Stylesheets and scripts still load: visibility and the portal's
# own behaviour depend on them. Flags rather than Playwright routing, which would disable the
# HTTP cache for every request and send each one through Python (docs/benchmarks.md).
LEAN_ARGS = ["--blink-settings=imagesEnabled=false", "--disable-remote-fonts"]
# Media has no such flag: the browser pauses those requests for us to refuse (rare, so cheap).
_BLOCKED_TYPES = ("Media",)
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# On PATH under Windows (PATHEXT adds .exe).
WINDOWS_PATH_BROWSERS = ("chrome", "msedge", "chromium")
_WELL_KNOWN_PATHS = (
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
)
# Where installers put them: (environment variable, path under it). Chrome before Edge, which
# every Windows has: the admin who installed Chrome meant it. Per-user installs go under
# %LOCALAPPDATA%; 64-bit Edge still lives in "Program Files (x86)".
_WINDOWS_BROWSERS = (
    ("LOCALAPPDATA", r"Chromium\Application\chrome.exe"),
    ("PROGRAMFILES", r"Google\Chrome\Application\chrome.exe"),
    ("PROGRAMFILES(X86)", r"Google\Chrome\Application\chrome.exe"),
    ("LOCALAPPDATA", r"Google\Chrome\Application\chrome.exe"),
    ("PROGRAMFILES(X86)", r"Microsoft\Edge\Application\msedge.exe"),
    ("PROGRAMFILES", r"Microsoft\Edge\Application\msedge.exe"),
    ("LOCALAPPDATA", r"Microsoft\Edge\Application\msedge.exe"),
)
_WINDOWS_DEFAULTS = {
    "PROGRAMFILES": r"C:\Program Files",
    "PROGRAMFILES(X86)": r"C:\Program Files (x86)",
}


def windows_browser_candidates(environ: Mapping[str, str]) -> list[str]:
    """Chrome/Edge/Chromium executables in their usual Windows places, most wanted first."""
    import ntpath

    # Windows variable names ignore case (ProgramFiles(x86), LocalAppData); a dict does not.
    env = {name.upper(): value for name, value in environ.items() if value}
    found: list[str] = []
    for variable, tail in _WINDOWS_BROWSERS:
        base = env.get(variable) or _WINDOWS_DEFAULTS.get(variable)
        if base:
            path = ntpath.join(base, tail)
            if path.lower() not in (known.lower() for known in found):
                found.append(path)
    return found


def find_browser(
    explicit: str | None,
    playwright_chromium_path: str | None,
    *,
    windows: bool | None = None,
    environ: Mapping[str, str] | None = None,
    is_file: Callable[[str], bool] | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> str | None:
    """The executable to launch; None means Playwright's own Chromium.

    Order: --browser / CHORUS_BOT_BROWSER, Playwright's Chromium, a system Chromium, Chrome or
    (Windows) Edge on PATH, then in their usual places. The machine's facts (platform,
    environment, files) are parameters, so that the Windows search is tested anywhere.
    """
    windows = sys.platform == "win32" if windows is None else windows
    environ = os.environ if environ is None else environ
    is_file = is_file or (lambda path: Path(path).is_file())
    if explicit:
        path = Path(explicit).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise UsageError(
                T("browser {explicit!r} is not an executable file", explicit=explicit),
                hint=T("give the path of a Chromium or Chrome executable to --browser"),
            )
        return str(path)
    if playwright_chromium_path and is_file(playwright_chromium_path):
        return None
    for name in WINDOWS_PATH_BROWSERS if windows else SYSTEM_BROWSERS:
        found = which(name)
        if found:
            return found
    candidates = windows_browser_candidates(environ) if windows else _WELL_KNOWN_PATHS
    for candidate in candidates:
        if is_file(candidate):
            return candidate
    raise BrowserError(
        T("no Chromium, Chrome or Edge browser found"),
        hint=T(
            "run `playwright install chromium`, install Chrome or Chromium (Edge on Windows), "
            "or pass --browser PATH"
        ),
    )


# Run in every frame before a screenshot or the page's HTML is taken: the page itself is
# redacted, so that no serialisation (HTML escaping, attribute quoting) can carry a secret out.
# Typed or displayed values live in inputs and textareas: all emptied. Any text, comment or
# attribute holding a known secret (raw, URL-encoded however, or JSON-escaped) is emptied too,
# through open shadow roots.
_REDACT_PAGE = r"""secrets => {
  const forms = secrets.flatMap(s => [s, JSON.stringify(s).slice(1, -1)]);
  const decoded = text => {
    try { return decodeURIComponent(text.replace(/\+/g, ' ')); } catch (e) { return text; }
  };
  const holds = text =>
    !!text && [text, decoded(text)].some(t => forms.some(form => t.includes(form)));
  const keep = new Set(['button', 'submit', 'reset', 'image', 'checkbox', 'radio', 'file']);
  const walk = root => {
    const texts = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_COMMENT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      if (holds(node.data)) node.data = '';
    }
    for (const element of root.querySelectorAll('*')) {
      const tag = element.tagName.toLowerCase();
      if (tag === 'input' && !keep.has((element.getAttribute('type') || '').toLowerCase())) {
        element.removeAttribute('value');
        element.value = '';
      } else if (tag === 'textarea') {
        element.value = '';
        element.textContent = '';
      }
      for (const attribute of Array.from(element.attributes)) {
        if (holds(attribute.value)) element.setAttribute(attribute.name, '');
      }
      if (element.shadowRoot) walk(element.shadowRoot);
    }
  };
  walk(document);
}"""

# After the screenshot, which shows buttons with their labels: no value attribute at all goes
# into page.html, whatever the input's type.
_DROP_VALUES = """() => {
  const walk = root => {
    for (const element of root.querySelectorAll('*')) {
      if (element.tagName === 'INPUT') element.removeAttribute('value');
      if (element.shadowRoot) walk(element.shadowRoot);
    }
  };
  walk(document);
}"""

# The new password's own element, for a password the bot could not read (so does not know):
# every text in it goes, but the label before its colon.
_EMPTY_PASSWORD_ELEMENTS = r"""elements => {
  for (const element of elements) {
    if (['INPUT', 'TEXTAREA'].includes(element.tagName)) {
      element.value = '';
      element.removeAttribute('value');
    }
    const texts = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = texts.nextNode(); node; node = texts.nextNode()) {
      node.data = /mot de passe/i.test(node.data)
        ? node.data.replace(/(mot de passe[^:]*:)[\s\S]*/i, '$1 ')
        : '';
    }
  }
}"""


def masked_screenshot(page, path: Path | None = None, extra_masks: list | None = None) -> bytes:
    """The whole page, with password fields, a new password shown and every known secret masked."""
    from flows.pages.reset_result import NewPasswordScreen

    masks = [page.locator("input[type=password]"), *NewPasswordScreen(page).password_locators()]
    masks += [page.get_by_text(secret) for secret in redactor.known()]
    masks += extra_masks or []
    return page.screenshot(path=path, mask=masks, full_page=True, timeout=5000)


_FOLDER_PREFIX = "chorus-bot-"


def _new_folder() -> Path:
    """`$TMPDIR/chorus-bot-<pid>-<random>`, 0700: the browser's profile and its
    temporary files. Short, because Chromium's socket path inside must fit in 108 bytes; the
    pid tells a later run whether its owner is gone."""
    return Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-"))


def remove_stale_folders() -> None:
    """Browser folders of runs that were killed (SIGKILL, power cut) before removing them."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_FOLDER_PREFIX}*"):
        owner = folder.name[len(_FOLDER_PREFIX) :].split("-", 1)[0]
        try:
            mine = folder.lstat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and owner.isdigit() and int(owner) != os.getpid() and not _alive(int(owner)):
            logger.debug("removing the browser folder of a run that was killed: {}", folder)
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to judge
        return True
    return True


@contextmanager
def _tmpdir(path: Path) -> Iterator[None]:
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before


def _whole_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


class BrowserRun:
    """A browser for one command, with a run folder kept on failure (or with --trace)."""

    def __init__(
        self,
        settings: Settings,
        label: str,
        *,
        record_trace: bool = True,
        keep_folder: bool = False,
    ) -> None:
        self.settings = settings
        # `doctor` keeps its folder always: its report is the point of the run.
        self.keep_folder = keep_folder
        # A trace makes every page of a run ~50% slower (bench/); read-only commands can be run
        # again with --trace at no risk, so only they leave it out by default.
        self.record_trace = record_trace
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        self.run_dir = settings.runs_dir / f"{stamp}-{label}"
        # This run's browser profile and temporary files, removed at the end (see _new_folder).
        self.folder: Path | None = None
        self._launches = 0
        self._proxy = None
        self._playwright = None
        self._context = None
        self._tracing = False
        self.kept_failures = False
        self.session = None
        # Chorus Pro `Accueil connecté`, once logged in; a new login may move it.
        self.home_url: str | None = None

    def __enter__(self) -> BrowserRun:
        # Imported here so that commands without a browser start fast.
        from playwright.sync_api import sync_playwright

        from bot import proxy as proxies

        # Before the browser: a missing proxy password is a usage error, not a browser one.
        self._proxy = proxies.resolve(self.settings)
        logger.debug("network: {}", proxies.describe(self._proxy))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        remove_stale_folders()
        self.folder = _new_folder()
        (self.folder / "tmp").mkdir(mode=0o700)
        try:
            # Playwright's driver and the browser put their temporary files (trace chunks,
            # downloads) in TMPDIR: this run's folder, so that none outlives the run.
            with _tmpdir(self.folder / "tmp"):
                self._playwright = sync_playwright().start()
            self._launch()
        except BaseException:
            self.close()
            raise
        return self

    def _launch(self) -> None:
        """A browser with a fresh profile of its own, and one page in it."""
        from playwright.sync_api import Error as PlaywrightError

        self._launches += 1
        profile = self.folder / f"profile-{self._launches}"
        preferences = profile / "Default" / "Preferences"
        preferences.parent.mkdir(parents=True, mode=0o700)
        preferences.write_text(json.dumps(PROFILE_PREFERENCES), encoding="utf-8")
        try:
            chromium = self._playwright.chromium
            executable = find_browser(self.settings.browser, chromium.executable_path)
            logger.debug("browser: {}", executable or "Playwright's Chromium")
            # A persistent context only because it is the one way to give Chromium its
            # preferences; the profile is this run's own and goes with it.
            self._context = chromium.launch_persistent_context(
                str(profile),
                executable_path=executable,
                headless=not self.settings.headed,
                args=[*CHROMIUM_ARGS, *LEAN_ARGS],
                # The password goes through Playwright's protocol, not Chromium's argv.
                proxy=self._proxy.playwright() if self._proxy is not None else None,
                env={**os.environ, "TMPDIR": str(self.folder / "tmp")},
                locale="fr-FR",
                timezone_id="Europe/Paris",
            )
            self._refuse_media()
            pages = self._context.pages
            page = pages[0] if pages else self._context.new_page()
        except PlaywrightError as error:
            raise BrowserError(
                T("the browser did not start: {value}", value=str(error).splitlines()[0]),
                step=T("browser start"),
                hint=T(
                    "check the browser with --browser PATH, or run `playwright install chromium`"
                ),
            ) from None
        self.session = self._portal_session(page)

    def _portal_session(self, page: Page) -> PortalSession:
        """The flows' view of a tab: this run's timeouts, hosts and texts; its trace stops
        before a password is shown, and what a page shows is redacted from what is saved."""
        from flows.session import PortalSession

        return PortalSession(
            page,
            timeout_ms=self.settings.timeout_ms,
            host_guard=page_guard(self.settings.allow_hosts),
            texts=self.settings.texts,
            path=self.settings.path,
            before_secret=self.stop_trace,
            on_secret=redactor.add,
        )

    def fresh_session(self) -> bool:
        """A new page, for a new look at the portal after a step failed in the old one.

        In the same browser while it lives (still logged in, then), else in a new browser.
        Returns True when the browser is new: the caller must log in again.
        """
        from playwright.sync_api import Error as PlaywrightError

        old = self.session.page if self.session else None
        try:
            page = self._context.new_page()
        except (PlaywrightError, AttributeError):
            logger.info(_("the browser is gone: starting a new one"))
            self._close_browser()
            shutil.rmtree(self.folder / f"profile-{self._launches}", ignore_errors=True)
            self._launch()
            return True
        if old is not None:
            try:
                old.close()
            except PlaywrightError:
                logger.debug("the old page could not be closed")
        previous = self.session
        self.session = self._portal_session(page)
        if previous is not None:  # still logged in: the path decided on the home holds
            self.session.path = previous.path
            self.session.documented_available = previous.documented_available
        return False

    def _refuse_media(self) -> None:
        """Every tab of the browser, popups included, from their first request."""
        # The persistent context's browser: one session for every tab it will ever open.
        cdp = self._context.browser.new_browser_cdp_session()

        def refuse(event: dict) -> None:
            try:
                cdp.send(
                    "Fetch.failRequest",
                    {"requestId": event["requestId"], "errorReason": "BlockedByClient"},
                )
            except Exception as error:  # the tab went away meanwhile: nothing to refuse
                logger.debug("media request not refused: {}", type(error).__name__)

        cdp.on("Fetch.requestPaused", refuse)
        cdp.send("Fetch.enable", {"patterns": [{"resourceType": t} for t in _BLOCKED_TYPES]})

    def start_trace(self) -> None:
        """Only after login: a trace records every typed value."""
        if self._proxy is not None and self._proxy.password:
            # A trace keeps every request's headers, Proxy-Authorization (base64) included.
            logger.info(_("no Playwright trace: the proxy's password would be in it"))
            return
        if self.record_trace and self._context is not None and not self._tracing:
            self._context.tracing.start(screenshots=True, snapshots=True)
            self._tracing = True

    def stop_trace(self) -> None:
        """Before the reset click: the new password must never be in a trace."""
        if self._context is not None and self._tracing:
            self._tracing = False
            # Written aside, then checked: a driver killed while writing (Ctrl-C sent to the
            # whole process group) leaves a truncated zip nobody could open.
            partial = self.run_dir / "trace.zip.part"
            try:
                self._context.tracing.stop(path=partial)
            except Exception as error:  # a dead browser cannot hand its trace over
                logger.debug("trace not saved: {}", type(error).__name__)
            if _whole_zip(partial):
                partial.replace(self.run_dir / "trace.zip")
            elif partial.exists():
                partial.unlink()
                logger.info(_("trace not kept: the browser stopped while writing it"))

    def save_diagnosis(
        self, error: BaseException, name: str | None = None, session: PortalSession | None = None
    ) -> None:
        """The failing step, its URL, a masked screenshot and the page without input values.

        `name` files them in a sub-folder, for a run over many structures that goes on;
        `session` is the tab that failed, when it is not the run's first one.
        """
        folder = self.run_dir / name if name else self.run_dir
        folder.mkdir(parents=True, exist_ok=True)
        self.kept_failures = True
        session = session or self.session
        step = getattr(error, "step", None) or (session.current_step if session else None)
        url = session.url if session else ""
        message = error.one_line() if isinstance(error, ChorusBotError) else type(error).__name__
        # Redacted before serialising: JSON escapes a quote the raw secret holds.
        failure = {"step": step, "url": redactor.redact(url), "error": redactor.redact(message)}
        (folder / "failure.json").write_text(
            json.dumps(failure, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        self.stop_trace()
        if isinstance(error, ChorusBotError):
            error.run_dir = str(folder)
        if session is None:
            return
        session.stop_loading()
        try:
            self._redact_page(session.page)
            self._screenshot(session.page, folder)
            for frame in session.page.frames:
                frame.evaluate(_DROP_VALUES)
            html = session.page.content()
        except Exception as failure:  # the browser may be the thing that failed
            logger.debug("no screenshot or page saved: {}", type(failure).__name__)
            return
        if redactor.found_in(html):
            logger.warning(_("the page was not saved: it still held a secret after redaction"))
            return
        (folder / "page.html").write_text(html, encoding="utf-8")
        try:
            self._write_candidates(session.page, folder)  # from the page as redacted
        except Exception as failure:
            logger.debug("no candidates saved: {}", type(failure).__name__)

    def _redact_page(self, page) -> None:
        from flows.pages.reset_result import NewPasswordScreen

        for locator in NewPasswordScreen(page, self.settings.texts).password_locators():
            locator.evaluate_all(_EMPTY_PASSWORD_ELEMENTS)
        for frame in page.frames:
            frame.evaluate(_REDACT_PAGE, redactor.known())

    def _write_candidates(self, page, folder: Path) -> None:
        """What the page offers, for the day the portal renamed what the bot looks for."""
        from flows.perceive import Perception

        text = Perception(page, self.settings.texts).candidates()
        (folder / "candidates.txt").write_text(redactor.redact(text), encoding="utf-8")

    def _screenshot(self, page, folder: Path) -> None:
        # The page is already redacted; masks also cover what a repaint might bring back.
        masked_screenshot(page, folder / "screenshot.png")

    def keep(self) -> bool:
        return self.run_dir.exists() and any(self.run_dir.iterdir())

    def _close_browser(self) -> None:
        try:
            if self._context is not None:
                self._context.close()
        except Exception as error:  # closing a crashed browser raises; nothing to save
            logger.debug("while closing the browser: {}", type(error).__name__)
        self._context = None
        self._tracing = False

    def close(self) -> None:
        self._close_browser()
        try:
            if self._playwright is not None:
                self._playwright.stop()
        except Exception as error:
            logger.debug("while stopping Playwright: {}", type(error).__name__)
        self._playwright = None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self.save_diagnosis(exc)
        elif self.settings.trace or self.kept_failures:
            self.stop_trace()
        else:
            self._discard_trace()
        self.close()
        if exc is None and not (self.settings.trace or self.kept_failures or self.keep_folder):
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif exc is None:
            logger.info(_("run folder kept: {}"), self.run_dir)

    def _discard_trace(self) -> None:
        if self._context is not None and self._tracing:
            self._tracing = False
            try:
                self._context.tracing.stop()
            except Exception:
                logger.debug("trace discard failed")
