"""Finding a browser, running one, and keeping what a failed run needs for diagnosis."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType

from loguru import logger

from bot.config import Settings
from bot.errors import BrowserError, ChorusBotError, UsageError
from bot.hosts import page_guard
from bot.i18n import T, _
from bot.log import redactor

# Flags that keep a headless Chromium quiet on closed networks and inside containers.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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


def _sanitized_html(html: str) -> str:
    # Typed or displayed values live in value attributes and textareas: drop them all.
    html = re.sub(
        r"(<input\b[^>]*?)\svalue\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)",
        r"\1",
        html,
        flags=re.IGNORECASE,
    )
    html = re.sub(
        r"(<textarea\b[^>]*>).*?(</textarea>)", r"\1\2", html, flags=re.IGNORECASE | re.DOTALL
    )
    return redactor.redact(html)


def masked_screenshot(page, path: Path | None = None, extra_masks: list | None = None) -> bytes:
    """The whole page, with password fields, a new password shown and every known secret masked."""
    from flows.pages.reset_result import NewPasswordScreen

    masks = [page.locator("input[type=password]"), *NewPasswordScreen(page).password_locators()]
    masks += [page.get_by_text(secret) for secret in redactor.known()]
    masks += extra_masks or []
    return page.screenshot(path=path, mask=masks, full_page=True, timeout=5000)


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
        self._playwright = None
        self._browser = None
        self._context = None
        self._tracing = False
        self.kept_failures = False
        self.session = None

    def __enter__(self) -> BrowserRun:
        # Imported here so that commands without a browser start fast.
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        from bot import proxy as proxies
        from flows.session import PortalSession

        # Before the browser: a missing proxy password is a usage error, not a browser one.
        proxy = proxies.resolve(self.settings)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        self._playwright = sync_playwright().start()
        try:
            chromium = self._playwright.chromium
            executable = find_browser(self.settings.browser, chromium.executable_path)
            logger.debug("browser: {}", executable or "Playwright's Chromium")
            logger.debug("network: {}", proxies.describe(proxy))
            self._browser = chromium.launch(
                executable_path=executable,
                headless=not self.settings.headed,
                args=CHROMIUM_ARGS,
                # The password goes through Playwright's protocol, not Chromium's argv.
                proxy=proxy.playwright() if proxy is not None else None,
            )
            self._context = self._browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
            page = self._context.new_page()
        except PlaywrightError as error:
            self.close()
            raise BrowserError(
                T("the browser did not start: {value}", value=str(error).splitlines()[0]),
                step=T("browser start"),
                hint=T(
                    "check the browser with --browser PATH, or run `playwright install chromium`"
                ),
            ) from None
        except BaseException:
            self.close()
            raise
        self.session = PortalSession(
            page,
            timeout_ms=self.settings.timeout_ms,
            host_guard=page_guard(self.settings.allow_hosts),
            texts=self.settings.texts,
        )
        return self

    def start_trace(self) -> None:
        """Only after login: a trace records every typed value."""
        if self.record_trace and self._context is not None and not self._tracing:
            self._context.tracing.start(screenshots=True, snapshots=True)
            self._tracing = True

    def stop_trace(self) -> None:
        """Before the reset click: the new password must never be in a trace."""
        if self._context is not None and self._tracing:
            self._tracing = False
            try:
                self._context.tracing.stop(path=self.run_dir / "trace.zip")
            except Exception as error:  # a dead browser cannot hand its trace over
                logger.debug("trace not saved: {}", type(error).__name__)

    def save_diagnosis(self, error: BaseException, name: str | None = None) -> None:
        """The failing step, its URL, a masked screenshot and the page without input values.

        `name` files them in a sub-folder, for a run over many structures that goes on.
        """
        folder = self.run_dir / name if name else self.run_dir
        folder.mkdir(parents=True, exist_ok=True)
        self.kept_failures = True
        session = self.session
        step = getattr(error, "step", None) or (session.current_step if session else None)
        url = session.url if session else ""
        message = error.one_line() if isinstance(error, ChorusBotError) else type(error).__name__
        (folder / "failure.json").write_text(
            redactor.redact(
                json.dumps(
                    {"step": step, "url": url, "error": message}, ensure_ascii=False, indent=2
                )
            ),
            encoding="utf-8",
        )
        self.stop_trace()
        if isinstance(error, ChorusBotError):
            error.run_dir = str(folder)
        if session is None:
            return
        session.stop_loading()
        try:
            self._screenshot(session.page, folder)
            html = session.page.content()
            (folder / "page.html").write_text(_sanitized_html(html), encoding="utf-8")
            self._write_candidates(session.page, folder)
        except Exception as failure:  # the browser may be the thing that failed
            logger.debug("no screenshot or page saved: {}", type(failure).__name__)

    def _write_candidates(self, page, folder: Path) -> None:
        """What the page offers, for the day the portal renamed what the bot looks for."""
        from flows.perceive import Perception

        text = Perception(page, self.settings.texts).candidates()
        (folder / "candidates.txt").write_text(redactor.redact(text), encoding="utf-8")

    def _screenshot(self, page, folder: Path) -> None:
        masked_screenshot(page, folder / "screenshot.png")

    def keep(self) -> bool:
        return self.run_dir.exists() and any(self.run_dir.iterdir())

    def close(self) -> None:
        for closer in (
            lambda: self._context and self._context.close(),
            lambda: self._browser and self._browser.close(),
            lambda: self._playwright and self._playwright.stop(),
        ):
            try:
                closer()
            except Exception as error:  # closing a crashed browser raises; nothing to save
                logger.debug("while closing the browser: {}", type(error).__name__)
        self._context = self._browser = self._playwright = None

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
