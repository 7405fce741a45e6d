"""The `chorus-bot` command. Commands parse, build settings, call bot.jobs, and print.

Only this module turns errors into messages and exit codes. CHORUS_BOT_DEBUG=1 re-raises them.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.config import DEFAULT_PORTAL_URL, Settings, build_settings, config_file
from bot.errors import (
    ChorusBotError,
    CredentialsMissing,
    Interrupted,
    PasswordRescued,
    UsageError,
)
from bot.i18n import N_, T, _, localize

app = typer.Typer(
    name="chorus-bot",
    help=_(
        "Reads and resets the Chorus Pro technical user's password through the DGFiP portal "
        "or Chorus Pro's own, and keeps it in the OS keyring.\n\nExit codes: 0 OK; 1 failure; "
        "2 bad usage or input; 3 expires within the warning window (check); 4 expired "
        "(check); 5 new password saved to a rescue file (reset); 6 reset done but the "
        "hand-over (mail, post_reset_command) failed; 130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rendering it with rich costs ~0.35 s of CPU, more than the whole start-up.
    rich_markup_mode=None,
)
credentials_app = typer.Typer(
    help=_("The portal manager's credentials, kept in the keyring."),
    no_args_is_help=True,
    rich_markup_mode=None,
)
secret_app = typer.Typer(
    help=_("The technical users' credentials kept in the keyring."),
    no_args_is_help=True,
    rich_markup_mode=None,
)
config_app = typer.Typer(
    help=_("The configuration file (non-secret defaults)."),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(credentials_app, name="credentials")
app.add_typer(secret_app, name="secret")
app.add_typer(config_app, name="config")

# Options shared by the commands that drive the portal.
Structures = Annotated[
    list[str] | None,
    typer.Option(
        "--structure",
        "-s",
        help=_("A structure's SIRET (14 digits); repeatable. Default: `structures` in the config."),
    ),
]
AllStructures = Annotated[
    bool,
    typer.Option("--all", help=_("Every structure of `Mes structures`, one login for all.")),
]
Structure = Annotated[
    str, typer.Option("--structure", "-s", help=_("The structure's SIRET (14 digits)."))
]
PortalUrl = Annotated[
    str | None,
    typer.Option(
        help=_("Portal start page (env CHORUS_BOT_PORTAL_URL; default {url}).").format(
            url=DEFAULT_PORTAL_URL
        )
    ),
]
Headed = Annotated[bool, typer.Option("--headed", help=_("Show the browser window."))]
Timeout = Annotated[
    float | None, typer.Option(help=_("Seconds to wait for each page element (default 30)."))
]
Browser = Annotated[
    str | None,
    typer.Option("--browser", help=_("Chromium or Chrome executable (env CHORUS_BOT_BROWSER).")),
]
AllowHost = Annotated[
    list[str] | None,
    typer.Option("--allow-host", help=_("Also trust this https host for the portal (repeatable).")),
]
Trace = Annotated[
    bool,
    typer.Option(
        "--trace",
        help=_(
            "Record a Playwright trace (reset always does) and keep the run folder on success too."
        ),
    ),
]
PortalPath = Annotated[
    str | None,
    typer.Option(
        "--path",
        help=_(
            "Which way to the technical user: documented (Activités du gestionnaire), "
            "raccordements (Raccordements, Compte technique) or auto (default: the documented "
            "one when the portal has it)."
        ),
    ),
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help=_("Log debug details."))]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar="CHORUS_BOT_PROFILE",
        help=_(
            "Use the [profiles.NAME] table of the config file over its top level "
            "(env CHORUS_BOT_PROFILE)."
        ),
    ),
]
AllProfiles = Annotated[
    bool,
    typer.Option(
        "--all-profiles",
        help=_(
            "Every [profiles.*] of the config file in turn, each with its own login; "
            "one profile's failure does not stop the next."
        ),
    ),
]
Proxy = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        help=_(
            "HTTP proxy for the browser and PISTE, e.g. http://user@proxy:3128, never with a "
            "password (`chorus-bot credentials set --proxy`). Default: `proxy` in the config, "
            'then HTTPS_PROXY/HTTP_PROXY (NO_PROXY honoured); "" for none.'
        ),
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help=_("Print JSON."))]
IcsFile = Annotated[
    Path | None,
    typer.Option(
        "--ics",
        help=_(
            "Also write the expiry dates to this iCalendar file (one event per structure, "
            "reminders warn_days and 1 day before), for Outlook, Thunderbird or the intranet."
        ),
    ),
]
PrometheusFile = Annotated[
    Path | None,
    typer.Option(
        "--prometheus",
        help=_(
            "Also write metrics to this file (node_exporter textfile format, *.prom): expiry "
            "and days left per structure, time and exit code of the run, even a failed one."
        ),
    ),
]
Concurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        help=_("Tabs reading structures at once, 1 to 4 (default 2; config `concurrency`)."),
    ),
]
# Where the password is verified (PISTE): hosts per environment, overridable for tests.
PisteEnv = Annotated[
    str | None,
    typer.Option(
        "--piste-env",
        help=_("PISTE environment whose hosts are used: production (default) or sandbox."),
    ),
]
PisteApiUrl = Annotated[
    str | None,
    typer.Option(
        "--piste-api-url", help=_("Override the PISTE API base URL (https, or loopback).")
    ),
]
PisteOauthUrl = Annotated[
    str | None,
    typer.Option(
        "--piste-oauth-url", help=_("Override the PISTE OAuth token URL (https, or loopback).")
    ),
]


def _settings(profile: str | None = None, **options: Any) -> Settings:
    settings = build_settings(profile=profile, **options)
    from bot import log

    log.configure(verbose=settings.verbose, log_file=settings.log_file)
    return settings


def _credential_source(settings: Settings):
    from bot.auth import CredentialSource

    return CredentialSource(identifiant=settings.identifiant, imap=settings.imap)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _fr(moment) -> str:
    if moment is None:  # the Raccordements path of a portal that shows the date nowhere
        return _("not shown by the portal")
    from bot.i18n import when

    return when(moment)


# --- check / reset -------------------------------------------------------------------------


@app.command(
    help=_(
        "Read the technical login and the password's expiry date. Changes nothing.\n\nWith "
        "several structures (or --all), --concurrency tabs read them at once."
    ),
    epilog=_(
        "Examples: chorus-bot check --structure 25900096600020 --warn-days 45 ; "
        "chorus-bot check -s 25900096600020 -s 93319084500067 --json ; chorus-bot check --all"
    ),
)
def check(
    structure: Structures = None,
    all_structures: AllStructures = False,
    warn_days: Annotated[
        int | None,
        typer.Option(
            help=_("Exit 3 when the password expires within this many days (default 30).")
        ),
    ] = None,
    as_json: AsJson = False,
    ics: IcsFile = None,
    prometheus: PrometheusFile = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help=_("Also verify the stored password against the Chorus Pro API.")
        ),
    ] = False,
    path: PortalPath = None,
    portal_url: PortalUrl = None,
    headed: Headed = False,
    timeout: Timeout = None,
    browser: Browser = None,
    allow_host: AllowHost = None,
    piste_env: PisteEnv = None,
    piste_api_url: PisteApiUrl = None,
    piste_oauth_url: PisteOauthUrl = None,
    trace: Trace = False,
    concurrency: Concurrency = None,
    verbose: Verbose = False,
    profile: Profile = None,
    proxy: Proxy = None,
) -> None:
    from bot.exports import Exports

    with Exports(ics=ics, prometheus=prometheus) as exports:
        settings = _settings(
            concurrency=concurrency,
            profile=profile,
            proxy=proxy,
            warn_days=warn_days,
            piste_env=piste_env,
            piste_api_url=piste_api_url,
            piste_oauth_url=piste_oauth_url,
            path=path,
            portal_url=portal_url,
            headed=headed,
            timeout=timeout,
            browser=browser,
            allow_hosts=allow_host,
            trace=trace,
            verbose=verbose,
        )
        from bot import batch, jobs

        targets = batch.resolve_targets(settings, structure or [], all_structures)
        if verify and (targets is None or len(targets) > 1):
            raise UsageError(T("--verify works with one --structure at a time"))
        if targets is None or len(targets) > 1:
            with _progress_reporter() as progress:
                results = batch.check_many(
                    settings, targets, _credential_source(settings), progress=progress
                )
            exports.done(results, complete=targets is None, warn_days=settings.warn_days)
            _print_results(results, as_json)
            raise typer.Exit(batch.worst_exit_code(results))
        report = jobs.check(settings, targets[0], _credential_source(settings), verify=verify)
        exports.done(
            [batch.StructureResult(report.status.siret, check=report)],
            complete=False,
            warn_days=settings.warn_days,
        )
        if as_json:
            profile_key = {"profile": settings.profile} if settings.profile else {}
            _echo_json({**report.as_dict(), **profile_key})
        else:
            status = report.status
            typer.echo(_("Structure {siret}").format(siret=status.siret))
            typer.echo(_("  Technical user : {login}").format(login=status.login))
            typer.echo(_("  Expires        : {moment}").format(moment=_fr(status.expires_at)))
            state = {
                "ok": _("OK"),
                "expires-soon": _("EXPIRES SOON (within {days} days)").format(
                    days=report.warn_days
                ),
                "expired": _("EXPIRED"),
            }
            typer.echo(
                _("  Days left      : {days} — {state}").format(
                    days=report.days_left, state=state[report.state]
                )
            )
            if report.verification is not None:
                typer.echo(
                    _("  Chorus Pro API : {verdict}").format(verdict=_verdict(report.verification))
                )
        if report.verification is not None and not report.verification.accepted:
            from bot.verification import rejected_error

            raise rejected_error(report.status.siret, report.verification, after_reset=False)
        raise typer.Exit(report.exit_code)


@app.command(
    help=_(
        "Reset the technical user's password and store the new one in the keyring.\n\nWhen "
        "PISTE credentials are stored, the new password is then verified against the Chorus "
        "Pro API (exit 1 if rejected; the previous password stays in the keyring beside it). "
        "The new password is never printed: read it with `chorus-bot secret show`.\n\nSafe to "
        "run from a scheduler: it resets only when the expiry is within --within-days, "
        "proves the keyring works before touching the portal, and refuses a second run on "
        "the same structure at the same time. The password it replaces is kept under "
        "`chorus-bot/technical/<SIRET>/previous`. If the keyring fails after the reset, the "
        "new password goes to a rescue file readable only by you (exit 5): fix the keyring, "
        "then run `chorus-bot recover`. On failure the run folder (step, URL, masked "
        "screenshot, page without input values, trace of the steps before the reset click) "
        "is printed.\n\nWith --all-profiles: each profile's structures (--all: every one its "
        "account sees); a structure seen by two accounts is reset by the first profile only."
    ),
    epilog=_(
        "Examples: chorus-bot reset --structure 25900096600020 --dry-run ; "
        "chorus-bot reset --structure 25900096600020 ; chorus-bot reset --all (monthly, "
        "scheduled)"
    ),
)
def reset(
    structure: Structures = None,
    all_structures: AllStructures = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=_("Only read the expiry date, like `check`."))
    ] = False,
    within_days: Annotated[
        int | None,
        typer.Option(
            help=_("Reset only when the password expires within this many days (default 90).")
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help=_("Reset even if the expiry is far away."))
    ] = False,
    no_reconcile: Annotated[
        bool,
        typer.Option(
            "--no-reconcile",
            help=_(
                "When a reset's new password is lost (error after the click), do not read the "
                "expiry again nor reset once more: only report it."
            ),
        ),
    ] = False,
    path: PortalPath = None,
    portal_url: PortalUrl = None,
    headed: Headed = False,
    timeout: Timeout = None,
    browser: Browser = None,
    allow_host: AllowHost = None,
    piste_env: PisteEnv = None,
    piste_api_url: PisteApiUrl = None,
    piste_oauth_url: PisteOauthUrl = None,
    trace: Trace = False,
    verbose: Verbose = False,
    profile: Profile = None,
    all_profiles: AllProfiles = False,
    proxy: Proxy = None,
) -> None:
    options = dict(
        within_days=within_days,
        reconcile=False if no_reconcile else None,
        piste_env=piste_env,
        piste_api_url=piste_api_url,
        piste_oauth_url=piste_oauth_url,
        path=path,
        portal_url=portal_url,
        headed=headed,
        timeout=timeout,
        browser=browser,
        allow_hosts=allow_host,
        trace=trace,
        verbose=verbose,
        proxy=proxy,
    )
    from bot import batch, jobs

    if all_profiles:
        if structure:
            raise UsageError(
                T("--structure and --all-profiles exclude each other"),
                hint=T("use --profile NAME for one profile's structures, or --all"),
            )

        def each_profile(settings, credentials, handled, progress):
            targets = batch.resolve_targets(settings, [], all_structures)
            if dry_run:
                return batch.check_many(
                    settings, targets, credentials, action="dry-run", progress=progress
                )
            return batch.reset_many(
                settings, targets, credentials, force=force, progress=progress, handled=handled
            )

        _run_all_profiles(profile, options, each_profile, as_json=False)
    settings = _settings(profile=profile, **options)

    targets = batch.resolve_targets(settings, structure or [], all_structures)
    if targets is None or len(targets) > 1:
        credentials = _credential_source(settings)
        with _progress_reporter() as progress:
            if dry_run:
                # One tab, as for a reset: `reset` is about secrets, not speed.
                results = batch.check_many(
                    settings, targets, credentials, action="dry-run", progress=progress, readers=0
                )
            else:
                results = batch.reset_many(
                    settings, targets, credentials, force=force, progress=progress
                )
        _print_results(results, False)
        raise typer.Exit(batch.worst_exit_code(results))
    report = jobs.reset(
        settings, targets[0], _credential_source(settings), dry_run=dry_run, force=force
    )
    before = report.before
    typer.echo(_("Structure {siret}").format(siret=report.siret))
    typer.echo(_("  Technical user : {login}").format(login=before.login))
    if report.action in ("dry-run", "skipped") and before.expires_at is None:
        typer.echo(_("  Expires        : {moment}").format(moment=_fr(before.expires_at)))
    elif report.action in ("dry-run", "skipped"):
        typer.echo(
            _("  Expires        : {moment}, in {days} days").format(
                moment=_fr(before.expires_at), days=before.days_left()
            )
        )
    if report.action == "dry-run":
        typer.echo(_("  Dry run: nothing was changed."))
    elif report.action == "skipped":
        typer.echo(
            _(
                "  Not reset: the password expires in more than {days} days "
                "(--force resets anyway)."
            ).format(days=settings.within_days)
        )
    else:
        assert report.after is not None
        typer.echo(_("  Old expiry     : {moment}").format(moment=_fr(before.expires_at)))
        typer.echo(_("  New expiry     : {moment}").format(moment=_fr(report.after.expires_at)))
        typer.echo(
            _(
                "  New password stored in the keyring: service {service!r}, username {login!r}"
            ).format(service=report.stored_in, login=report.after.login)
        )
        typer.echo(
            _("  Read it with   : chorus-bot secret show --structure {siret}").format(
                siret=report.siret
            )
        )
        for note in report.notes:
            typer.echo(f"  {localize(note)}")
    # 6 when the hand-over failed: the warning was logged on stderr when it happened.
    raise typer.Exit(report.exit_code)


@app.command(
    help=_(
        "Every structure's technical user and expiry, soonest first. One login; changes "
        "nothing.\n\nThe list is walked once in one tab; --concurrency tabs (default 2) read "
        "the structures' pages at the same time, each going straight to its page.\n\nExit 0 "
        "guarantees that at least one structure was read, that every structure the page "
        "announces was read, and that all of them are fine; reading none, or fewer than "
        "announced, exits 1. A structure with no technical user is listed as "
        "no-technical-user.\n\nWith --all-profiles: each profile's account in turn, one login "
        "each."
    ),
    epilog=_(
        "Examples: chorus-bot status --json ; chorus-bot status --ics /srv/www/chorus.ics "
        "--prometheus /var/lib/node_exporter/textfile/chorus_bot.prom"
    ),
)
def status(
    warn_days: Annotated[
        int | None,
        typer.Option(help=_("Exit 3 when a password expires within this many days (default 30).")),
    ] = None,
    as_json: AsJson = False,
    ics: IcsFile = None,
    prometheus: PrometheusFile = None,
    path: PortalPath = None,
    portal_url: PortalUrl = None,
    headed: Headed = False,
    timeout: Timeout = None,
    browser: Browser = None,
    allow_host: AllowHost = None,
    trace: Trace = False,
    concurrency: Concurrency = None,
    verbose: Verbose = False,
    profile: Profile = None,
    all_profiles: AllProfiles = False,
    proxy: Proxy = None,
) -> None:
    options = dict(
        concurrency=concurrency,
        warn_days=warn_days,
        path=path,
        portal_url=portal_url,
        headed=headed,
        timeout=timeout,
        browser=browser,
        allow_hosts=allow_host,
        trace=trace,
        verbose=verbose,
        proxy=proxy,
    )
    from bot import batch
    from bot.exports import Exports

    if all_profiles:
        if ics or prometheus:
            raise UsageError(
                T(
                    "--ics and --prometheus describe one account: give them with --profile, "
                    "one file per profile"
                ),
            )

        def each_profile(settings, credentials, handled, progress):
            return batch.status(settings, credentials, progress=progress)

        _run_all_profiles(profile, options, each_profile, as_json=as_json)
    with Exports(ics=ics, prometheus=prometheus) as exports:
        settings = _settings(profile=profile, **options)
        with _progress_reporter() as progress:
            results = batch.status(settings, _credential_source(settings), progress=progress)
        exports.done(results, complete=True, warn_days=settings.warn_days)
        _print_results(results, as_json)
        raise typer.Exit(batch.worst_exit_code(results))


@app.command(
    help=_(
        "Walk the whole path read-only and say, step by step, what the bot finds.\n\nLogin "
        "page (fields and button), second factor (its choice, then the code, when asked), "
        "application list and `Chorus Pro`, Chorus Pro's home, then the path in use "
        "(--path): every page of `Mes structures`, one structure's page (technical user, "
        "expiry, users block) and the reset button, which is found and NEVER clicked; or "
        "`Raccordements`, the `Compte technique` form up to the new password and "
        "`Soumettre`, found and NEVER clicked. One line per step: found / not found / not "
        "needed, the element's role and perceived name, milliseconds. Writes report.html in "
        "the run folder (what each step looked for and its [texts] key, what matched, masked "
        "screenshots), to attach to a support request.\n\nExit codes: 0 every step found; 1 "
        "a step not found or not reached; 2 bad usage."
    ),
    epilog=_(
        "Examples: chorus-bot doctor ; chorus-bot doctor --structure 25900096600020 --timeout 60"
    ),
)
def doctor(
    structure: Annotated[
        str | None,
        typer.Option(
            "--structure",
            "-s",
            help=_(
                "The structure whose page is examined (default: the first listed that has a "
                "technical user)."
            ),
        ),
    ] = None,
    path: PortalPath = None,
    portal_url: PortalUrl = None,
    headed: Headed = False,
    timeout: Timeout = None,
    browser: Browser = None,
    allow_host: AllowHost = None,
    verbose: Verbose = False,
    profile: Profile = None,
    proxy: Proxy = None,
) -> None:
    settings = _settings(
        profile=profile,
        proxy=proxy,
        path=path,
        portal_url=portal_url,
        headed=headed,
        timeout=timeout,
        browser=browser,
        allow_hosts=allow_host,
        verbose=verbose,
    )
    from bot.doctor import run_doctor, step_line

    result = run_doctor(
        settings,
        structure,
        _credential_source(settings),
        on_step=lambda step: typer.echo(step_line(step)),
    )
    if result.failed:
        names = ", ".join(step.name for step in result.failed)
        typer.echo(
            _("{count} step(s) not found or not reached: {names}").format(
                count=len(result.failed), names=names
            )
        )
    else:
        typer.echo(
            _("Every step found ({count}); nothing was changed on the portal.").format(
                count=len(result.steps)
            )
        )
    if result.report is not None:
        typer.echo(_("Report: {file}").format(file=result.report))
    raise typer.Exit(result.exit_code)


@contextmanager
def _progress_reporter() -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar on a terminal; plain log lines otherwise (schedulers, CI logs)."""
    from loguru import logger

    if not sys.stderr.isatty():

        def log_line(siret: str, done: int, total: int | None) -> None:
            logger.info(_("[{}/{}] {} done"), done, total or "?", siret)

        yield log_line
        return
    from rich.progress import Progress

    # transient: the bar disappears, on success and on error, before the table or message.
    with Progress(transient=True) as bar:
        task = bar.add_task("Structures", total=None)

        def update(siret: str, done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total, description=siret)

        yield update


def _run_all_profiles(profile: str | None, options: dict[str, Any], work, *, as_json: bool):
    """Runs `work` for every profile, prints the results and exits with the worst code."""
    if profile:
        raise UsageError(
            T("--profile and --all-profiles exclude each other"),
            hint=T("give one or the other (CHORUS_BOT_PROFILE counts as --profile)"),
        )
    from bot import profiles

    with _progress_reporter() as progress:
        runs = profiles.run_each(
            options,
            lambda settings, credentials, handled: work(settings, credentials, handled, progress),
        )
    _print_results([result for run in runs for result in run.results], as_json, runs=runs)
    for run in runs:
        for error in (run.error, run.coverage_error):
            if error is not None:
                _report(error, prefix=_("profile {name}: ").format(name=run.name))
    raise typer.Exit(profiles.worst_exit_code(runs))


# Where a setting comes from, as `config show` and `credentials show` say it.
_SOURCES = (N_("default"), N_("file"), N_("env"), N_("option"))


def _state(state: str | None) -> str:
    """A structure's state or action as the table shows it; JSON keeps the identifier."""
    names = {
        "ok": _("ok"),
        "expires-soon": _("expires-soon"),
        "expired": _("expired"),
        "no-technical-user": _("no-technical-user"),
        "reset": _("reset"),
        "skipped": _("skipped"),
        "dry-run": _("dry-run"),
    }
    return names.get(state or "", state or "")


def _print_results(results, as_json: bool, runs=None) -> None:
    from bot import batch

    coverage_error = getattr(results, "coverage_error", None)
    if as_json:
        data: dict[str, Any] = {"structures": [result.as_dict() for result in results]}
        if runs is not None:
            from bot.profiles import worst_exit_code

            data["profiles"] = [run.as_dict() for run in runs]
            data["exit_code"] = worst_exit_code(runs)
        else:
            data.update(results.summary() if isinstance(results, batch.BatchResults) else {})
            data["exit_code"] = batch.worst_exit_code(results)
        _echo_json(data)
        if coverage_error is not None:
            _report(coverage_error)
        return
    # The profile column only when several profiles ran: single runs keep their layout.
    width = max([len(run.name) for run in runs] + [len(_("Profile"))]) if runs else 0

    def profile_cell(name: str | None) -> str:
        return f"{name or '-':{width}}  " if runs else ""

    user, expires, days, outcome = (
        _("Technical user"),
        _("Expires (Paris)"),
        _("Days"),
        _("Outcome"),
    )
    typer.echo(
        f"{profile_cell(_('Profile'))}{'SIRET':14}  {user:34}  {expires:16}  {days:>5}  {outcome}"
    )
    for run in runs or []:
        if run.error is not None:
            failed = _("FAILED: {error}").format(
                error=redactor_line(run.error.one_line(localized=True))
            )
            typer.echo(f"{profile_cell(run.name)}{'-':14}  {'-':34}  {'-':16}  {'':>5}  {failed}")
    for result in results:
        login, expires, days, outcome = "-", "-", "", ""
        if result.check is not None:
            status = result.check.status
            login, expires = status.login, f"{status.expires_at:%d/%m/%Y %H:%M}"
            days, outcome = str(result.check.days_left), _state(result.check.state)
        if result.reset is not None:
            report = result.reset
            shown = report.after or report.before
            login = shown.login
            if shown.expires_at is not None:  # None: the portal shows it nowhere
                expires, days = f"{shown.expires_at:%d/%m/%Y %H:%M}", str(shown.days_left())
            outcome = _state(report.action)
            if report.reconciled:
                outcome += " (" + _("reconciled") + ")"
            if report.warnings:
                outcome += " (" + "; ".join(map(localize, report.warnings)) + ")"
        if result.no_technical_user:
            outcome = _state(result.state)
        if result.error is not None:
            outcome = _("FAILED: {error}").format(error=result.error.one_line(localized=True))
        if result.note:
            outcome += f" ({localize(result.note)})"
        typer.echo(
            f"{profile_cell(result.profile)}{result.siret:14}  {login:34}  {expires:16}  "
            f"{days:>5}  {outcome}"
        )
    failed = [result for result in results if result.error is not None and result.error.run_dir]
    for result in failed:
        typer.echo(
            _("Diagnosis for {siret}: {folder}").format(
                siret=result.siret, folder=result.error.run_dir
            ),
            err=True,
        )
    if coverage_error is not None:
        _report(coverage_error)


# --- verify --------------------------------------------------------------------------------


def _verdict(result) -> str:
    if result.accepted:
        return _("accepted")
    return _("REJECTED (HTTP {status}, {reason})").format(
        status=result.http_status, reason=localize(result.reason)
    )


@app.command(
    help=_(
        "Verify the stored technical password against the Chorus Pro API (through PISTE)."
        "\n\nExit 0 accepted; 1 rejected or PISTE unreachable; 2 no PISTE credentials stored "
        "(`chorus-bot credentials set --piste`) or no technical password stored."
    ),
    epilog=_(
        "Examples: chorus-bot verify --structure 25900096600020 ; "
        "chorus-bot verify -s 25900096600020 --piste-env sandbox --json"
    ),
)
def verify(
    structure: Structure,
    as_json: AsJson = False,
    piste_env: PisteEnv = None,
    piste_api_url: PisteApiUrl = None,
    piste_oauth_url: PisteOauthUrl = None,
    timeout: Annotated[
        float | None,
        typer.Option(help=_("Seconds to wait for each PISTE answer (default 30).")),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help=_("Also trust this https host for PISTE (repeatable).")),
    ] = None,
    verbose: Verbose = False,
    profile: Profile = None,
    proxy: Proxy = None,
) -> None:
    settings = _settings(
        profile=profile,
        proxy=proxy,
        piste_env=piste_env,
        piste_api_url=piste_api_url,
        piste_oauth_url=piste_oauth_url,
        timeout=timeout,
        allow_hosts=allow_host,
        verbose=verbose,
    )
    from bot import verification
    from bot.siret import parse_siret

    result = verification.verify_structure(settings, structure)
    siret = parse_siret(structure)
    if as_json:
        _echo_json({"structure": siret, **result.as_dict()})
    else:
        typer.echo(
            _("Structure {siret}: {login}: {verdict} by the Chorus Pro API").format(
                siret=siret, login=result.login, verdict=_verdict(result)
            )
        )
    if not result.accepted:
        raise verification.rejected_error(siret, result, after_reset=False)


# --- credentials ---------------------------------------------------------------------------


def _read_secret_from_stdin(what: str) -> str:
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise UsageError(T("no {what} on standard input", what=what))
    return value


@credentials_app.command(
    "set",
    help=_(
        "Store the portal manager's password (or TOTP secret) in the keyring. Prompts, "
        "hidden.\n\nWith --profile NAME: that profile's identifiant; the other accounts' "
        "entries stay."
    ),
    epilog=_("Example: chorus-bot credentials set --identifiant claire.martin"),
)
def credentials_set(
    identifiant: Annotated[
        str | None,
        typer.Option(help=_("Portal identifiant (left part of the e-mail, or the -xt id).")),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help=_("Read the secret from standard input (for scripts).")
        ),
    ] = False,
    totp: Annotated[
        bool,
        typer.Option(
            "--totp", help=_("Store the authenticator (TOTP) secret instead of the password.")
        ),
    ] = False,
    smtp: Annotated[
        bool,
        typer.Option(
            "--smtp",
            help=_("Store the password of the SMTP `[mail] user` (hand-over e-mail)."),
        ),
    ] = False,
    imap: Annotated[
        bool,
        typer.Option(
            "--imap",
            help=_(
                "Store the password of the mailbox `[second_factor.imap] user` "
                "(e-mailed codes, unattended runs)."
            ),
        ),
    ] = False,
    piste: Annotated[
        bool,
        typer.Option(
            "--piste",
            help=_("Store the PISTE application's OAuth client id and secret (for `verify`)."),
        ),
    ] = False,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help=_("With --piste: the OAuth client id."))
    ] = None,
    proxy: Annotated[
        bool,
        typer.Option(
            "--proxy", help=_("Store the HTTP proxy's password (service chorus-bot/proxy).")
        ),
    ] = False,
    proxy_user: Annotated[
        str | None,
        typer.Option(
            "--proxy-user", help=_("With --proxy: the proxy user (default: the proxy URL's user).")
        ),
    ] = None,
    verbose: Verbose = False,
    profile: Profile = None,
) -> None:
    settings = _settings(profile=profile, identifiant=identifiant, verbose=verbose)
    if sum((totp, smtp, imap, piste or bool(client_id), proxy or bool(proxy_user))) > 1:
        raise UsageError(
            T(
                "--totp, --smtp, --imap, --piste and --proxy store different secrets: "
                "give one at a time"
            )
        )
    if proxy or proxy_user:
        _store_proxy_password(settings, proxy_user, password_stdin)
        return
    if smtp:
        _store_smtp_password(settings, password_stdin)
        return
    if imap:
        _store_imap_password(settings, password_stdin)
        return
    if piste or client_id:
        _store_piste_credentials(client_id, password_stdin)
        return
    from bot import secret_store
    from bot.auth import stdin_is_terminal
    from bot.config import profile_names

    # With profiles, `chorus-bot/portal` keeps one entry per account; without, just one.
    only = not profile_names()
    identifiant = settings.identifiant
    if not identifiant and only:
        existing = secret_store.get_manager()
        identifiant = existing.login if existing else None
    if not identifiant:
        if not stdin_is_terminal():
            raise CredentialsMissing(T("no identifiant given"), hint=T("pass --identifiant"))
        identifiant = typer.prompt(_("Identifiant (portail DGFiP)")).strip()
    what = T("TOTP secret") if totp else T("password")
    if password_stdin or not stdin_is_terminal():
        secret = _read_secret_from_stdin(what)
    else:
        question = _("TOTP secret for {who}") if totp else _("Password for {who}")
        secret = typer.prompt(
            question.format(who=identifiant),
            hide_input=True,
            confirmation_prompt=_("Repeat for confirmation") if not totp else False,
        )
    if totp:
        import binascii

        import pyotp

        secret = secret.replace(" ", "").upper()
        try:
            pyotp.TOTP(secret).now()
        except (binascii.Error, ValueError):
            raise UsageError(
                T("the TOTP secret is not valid base32"), hint=T("copy it again from the portal")
            ) from None
        secret_store.set_totp_secret(identifiant, secret, only=only)
        typer.echo(
            f"TOTP secret stored in the keyring: service {secret_store.TOTP_SERVICE!r}, "
            f"username {identifiant!r}"
        )
        return
    secret_store.set_manager(identifiant, secret, only=only)
    typer.echo(
        f"Password stored in the keyring: service {secret_store.PORTAL_SERVICE!r}, "
        f"username {identifiant!r}"
    )


def _store_piste_credentials(client_id: str | None, password_stdin: bool) -> None:
    from bot import secret_store
    from bot.auth import stdin_is_terminal

    if not client_id:
        existing = secret_store.get_piste_client()
        client_id = existing.login if existing else None
    if not client_id:
        if not stdin_is_terminal():
            raise CredentialsMissing(T("no PISTE client id given"), hint=T("pass --client-id"))
        client_id = typer.prompt(_("PISTE OAuth client id")).strip()
    if password_stdin or not stdin_is_terminal():
        secret = _read_secret_from_stdin(T("PISTE client secret"))
    else:
        secret = typer.prompt(
            _("PISTE client secret for {client}").format(client=client_id), hide_input=True
        )
    secret_store.set_piste_client(client_id, secret.strip())
    typer.echo(
        _(
            "PISTE client secret stored in the keyring: service {service!r}, username {user!r}"
        ).format(service=secret_store.PISTE_SERVICE, user=client_id)
    )


def _store_proxy_password(settings: Settings, user: str | None, password_stdin: bool) -> None:
    from bot import secret_store
    from bot.auth import stdin_is_terminal

    user = user or (settings.proxy.username if settings.proxy else None)
    if not user:
        if not stdin_is_terminal():
            raise CredentialsMissing(
                T("no proxy user given"), hint=T("pass --proxy-user, or put it in the proxy URL")
            )
        user = typer.prompt(_("Proxy user")).strip()
    if password_stdin or not stdin_is_terminal():
        secret = _read_secret_from_stdin(T("proxy password"))
    else:
        secret = typer.prompt(
            _("Proxy password for {user}").format(user=user),
            hide_input=True,
            confirmation_prompt=_("Repeat for confirmation"),
        )
    secret_store.set_proxy_password(user, secret)
    typer.echo(
        _("Proxy password stored in the keyring: service {service!r}, username {user!r}").format(
            service=secret_store.PROXY_SERVICE, user=user
        )
    )


def _store_smtp_password(settings: Settings, password_stdin: bool) -> None:
    from bot import secret_store
    from bot.auth import stdin_is_terminal

    user = settings.mail.user if settings.mail else None
    if not user:
        raise UsageError(
            T("no SMTP user is configured"),
            hint=T("set `user` in the [mail] table of {file} first", file=str(config_file())),
        )
    if password_stdin or not stdin_is_terminal():
        secret = _read_secret_from_stdin(T("SMTP password"))
    else:
        secret = typer.prompt(
            _("SMTP password for {user} ({host})").format(user=user, host=settings.mail.host),
            hide_input=True,
            confirmation_prompt=_("Repeat for confirmation"),
        )
    secret_store.set_smtp_password(user, secret)
    typer.echo(
        _("SMTP password stored in the keyring: service {service!r}, username {user!r}").format(
            service=secret_store.SMTP_SERVICE, user=user
        )
    )


def _store_imap_password(settings: Settings, password_stdin: bool) -> None:
    from bot import secret_store
    from bot.auth import stdin_is_terminal

    imap = settings.imap
    if imap is None:
        raise UsageError(
            T("no mailbox is configured"),
            hint=T(
                "add a [second_factor.imap] table (host, user, sender) to {value} first",
                value=config_file(),
            ),
        )
    if password_stdin or not stdin_is_terminal():
        secret = _read_secret_from_stdin("IMAP password")
    else:
        secret = typer.prompt(
            f"IMAP password for {imap.user} ({imap.host})",
            hide_input=True,
            confirmation_prompt=True,
        )
    secret_store.set_imap_password(imap.user, secret)
    typer.echo(
        f"IMAP password stored in the keyring: service {secret_store.IMAP_SERVICE!r}, "
        f"username {imap.user!r}"
    )


@credentials_app.command(
    "show",
    help=_("Name the identifiant configured and where its password is. Never shows the password."),
    epilog=_("Example: chorus-bot credentials show"),
)
def credentials_show(verbose: Verbose = False, profile: Profile = None) -> None:
    settings = _settings(profile=profile, verbose=verbose)
    from bot import secret_store

    stored = secret_store.get_manager(settings.identifiant)
    typer.echo(_("Keyring backend : {backend}").format(backend=secret_store.backend_name()))
    if settings.identifiant:
        typer.echo(
            _("Identifiant     : {who} (from {source})").format(
                who=settings.identifiant, source=_(settings.sources["identifiant"])
            )
        )
    if stored:
        typer.echo(
            _("Stored password : yes, for {user!r} (service {service!r})").format(
                user=stored.login, service=secret_store.PORTAL_SERVICE
            )
        )
    else:
        typer.echo(_("Stored password : none (run `chorus-bot credentials set`)"))
    totp = secret_store.get_totp_secret(settings.identifiant)
    typer.echo(
        _("TOTP secret     : yes, for {user!r}").format(user=totp.login)
        if totp
        else _("TOTP secret     : none")
    )
    if settings.proxy is not None:
        user = settings.proxy.username
        found = secret_store.get_proxy_password(user)
        if found:
            line = _("Proxy password  : yes, for {user!r} (service {service!r})").format(
                user=found.login, service=secret_store.PROXY_SERVICE
            )
        elif user:
            line = _(
                "Proxy password  : none for {user!r} "
                "(`chorus-bot credentials set --proxy` if the proxy asks for one)"
            ).format(user=user)
        else:
            line = _(
                "Proxy password  : none "
                "(`chorus-bot credentials set --proxy` if the proxy asks for one)"
            )
        typer.echo(line)
    piste = secret_store.get_piste_client()
    typer.echo(
        _("PISTE client    : yes, client id {client!r} (service {service!r})").format(
            client=piste.login, service=secret_store.PISTE_SERVICE
        )
        if piste
        else _("PISTE client    : none (`chorus-bot credentials set --piste` enables `verify`)")
    )
    _show_imap_credentials(settings)


def _show_imap_credentials(settings: Settings) -> None:
    from bot import secret_store

    stored = secret_store.get_imap_entry()
    service = secret_store.IMAP_SERVICE
    if stored is not None:
        line = _("IMAP password   : yes, for {user!r} (service {service!r})").format(
            user=stored.login, service=service
        )
        if settings.imap is not None and stored.login != settings.imap.user:
            line += _(", but [second_factor.imap] user is {user!r}").format(user=settings.imap.user)
    elif settings.imap is not None:
        line = _(
            "IMAP password   : none for {user!r} (run `chorus-bot credentials set --imap`)"
        ).format(user=settings.imap.user)
    else:
        line = _("IMAP password   : none (no [second_factor.imap] configured)")
    typer.echo(line)


@credentials_app.command(
    "delete",
    help=_(
        "Delete the portal manager's password, TOTP secret, PISTE client and IMAP password "
        "from the keyring.\n\nWith --profile NAME: only that profile's password and TOTP "
        "secret."
    ),
    epilog=_("Example: chorus-bot credentials delete"),
)
def credentials_delete(verbose: Verbose = False, profile: Profile = None) -> None:
    settings = _settings(profile=profile, verbose=verbose)
    from bot import secret_store

    account = settings.identifiant if settings.profile else None
    removed = secret_store.delete_manager(account)
    removed_totp = secret_store.delete_totp_secret(account)
    shared = account is None  # the PISTE client and the mailbox are not one profile's
    removed_piste = secret_store.delete_piste_client() if shared else False
    removed_imap = secret_store.delete_imap_password() if shared else False
    typer.echo(
        "Deleted."
        if removed or removed_totp or removed_piste or removed_imap
        else "Nothing was stored."
    )


# --- secret / recover / history / config ---------------------------------------------------


@secret_app.command(
    "show",
    help=_("Print the stored technical login and password, for pasting into the connector."),
    epilog=_("Example: chorus-bot secret show --structure 25900096600020 --json"),
)
def secret_show(
    structure: Structure, as_json: AsJson = False, verbose: Verbose = False, profile: Profile = None
) -> None:
    _settings(profile=profile, verbose=verbose)
    from bot import secret_store
    from bot.siret import parse_siret

    siret = parse_siret(structure)
    stored = secret_store.get_technical(siret)
    if stored is None:
        raise CredentialsMissing(
            T("no technical password is stored for {siret}", siret=siret),
            hint=T("run `chorus-bot reset --structure {siret}` first", siret=siret),
        )
    if as_json:
        _echo_json({"structure": siret, "login": stored.login, "password": stored.password})
    else:
        typer.echo(_("Technical user : {login}").format(login=stored.login))
        typer.echo(_("Password       : {password}").format(password=stored.password))


@app.command(
    help=_("Store passwords left in rescue files into the keyring, verify, and delete the files."),
    epilog=_("Example: chorus-bot recover"),
)
def recover(verbose: Verbose = False, profile: Profile = None) -> None:
    settings = _settings(profile=profile, verbose=verbose)
    from bot import secret_store
    from bot.rescue import list_rescues

    rescues = list_rescues(settings.state_dir)
    if not rescues:
        typer.echo(_("No rescue file: nothing to recover."))
        return
    for rescue in rescues:
        from bot.log import redactor

        redactor.add(rescue.password)
        secret_store.store_new_technical(rescue.siret, rescue.login, rescue.password)
        rescue.path.unlink()
        typer.echo(
            f"Recovered {rescue.siret} ({rescue.login}) into the keyring; deleted {rescue.path}"
        )


@app.command(
    help=_("Show the audit trail: one line per run."),
    epilog=_("Example: chorus-bot history --json"),
)
def history(as_json: AsJson = False, verbose: Verbose = False, profile: Profile = None) -> None:
    settings = _settings(profile=profile, verbose=verbose)
    from bot import audit

    records = audit.read(settings.state_dir)
    if as_json:
        _echo_json(records)
        return
    if not records:
        typer.echo(_("No run recorded yet."))
    # The records hold identifiers and English details (the same in both languages); only
    # the words around them are translated.
    for r in records:
        exit_code = _("exit {code}").format(code=r.get("exit_code"))
        typer.echo(
            f"{r.get('time', ''):25} {r.get('action', ''):8} {r.get('structure') or '-':14} "
            f"{r.get('outcome', ''):12} {exit_code}  {r.get('detail') or ''}".rstrip()
        )


@config_app.command(
    "path",
    help=_("Print where the configuration file is (it may not exist yet)."),
    epilog=_("Example: chorus-bot config path"),
)
def config_path() -> None:
    typer.echo(str(config_file()))


@config_app.command(
    "show",
    help=_(
        "Print the effective configuration and where each value comes from. Never a "
        "secret.\n\nThe options show what a command given the same options would use; "
        "--profile NAME, that profile merged over the top level (source `profile:NAME`)."
    ),
    epilog=_("Examples: chorus-bot config show ; chorus-bot config show --timeout 60"),
)
def config_show(
    portal_url: PortalUrl = None,
    timeout: Timeout = None,
    browser: Browser = None,
    allow_host: AllowHost = None,
    verbose: Verbose = False,
    profile: Profile = None,
    proxy: Proxy = None,
) -> None:
    settings = _settings(
        profile=profile,
        proxy=proxy,
        portal_url=portal_url,
        timeout=timeout,
        browser=browser,
        allow_hosts=allow_host,
        verbose=verbose,
    )
    from bot.config import profile_names

    typer.echo(f"# {config_file()}")
    names = profile_names()
    if names:
        typer.echo(_("# profiles: {names}").format(names=", ".join(names)))
    typer.echo(f"profile = {settings.profile!r}")
    for key in (
        "identifiant",
        "portal_url",
        "warn_days",
        "within_days",
        "reconcile",
        "browser",
        "timeout",
        "concurrency",
        "path",
        "allow_hosts",
        "piste_env",
        "piste_api_url",
        "piste_oauth_url",
        "piste_backoff",
        "structures",
        "proxy",
        "no_proxy",
        "ca_file",
    ):
        value = getattr(settings, key)
        value = list(value) if isinstance(value, tuple) else value
        value = str(value) if key == "proxy" and value is not None else value  # no password
        typer.echo(f"{key} = {value!r}  # {_(settings.sources.get(key, 'default'))}")
    _show_handover_config(settings)
    _show_texts(settings)
    _show_imap_config(settings)
    typer.echo(_("# state folder: {folder}").format(folder=settings.state_dir))


def _show_texts(settings: Settings) -> None:
    """Every text the bot looks for on the portal, the user's first, and where it comes from."""
    from flows.texts import KEYS

    typer.echo(_("[texts]  # what the bot looks for on the portal, tried in this order"))
    for key in KEYS:
        words = list(settings.texts.words(key))
        typer.echo(f"texts.{key} = {words!r}  # {_(settings.texts.source(key))}")


def _show_handover_config(settings: Settings) -> None:
    """post_reset_command and the [mail] table. The SMTP password is only located, not read."""
    from dataclasses import fields

    from bot.secret_store import SMTP_SERVICE

    for key in ("post_reset_command", "post_reset_timeout"):
        value = getattr(settings, key)
        value = list(value) if isinstance(value, tuple) else value
        typer.echo(f"{key} = {value!r}  # {_(settings.sources.get(key, 'default'))}")
    mail = settings.mail
    if mail is None:
        typer.echo(_("# [mail]: not configured, no hand-over e-mail"))
        return
    typer.echo(f"[mail]  # {_(settings.sources.get('mail', 'file'))}")
    for item in fields(mail):
        if item.name == "given":
            continue
        value = getattr(mail, item.name)
        value = list(value) if isinstance(value, tuple) else value
        source = _(settings.sources.get(f"mail.{item.name}", "default"))
        typer.echo(f"mail.{item.name} = {value!r}  # {source}")
    if mail.user:
        typer.echo(
            _("# SMTP password: in the keyring, service {service!r}, username {user!r}").format(
                service=SMTP_SERVICE, user=mail.user
            )
        )


def _show_imap_config(settings: Settings) -> None:
    """[second_factor.imap]. The IMAP password is only located, not read."""
    from dataclasses import fields

    from bot.secret_store import IMAP_SERVICE

    imap = settings.imap
    if imap is None:
        typer.echo(
            _("# [second_factor.imap]: not configured, e-mailed codes are typed on a terminal")
        )
        return
    typer.echo(f"[second_factor.imap]  # {_('file')}")
    for item in fields(imap):
        if item.name == "given":
            continue
        source = _("file") if item.name in imap.given else _("default")
        typer.echo(f"second_factor.imap.{item.name} = {getattr(imap, item.name)!r}  # {source}")
    typer.echo(
        _("# IMAP password: in the keyring, service {service!r}, username {user!r}").format(
            service=IMAP_SERVICE, user=imap.user
        )
    )


# --- entry point ---------------------------------------------------------------------------


def redactor_line(text: str) -> str:
    from bot.log import redactor

    return redactor.redact(text)


def _report(error: ChorusBotError, prefix: str = "") -> None:
    line = prefix + redactor_line(error.one_line(localized=True))
    typer.echo(_("chorus-bot: error: {line}").format(line=line), err=True)
    if error.run_dir:
        typer.echo(
            _("chorus-bot: diagnosis saved in {folder}").format(folder=error.run_dir), err=True
        )
    if isinstance(error, PasswordRescued):
        _offer_rescued_password(error)


def _offer_rescued_password(error: PasswordRescued) -> None:
    from bot.auth import stdin_is_terminal

    path = getattr(error, "rescue_file", None)
    if not path or not stdin_is_terminal():
        return
    if typer.confirm(_("Show the new password now, to copy it by hand?"), default=False):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        typer.echo(_("Technical user : {login}").format(login=data["login"]))
        typer.echo(_("Password       : {password}").format(password=data["password"]))


def _interrupt(signum: int, frame: object) -> None:
    # An exception of our own, not KeyboardInterrupt: the command's cleanup runs, the browser
    # closes, the run folder is kept, and the exit code is the documented one.
    name = signal.Signals(signum).name
    raise Interrupted(
        T("interrupted by {signal}", signal=name),
        hint=T("run the command again; see the run folder"),
    )


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from bot import cli_text

        # Typer's own texts (help sections, usage errors) in the interface's language too.
        sys.exit(cli_text.run(app, argv, prog_name="chorus-bot"))
    except ChorusBotError as error:
        if os.environ.get("CHORUS_BOT_DEBUG"):
            raise
        _report(error)
        sys.exit(error.exit_code)
    except Exception as error:
        if os.environ.get("CHORUS_BOT_DEBUG"):
            raise
        from loguru import logger

        from bot.log import redactor

        logger.opt(exception=True).debug("unexpected error")
        typer.echo(
            _(
                "chorus-bot: internal error: {kind}: {what}. "
                "Run again with CHORUS_BOT_DEBUG=1 for the traceback, and report it."
            ).format(
                kind=type(error).__name__,
                what=redactor.redact(str(error).splitlines()[0] if str(error) else ""),
            ),
            err=True,
        )
        sys.exit(1)
