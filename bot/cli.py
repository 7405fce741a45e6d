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

app = typer.Typer(
    name="chorus-bot",
    help="Reads and resets the Chorus Pro technical user's password through the DGFiP portal, "
    "and keeps it in the OS keyring.\n\nExit codes: 0 OK; 1 failure; 2 bad usage or input; "
    "3 expires within the warning window (check); 4 expired (check); 5 new password saved "
    "to a rescue file (reset); 6 reset done but the hand-over (mail, post_reset_command) "
    "failed; 130 interrupted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rendering it with rich costs ~0.35 s of CPU, more than the whole start-up.
    rich_markup_mode=None,
)
credentials_app = typer.Typer(
    help="The portal manager's credentials, kept in the keyring.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
secret_app = typer.Typer(
    help="The technical users' credentials kept in the keyring.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
config_app = typer.Typer(
    help="The configuration file (non-secret defaults).",
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
        help="A structure's SIRET (14 digits); repeatable. Default: `structures` in the config.",
    ),
]
AllStructures = Annotated[
    bool, typer.Option("--all", help="Every structure of `Mes structures`, one login for all.")
]
Structure = Annotated[
    str, typer.Option("--structure", "-s", help="The structure's SIRET (14 digits).")
]
PortalUrl = Annotated[
    str | None,
    typer.Option(
        help=f"Portal start page (env CHORUS_BOT_PORTAL_URL; default {DEFAULT_PORTAL_URL})."
    ),
]
Headed = Annotated[bool, typer.Option("--headed", help="Show the browser window.")]
Timeout = Annotated[
    float | None, typer.Option(help="Seconds to wait for each page element (default 30).")
]
Browser = Annotated[
    str | None,
    typer.Option("--browser", help="Chromium or Chrome executable (env CHORUS_BOT_BROWSER)."),
]
AllowHost = Annotated[
    list[str] | None,
    typer.Option("--allow-host", help="Also trust this https host for the portal (repeatable)."),
]
Trace = Annotated[
    bool,
    typer.Option(
        "--trace",
        help="Record a Playwright trace (reset always does) and keep the run folder on success "
        "too.",
    ),
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
# Where the password is verified (PISTE): hosts per environment, overridable for tests.
PisteEnv = Annotated[
    str | None,
    typer.Option(
        "--piste-env",
        help="PISTE environment whose hosts are used: production (default) or sandbox.",
    ),
]
PisteApiUrl = Annotated[
    str | None,
    typer.Option("--piste-api-url", help="Override the PISTE API base URL (https, or loopback)."),
]
PisteOauthUrl = Annotated[
    str | None,
    typer.Option(
        "--piste-oauth-url", help="Override the PISTE OAuth token URL (https, or loopback)."
    ),
]


def _settings(**options: Any) -> Settings:
    settings = build_settings(**options)
    from bot import log

    log.configure(verbose=settings.verbose, log_file=settings.log_file)
    return settings


def _credential_source(settings: Settings):
    from bot.auth import CredentialSource

    return CredentialSource(identifiant=settings.identifiant, imap=settings.imap)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _fr(moment) -> str:
    return f"{moment:%d/%m/%Y %H:%M:%S} (Europe/Paris)"


# --- check / reset -------------------------------------------------------------------------


@app.command(
    epilog="Examples: chorus-bot check --structure 25900096600020 --warn-days 45 ; "
    "chorus-bot check -s 25900096600020 -s 93319084500067 --json ; chorus-bot check --all"
)
def check(
    structure: Structures = None,
    all_structures: AllStructures = False,
    warn_days: Annotated[
        int | None,
        typer.Option(help="Exit 3 when the password expires within this many days (default 30)."),
    ] = None,
    as_json: AsJson = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Also verify the stored password against the Chorus Pro API."
        ),
    ] = False,
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
) -> None:
    """Read the technical login and the password's expiry date. Changes nothing."""
    settings = _settings(
        warn_days=warn_days,
        piste_env=piste_env,
        piste_api_url=piste_api_url,
        piste_oauth_url=piste_oauth_url,
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
        raise UsageError("--verify works with one --structure at a time")
    if targets is None or len(targets) > 1:
        with _progress_reporter() as progress:
            results = batch.check_many(
                settings, targets, _credential_source(settings), progress=progress
            )
        _print_results(results, as_json)
        raise typer.Exit(batch.worst_exit_code(results))
    report = jobs.check(settings, targets[0], _credential_source(settings), verify=verify)
    if as_json:
        _echo_json(report.as_dict())
    else:
        status = report.status
        typer.echo(f"Structure {status.siret}")
        typer.echo(f"  Technical user : {status.login}")
        typer.echo(f"  Expires        : {_fr(status.expires_at)}")
        state = {
            "ok": "OK",
            "expires-soon": f"EXPIRES SOON (within {report.warn_days} days)",
            "expired": "EXPIRED",
        }
        typer.echo(f"  Days left      : {report.days_left} — {state[report.state]}")
        if report.verification is not None:
            typer.echo(f"  Chorus Pro API : {_verdict(report.verification)}")
    if report.verification is not None and not report.verification.accepted:
        from bot.verification import rejected_error

        raise rejected_error(report.status.siret, report.verification, after_reset=False)
    raise typer.Exit(report.exit_code)


@app.command(
    epilog="Examples: chorus-bot reset --structure 25900096600020 --dry-run ; "
    "chorus-bot reset --structure 25900096600020 ; chorus-bot reset --all (monthly, scheduled)"
)
def reset(
    structure: Structures = None,
    all_structures: AllStructures = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only read the expiry date, like `check`.")
    ] = False,
    within_days: Annotated[
        int | None,
        typer.Option(
            help="Reset only when the password expires within this many days (default 90)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Reset even if the expiry is far away.")
    ] = False,
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
) -> None:
    """Reset the technical user's password and store the new one in the keyring.

    When PISTE credentials are stored, the new password is then verified against the Chorus
    Pro API (exit 1 if rejected; the previous password stays in the keyring beside it).
    The new password is never printed: read it with `chorus-bot secret show`.

    Safe to run from a scheduler: it resets only when the expiry is within --within-days,
    proves the keyring works before touching the portal, and refuses a second run on the
    same structure at the same time. The password it replaces is kept under
    `chorus-bot/technical/<SIRET>/previous`. If the keyring fails after the reset, the new
    password goes to a rescue file readable only by you (exit 5): fix the keyring, then run
    `chorus-bot recover`. On failure the run folder (step, URL, masked screenshot, page
    without input values, trace of the steps before the reset click) is printed.
    """
    settings = _settings(
        within_days=within_days,
        piste_env=piste_env,
        piste_api_url=piste_api_url,
        piste_oauth_url=piste_oauth_url,
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
    if targets is None or len(targets) > 1:
        credentials = _credential_source(settings)
        with _progress_reporter() as progress:
            if dry_run:
                results = batch.check_many(
                    settings, targets, credentials, action="dry-run", progress=progress
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
    typer.echo(f"Structure {report.siret}")
    typer.echo(f"  Technical user : {before.login}")
    if report.action == "dry-run":
        typer.echo(f"  Expires        : {_fr(before.expires_at)}, in {before.days_left()} days")
        typer.echo("  Dry run: nothing was changed.")
    elif report.action == "skipped":
        typer.echo(f"  Expires        : {_fr(before.expires_at)}, in {before.days_left()} days")
        typer.echo(
            f"  Not reset: the password expires in more than {settings.within_days} days "
            "(--force resets anyway)."
        )
    else:
        assert report.after is not None
        typer.echo(f"  Old expiry     : {_fr(before.expires_at)}")
        typer.echo(f"  New expiry     : {_fr(report.after.expires_at)}")
        typer.echo(
            f"  New password stored in the keyring: service {report.stored_in!r}, "
            f"username {report.after.login!r}"
        )
        typer.echo(f"  Read it with   : chorus-bot secret show --structure {report.siret}")
        for note in report.notes:
            typer.echo(f"  {note}")
    # 6 when the hand-over failed: the warning was logged on stderr when it happened.
    raise typer.Exit(report.exit_code)


@app.command(epilog="Example: chorus-bot status --json")
def status(
    warn_days: Annotated[
        int | None,
        typer.Option(help="Exit 3 when a password expires within this many days (default 30)."),
    ] = None,
    as_json: AsJson = False,
    portal_url: PortalUrl = None,
    headed: Headed = False,
    timeout: Timeout = None,
    browser: Browser = None,
    allow_host: AllowHost = None,
    trace: Trace = False,
    verbose: Verbose = False,
) -> None:
    """Every structure's technical user and expiry, soonest first. One login; changes nothing.

    Exit 0 guarantees that at least one structure was read, that every structure the page
    announces was read, and that all of them are fine; reading none, or fewer than announced,
    exits 1. A structure with no technical user is listed as no-technical-user.
    """
    settings = _settings(
        warn_days=warn_days,
        portal_url=portal_url,
        headed=headed,
        timeout=timeout,
        browser=browser,
        allow_hosts=allow_host,
        trace=trace,
        verbose=verbose,
    )
    from bot import batch

    with _progress_reporter() as progress:
        results = batch.status(settings, _credential_source(settings), progress=progress)
    _print_results(results, as_json)
    raise typer.Exit(batch.worst_exit_code(results))


@contextmanager
def _progress_reporter() -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar on a terminal; plain log lines otherwise (schedulers, CI logs)."""
    from loguru import logger

    if not sys.stderr.isatty():

        def log_line(siret: str, done: int, total: int | None) -> None:
            logger.info("[{}/{}] {} done", done, total or "?", siret)

        yield log_line
        return
    from rich.progress import Progress

    # transient: the bar disappears, on success and on error, before the table or message.
    with Progress(transient=True) as bar:
        task = bar.add_task("Structures", total=None)

        def update(siret: str, done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total, description=siret)

        yield update


def _print_results(results, as_json: bool) -> None:
    from bot import batch

    coverage_error = getattr(results, "coverage_error", None)
    if as_json:
        summary = results.summary() if isinstance(results, batch.BatchResults) else {}
        _echo_json(
            {
                "structures": [result.as_dict() for result in results],
                **summary,
                "exit_code": batch.worst_exit_code(results),
            }
        )
        if coverage_error is not None:
            _report(coverage_error)
        return
    typer.echo(f"{'SIRET':14}  {'Technical user':34}  {'Expires (Paris)':16}  {'Days':>5}  Outcome")
    for result in results:
        login, expires, days, outcome = "-", "-", "", ""
        if result.check is not None:
            status = result.check.status
            login, expires = status.login, f"{status.expires_at:%d/%m/%Y %H:%M}"
            days, outcome = str(result.check.days_left), result.check.state
        if result.reset is not None:
            report = result.reset
            shown = report.after or report.before
            login, expires = shown.login, f"{shown.expires_at:%d/%m/%Y %H:%M}"
            days, outcome = str(shown.days_left()), report.action
            if report.warnings:
                outcome += " (" + "; ".join(report.warnings) + ")"
        if result.no_technical_user:
            outcome = result.state
        if result.error is not None:
            outcome = f"FAILED: {result.error.one_line()}"
        typer.echo(f"{result.siret:14}  {login:34}  {expires:16}  {days:>5}  {outcome}")
    failed = [result for result in results if result.error is not None and result.error.run_dir]
    for result in failed:
        typer.echo(f"Diagnosis for {result.siret}: {result.error.run_dir}", err=True)
    if coverage_error is not None:
        _report(coverage_error)


# --- verify --------------------------------------------------------------------------------


def _verdict(result) -> str:
    if result.accepted:
        return "accepted"
    return f"REJECTED (HTTP {result.http_status}, {result.reason})"


@app.command(
    epilog="Examples: chorus-bot verify --structure 25900096600020 ; "
    "chorus-bot verify -s 25900096600020 --piste-env sandbox --json"
)
def verify(
    structure: Structure,
    as_json: AsJson = False,
    piste_env: PisteEnv = None,
    piste_api_url: PisteApiUrl = None,
    piste_oauth_url: PisteOauthUrl = None,
    timeout: Annotated[
        float | None, typer.Option(help="Seconds to wait for each PISTE answer (default 30).")
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="Also trust this https host for PISTE (repeatable)."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Verify the stored technical password against the Chorus Pro API (through PISTE).

    Exit 0 accepted; 1 rejected or PISTE unreachable; 2 no PISTE credentials stored
    (`chorus-bot credentials set --piste`) or no technical password stored.
    """
    settings = _settings(
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
        typer.echo(f"Structure {siret}: {result.login}: {_verdict(result)} by the Chorus Pro API")
    if not result.accepted:
        raise verification.rejected_error(siret, result, after_reset=False)


# --- credentials ---------------------------------------------------------------------------


def _read_secret_from_stdin(what: str) -> str:
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise UsageError(f"no {what} on standard input")
    return value


@credentials_app.command(
    "set", epilog="Example: chorus-bot credentials set --identifiant claire.martin"
)
def credentials_set(
    identifiant: Annotated[
        str | None,
        typer.Option(help="Portal identifiant (left part of the e-mail, or the -xt id)."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the secret from standard input (for scripts)."),
    ] = False,
    totp: Annotated[
        bool,
        typer.Option(
            "--totp", help="Store the authenticator (TOTP) secret instead of the password."
        ),
    ] = False,
    smtp: Annotated[
        bool,
        typer.Option(
            "--smtp", help="Store the password of the SMTP `[mail] user` (hand-over e-mail)."
        ),
    ] = False,
    imap: Annotated[
        bool,
        typer.Option(
            "--imap",
            help="Store the password of the mailbox `[second_factor.imap] user` "
            "(e-mailed codes, unattended runs).",
        ),
    ] = False,
    piste: Annotated[
        bool,
        typer.Option(
            "--piste",
            help="Store the PISTE application's OAuth client id and secret (for `verify`).",
        ),
    ] = False,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="With --piste: the OAuth client id.")
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Store the portal manager's password (or TOTP secret) in the keyring. Prompts, hidden."""
    settings = _settings(identifiant=identifiant, verbose=verbose)
    if sum((totp, smtp, imap, piste or bool(client_id))) > 1:
        raise UsageError(
            "--totp, --smtp, --imap and --piste store different secrets: give one at a time"
        )
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

    identifiant = settings.identifiant
    if not identifiant:
        existing = secret_store.get_manager()
        identifiant = existing.login if existing else None
    if not identifiant:
        if not stdin_is_terminal():
            raise CredentialsMissing("no identifiant given", hint="pass --identifiant")
        identifiant = typer.prompt("Identifiant (portail DGFiP)").strip()
    what = "TOTP secret" if totp else "password"
    if password_stdin or not stdin_is_terminal():
        secret = _read_secret_from_stdin(what)
    else:
        secret = typer.prompt(
            f"{what.capitalize()} for {identifiant}", hide_input=True, confirmation_prompt=not totp
        )
    if totp:
        import binascii

        import pyotp

        secret = secret.replace(" ", "").upper()
        try:
            pyotp.TOTP(secret).now()
        except (binascii.Error, ValueError):
            raise UsageError(
                "the TOTP secret is not valid base32", hint="copy it again from the portal"
            ) from None
        secret_store.set_totp_secret(identifiant, secret)
        typer.echo(
            f"TOTP secret stored in the keyring: service {secret_store.TOTP_SERVICE!r}, "
            f"username {identifiant!r}"
        )
        return
    secret_store.set_manager(identifiant, secret)
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
            raise CredentialsMissing("no PISTE client id given", hint="pass --client-id")
        client_id = typer.prompt("PISTE OAuth client id").strip()
    if password_stdin or not stdin_is_terminal():
        secret = _read_secret_from_stdin("PISTE client secret")
    else:
        secret = typer.prompt(f"PISTE client secret for {client_id}", hide_input=True)
    secret_store.set_piste_client(client_id, secret.strip())
    typer.echo(
        f"PISTE client secret stored in the keyring: service {secret_store.PISTE_SERVICE!r}, "
        f"username {client_id!r}"
    )


def _store_smtp_password(settings: Settings, password_stdin: bool) -> None:
    from bot import secret_store
    from bot.auth import stdin_is_terminal

    user = settings.mail.user if settings.mail else None
    if not user:
        raise UsageError(
            "no SMTP user is configured",
            hint=f"set `user` in the [mail] table of {config_file()} first",
        )
    if password_stdin or not stdin_is_terminal():
        secret = _read_secret_from_stdin("SMTP password")
    else:
        secret = typer.prompt(
            f"SMTP password for {user} ({settings.mail.host})",
            hide_input=True,
            confirmation_prompt=True,
        )
    secret_store.set_smtp_password(user, secret)
    typer.echo(
        f"SMTP password stored in the keyring: service {secret_store.SMTP_SERVICE!r}, "
        f"username {user!r}"
    )


def _store_imap_password(settings: Settings, password_stdin: bool) -> None:
    from bot import secret_store
    from bot.auth import stdin_is_terminal

    imap = settings.imap
    if imap is None:
        raise UsageError(
            "no mailbox is configured",
            hint=f"add a [second_factor.imap] table (host, user, sender) to {config_file()} first",
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


@credentials_app.command("show", epilog="Example: chorus-bot credentials show")
def credentials_show(verbose: Verbose = False) -> None:
    """Name the identifiant configured and where its password is. Never shows the password."""
    settings = _settings(verbose=verbose)
    from bot import secret_store

    stored = secret_store.get_manager()
    typer.echo(f"Keyring backend : {secret_store.backend_name()}")
    if settings.identifiant:
        typer.echo(
            f"Identifiant     : {settings.identifiant} (from {settings.sources['identifiant']})"
        )
    if stored:
        typer.echo(
            f"Stored password : yes, for {stored.login!r} (service {secret_store.PORTAL_SERVICE!r})"
        )
    else:
        typer.echo("Stored password : none (run `chorus-bot credentials set`)")
    totp = secret_store.get_totp_secret()
    typer.echo(f"TOTP secret     : {'yes, for ' + repr(totp.login) if totp else 'none'}")
    piste = secret_store.get_piste_client()
    typer.echo(
        f"PISTE client    : yes, client id {piste.login!r} (service {secret_store.PISTE_SERVICE!r})"
        if piste
        else "PISTE client    : none (`chorus-bot credentials set --piste` enables `verify`)"
    )
    _show_imap_credentials(settings)


def _show_imap_credentials(settings: Settings) -> None:
    from bot import secret_store

    stored = secret_store.get_imap_entry()
    where = f"service {secret_store.IMAP_SERVICE!r}"
    if stored is not None:
        line = f"IMAP password   : yes, for {stored.login!r} ({where})"
        if settings.imap is not None and stored.login != settings.imap.user:
            line += f", but [second_factor.imap] user is {settings.imap.user!r}"
    elif settings.imap is not None:
        line = (
            f"IMAP password   : none for {settings.imap.user!r} "
            "(run `chorus-bot credentials set --imap`)"
        )
    else:
        line = "IMAP password   : none (no [second_factor.imap] configured)"
    typer.echo(line)


@credentials_app.command("delete", epilog="Example: chorus-bot credentials delete")
def credentials_delete(verbose: Verbose = False) -> None:
    """Delete the portal manager's password, TOTP secret, PISTE client and IMAP password from
    the keyring."""
    _settings(verbose=verbose)
    from bot import secret_store

    removed = secret_store.delete_manager()
    removed_totp = secret_store._delete(secret_store.TOTP_SERVICE)
    removed_piste = secret_store.delete_piste_client()
    removed_imap = secret_store.delete_imap_password()
    typer.echo(
        "Deleted."
        if removed or removed_totp or removed_piste or removed_imap
        else "Nothing was stored."
    )


# --- secret / recover / history / config ---------------------------------------------------


@secret_app.command(
    "show", epilog="Example: chorus-bot secret show --structure 25900096600020 --json"
)
def secret_show(structure: Structure, as_json: AsJson = False, verbose: Verbose = False) -> None:
    """Print the stored technical login and password, for pasting into the connector."""
    _settings(verbose=verbose)
    from bot import secret_store
    from bot.siret import parse_siret

    siret = parse_siret(structure)
    stored = secret_store.get_technical(siret)
    if stored is None:
        raise CredentialsMissing(
            f"no technical password is stored for {siret}",
            hint=f"run `chorus-bot reset --structure {siret}` first",
        )
    if as_json:
        _echo_json({"structure": siret, "login": stored.login, "password": stored.password})
    else:
        typer.echo(f"Technical user : {stored.login}")
        typer.echo(f"Password       : {stored.password}")


@app.command(epilog="Example: chorus-bot recover")
def recover(verbose: Verbose = False) -> None:
    """Store passwords left in rescue files into the keyring, verify, and delete the files."""
    settings = _settings(verbose=verbose)
    from bot import secret_store
    from bot.rescue import list_rescues

    rescues = list_rescues(settings.state_dir)
    if not rescues:
        typer.echo("No rescue file: nothing to recover.")
        return
    for rescue in rescues:
        from bot.log import redactor

        redactor.add(rescue.password)
        secret_store.store_new_technical(rescue.siret, rescue.login, rescue.password)
        rescue.path.unlink()
        typer.echo(
            f"Recovered {rescue.siret} ({rescue.login}) into the keyring; deleted {rescue.path}"
        )


@app.command(epilog="Example: chorus-bot history --json")
def history(as_json: AsJson = False, verbose: Verbose = False) -> None:
    """Show the audit trail: one line per run."""
    settings = _settings(verbose=verbose)
    from bot import audit

    records = audit.read(settings.state_dir)
    if as_json:
        _echo_json(records)
        return
    if not records:
        typer.echo("No run recorded yet.")
    for r in records:
        typer.echo(
            f"{r.get('time', ''):25} {r.get('action', ''):8} {r.get('structure') or '-':14} "
            f"{r.get('outcome', ''):12} exit {r.get('exit_code')}  {r.get('detail') or ''}".rstrip()
        )


@config_app.command("path", epilog="Example: chorus-bot config path")
def config_path() -> None:
    """Print where the configuration file is (it may not exist yet)."""
    typer.echo(str(config_file()))


@config_app.command(
    "show", epilog="Examples: chorus-bot config show ; chorus-bot config show --timeout 60"
)
def config_show(
    portal_url: PortalUrl = None,
    timeout: Timeout = None,
    browser: Browser = None,
    allow_host: AllowHost = None,
    verbose: Verbose = False,
) -> None:
    """Print the effective configuration and where each value comes from. Never a secret.

    The options show what a command given the same options would use.
    """
    settings = _settings(
        portal_url=portal_url,
        timeout=timeout,
        browser=browser,
        allow_hosts=allow_host,
        verbose=verbose,
    )
    typer.echo(f"# {config_file()}")
    for key in (
        "identifiant",
        "portal_url",
        "warn_days",
        "within_days",
        "browser",
        "timeout",
        "allow_hosts",
        "piste_env",
        "piste_api_url",
        "piste_oauth_url",
        "piste_backoff",
    ):
        value = getattr(settings, key)
        typer.echo(f"{key} = {value!r}  # {settings.sources.get(key, 'default')}")
    _show_handover_config(settings)
    _show_texts(settings)
    _show_imap_config(settings)
    typer.echo(f"# state folder: {settings.state_dir}")


def _show_texts(settings: Settings) -> None:
    """Every text the bot looks for on the portal, the user's first, and where it comes from."""
    from flows.texts import KEYS

    typer.echo("[texts]  # what the bot looks for on the portal, tried in this order")
    for key in KEYS:
        words = list(settings.texts.words(key))
        typer.echo(f"texts.{key} = {words!r}  # {settings.texts.source(key)}")


def _show_handover_config(settings: Settings) -> None:
    """post_reset_command and the [mail] table. The SMTP password is only located, not read."""
    from dataclasses import fields

    from bot.secret_store import SMTP_SERVICE

    for key in ("post_reset_command", "post_reset_timeout"):
        value = getattr(settings, key)
        value = list(value) if isinstance(value, tuple) else value
        typer.echo(f"{key} = {value!r}  # {settings.sources.get(key, 'default')}")
    mail = settings.mail
    if mail is None:
        typer.echo("# [mail]: not configured, no hand-over e-mail")
        return
    typer.echo("[mail]  # file")
    for item in fields(mail):
        if item.name == "given":
            continue
        value = getattr(mail, item.name)
        value = list(value) if isinstance(value, tuple) else value
        source = "file" if item.name in mail.given else "default"
        typer.echo(f"mail.{item.name} = {value!r}  # {source}")
    if mail.user:
        typer.echo(
            f"# SMTP password: in the keyring, service {SMTP_SERVICE!r}, username {mail.user!r}"
        )


def _show_imap_config(settings: Settings) -> None:
    """[second_factor.imap]. The IMAP password is only located, not read."""
    from dataclasses import fields

    from bot.secret_store import IMAP_SERVICE

    imap = settings.imap
    if imap is None:
        typer.echo("# [second_factor.imap]: not configured, e-mailed codes are typed on a terminal")
        return
    typer.echo("[second_factor.imap]  # file")
    for item in fields(imap):
        if item.name == "given":
            continue
        source = "file" if item.name in imap.given else "default"
        typer.echo(f"second_factor.imap.{item.name} = {getattr(imap, item.name)!r}  # {source}")
    typer.echo(f"# IMAP password: in the keyring, service {IMAP_SERVICE!r}, username {imap.user!r}")


# --- entry point ---------------------------------------------------------------------------


def _report(error: ChorusBotError) -> None:
    from bot.log import redactor

    typer.echo(f"chorus-bot: error: {redactor.redact(error.one_line())}", err=True)
    if error.run_dir:
        typer.echo(f"chorus-bot: diagnosis saved in {error.run_dir}", err=True)
    if isinstance(error, PasswordRescued):
        _offer_rescued_password(error)


def _offer_rescued_password(error: PasswordRescued) -> None:
    from bot.auth import stdin_is_terminal

    path = getattr(error, "rescue_file", None)
    if not path or not stdin_is_terminal():
        return
    if typer.confirm("Show the new password now, to copy it by hand?", default=False):
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        typer.echo(f"Technical user : {data['login']}")
        typer.echo(f"Password       : {data['password']}")


def _interrupt(signum: int, frame: object) -> None:
    # An exception of our own, not KeyboardInterrupt: the command's cleanup runs, the browser
    # closes, the run folder is kept, and the exit code is the documented one.
    name = signal.Signals(signum).name
    raise Interrupted(f"interrupted by {name}", hint="run the command again; see the run folder")


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        # Standalone mode: Typer prints usage errors itself (exit 2) and exits via SystemExit.
        app(args=argv, prog_name="chorus-bot")
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
            f"chorus-bot: internal error: {type(error).__name__}: "
            f"{redactor.redact(str(error).splitlines()[0] if str(error) else '')}. "
            "Run again with CHORUS_BOT_DEBUG=1 for the traceback, and report it.",
            err=True,
        )
        sys.exit(1)
