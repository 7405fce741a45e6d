"""`chorus-bot doctor`: the read-only walk of flows/doctor.py, one line per step, and a
self-contained `report.html` a user can attach to a support request.

The report holds, per screen, what each step looked for (the text and its `[texts]` key), what
matched, how long it took, a screenshot with password fields, typed-in fields and every
secret the run knows masked, and, when something was not found, what the page offers
instead. It never holds an input's value; everything written passes through the redactor.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from loguru import logger

from bot.browser import BrowserRun, masked_screenshot
from bot.config import Settings
from bot.errors import EXIT_FAILURE, EXIT_OK
from bot.hosts import check_portal_url
from bot.i18n import _, language, localize, when
from bot.log import redactor
from bot.siret import parse_siret
from flows.doctor import (
    NOT_ASKED,
    NOT_FOUND,
    NOT_NEEDED,
    NOT_REACHED,
    DoctorStep,
    doctor_walk,
    planned_steps,
)

REPORT_NAME = "report.html"
# Fields a person types into: masked in every screenshot, whatever they hold.
_TYPED_FIELDS = (
    "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=image])"
    ":not([type=reset]):not([type=checkbox]):not([type=radio]), textarea"
)


@dataclass
class Screen:
    """One screen the walk saw, the steps decided on it, and its masked screenshot."""

    label: str
    url: str = ""
    steps: list[DoctorStep] = field(default_factory=list)
    screenshot: bytes | None = None
    candidates: str = ""
    note: str = ""
    closed: bool = False  # its screenshot is taken: the next step is on another screen


@dataclass
class DoctorResult:
    steps: list[DoctorStep]
    report: Path | None

    @property
    def failed(self) -> list[DoctorStep]:
        return [step for step in self.steps if not step.ok]

    @property
    def exit_code(self) -> int:
        return EXIT_FAILURE if self.failed else EXIT_OK


def status_label(step: DoctorStep) -> str:
    """The step's status in the interface's language; `not found` shouts."""
    label = _(step.status)
    return label.upper() if step.status == NOT_FOUND else label


def step_line(step: DoctorStep) -> str:
    """The line printed for a step: status, name, what matched (or was looked for), time."""
    status = status_label(step)
    detail = localize(step.detail)
    if step.status == NOT_REACHED:
        what = ""
    elif step.status in (NOT_ASKED, NOT_NEEDED):
        what = detail
    else:
        what = localize(step.matched) or _("looked for {what}").format(
            what=localize(step.looked_for)
        )
        what = _("{what}: {detail}").format(what=what, detail=detail) if detail else what
    took = f" ({step.ms} ms)" if step.ms is not None else ""
    return redactor.redact(f"{status:12}  {step.name:20}  {what}{took}".rstrip())


def run_doctor(
    settings: Settings,
    raw_siret: str | None,
    credentials,
    *,
    on_step: Callable[[DoctorStep], None],
) -> DoctorResult:
    """Walks the path once (one login), reports each step as it is decided, writes the report."""
    siret = parse_siret(raw_siret) if raw_siret else None
    check_portal_url(settings.portal_url, settings.allow_hosts)
    manager = credentials.manager_login()
    steps: list[DoctorStep] = []
    screens: list[Screen] = []
    run = BrowserRun(settings, "doctor", record_trace=False, keep_folder=True)
    started = datetime.now().astimezone()
    try:
        with run:
            for step in doctor_walk(run.session, settings.portal_url, manager, siret):
                steps.append(step)
                on_step(step)
                _file(screens, step, run, settings)
    finally:
        report = None
        if steps:
            # A walk cut short (Ctrl-C, a dead browser) still leaves what it saw.
            seen = {step.name for step in steps}
            for step in planned_steps(settings.texts):
                if step.name not in seen:
                    steps.append(step)
                    on_step(step)
            report = run.run_dir / REPORT_NAME
            write_report(report, settings, siret, steps, screens, started)
    return DoctorResult(steps=steps, report=report)


def _file(screens: list[Screen], step: DoctorStep, run: BrowserRun, settings: Settings) -> None:
    """Files the step under its screen; on a screen's last step, its screenshot is taken."""
    if step.status == NOT_REACHED or not step.screen:  # not reached, or nothing to show
        return
    if not screens or screens[-1].label != step.screen or screens[-1].closed:
        screens.append(Screen(label=step.screen))
    screen = screens[-1]
    screen.steps.append(step)
    screen.url = step.url or screen.url
    if not step.last_on_screen or run.session is None:
        return
    screen.closed = True
    page = run.session.page
    try:
        screen.screenshot = masked_screenshot(page, extra_masks=[page.locator(_TYPED_FIELDS)])
    except Exception as error:  # a page that will not draw must not lose the report
        screen.note = _("no screenshot: {error}").format(error=type(error).__name__)
        logger.debug("doctor: no screenshot of {}: {}", screen.label, type(error).__name__)
    if any(item.status == NOT_FOUND for item in screen.steps):
        from flows.perceive import Perception

        try:
            screen.candidates = Perception(page, settings.texts).candidates()
        except Exception as error:
            logger.debug("doctor: no candidates for {}: {}", screen.label, type(error).__name__)


def _scrub_url(url: str) -> str:
    # A session id in the URL (JSF's `;jsessionid=`) would let whoever reads the report in.
    return re.sub(r"(;jsessionid=)[^?#/]*", r"\1…", url, flags=re.IGNORECASE)


def _e(text: str) -> str:
    """Escaped for HTML, secrets redacted, in the interface's language."""
    return html.escape(redactor.redact(localize(text)))


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .5em;
text-align:left;vertical-align:top;font-size:.9em}th{background:#f3f3f3}
.found,.not-asked,.not-needed{color:#126b12}.not-found{color:#b00;font-weight:bold}
.not-reached{color:#777}code{background:#f5f5f5;padding:0 .2em}
img{max-width:100%;border:1px solid #999;margin:.5em 0}pre{background:#f7f7f7;padding:.5em;
white-space:pre-wrap;font-size:.85em}.ok{color:#126b12}.ko{color:#b00}
"""


def _status_cell(step: DoctorStep) -> str:
    return f'<td class="{step.status.replace(" ", "-")}">{_e(_(step.status))}</td>'


def write_report(
    path: Path,
    settings: Settings,
    siret: str | None,
    steps: list[DoctorStep],
    screens: list[Screen],
    started: datetime,
) -> None:
    failed = [step for step in steps if not step.ok]
    verdict = (
        '<p class="ok">{}</p>'.format(_e(_("Every step was found: exit code 0.")))
        if not failed
        else '<p class="ko">{}</p>'.format(
            _e(
                _("{count} step(s) not found or not reached: {names}. Exit code 1.").format(
                    count=len(failed), names=", ".join(step.name for step in failed)
                )
            )
        )
    )
    overrides = settings.texts.overrides
    texts = (
        "<ul>"
        + "".join(
            f"<li><code>{_e(key)}</code> = {_e(repr(list(words)))}</li>"
            for key, words in overrides.items()
        )
        + "</ul>"
        if overrides
        else "<p>{}</p>".format(_e(_("None: the documented texts only.")))
    )
    run = _("Run {moment} on portal {url}").format(
        moment=when(started), url=_scrub_url(settings.portal_url)
    )
    if siret:
        run += _(", structure {siret}").format(siret=siret)
    run += _(", timeout {seconds} s per element.").format(seconds=f"{settings.timeout:g}")
    title = _e(_("chorus-bot doctor report"))
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{language()}"><head><meta charset="utf-8">',
        f"<title>{title}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p>{_e(run)}</p>",
        verdict,
        "<p>{}</p>".format(
            _e(
                _(
                    "Read-only: nothing was changed on the portal. The reset button is looked "
                    "for, never clicked, and no confirmation is answered. Password fields, "
                    "typed-in fields and every secret the run knows are masked in the "
                    "screenshots; no input value is in this file."
                )
            )
        ),
        "<h2>{}</h2>".format(_e(_("Text overrides in effect ([texts] of the config file)"))),
        texts,
        "<h2>{}</h2>".format(_e(_("Steps"))),
        "<table><tr>"
        + "".join(
            f"<th>{_e(header)}</th>"
            for header in (
                "#",
                _("step"),
                _("status"),
                _("looked for"),
                _("matched (role and perceived name)"),
                _("detail"),
                "ms",
            )
        )
        + "</tr>",
    ]
    for number, step in enumerate(steps, 1):
        parts.append(
            f"<tr><td>{number}</td><td><code>{_e(step.name)}</code><br>{_e(step.title)}</td>"
            f"{_status_cell(step)}<td>{_e(step.looked_for)}</td><td>{_e(step.matched)}</td>"
            f"<td>{_e(step.detail)}</td><td>{'' if step.ms is None else step.ms}</td></tr>"
        )
    parts.append("</table>")
    for index, screen in enumerate(screens, 1):
        heading = _("Screen {number}: {label}").format(number=index, label=localize(screen.label))
        parts.append(f'<h2 id="screen-{index}">{_e(heading)}</h2>')
        if screen.url:
            parts.append(f"<p>URL: <code>{_e(_scrub_url(screen.url))}</code></p>")
        parts.append(
            "<table><tr>"
            + "".join(
                f"<th>{_e(header)}</th>" for header in (_("step"), _("status"), _("matched"), "ms")
            )
            + "</tr>"
        )
        for step in screen.steps:
            parts.append(
                f"<tr><td><code>{_e(step.name)}</code></td>{_status_cell(step)}"
                f"<td>{_e(step.matched or step.detail)}</td>"
                f"<td>{'' if step.ms is None else step.ms}</td></tr>"
            )
        parts.append("</table>")
        if screen.screenshot is not None:
            data = base64.b64encode(screen.screenshot).decode("ascii")
            alt = _("masked screenshot of {label}").format(label=localize(screen.label))
            parts.append(f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">')
        elif screen.note:
            parts.append(f"<p>{_e(screen.note)}</p>")
        if screen.candidates:
            offers = _(
                "What this page offers (tables, controls and fields with their perceived "
                "names; put the right words in [texts])"
            )
            parts.append(
                f"<details open><summary>{_e(offers)}</summary>"
                f"<pre>{_e(screen.candidates)}</pre></details>"
            )
    parts.append("</body></html>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    path.chmod(0o600)
