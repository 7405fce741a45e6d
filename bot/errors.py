"""Every error chorus-bot reports. Only the CLI turns them into a message and an exit code.

Exit codes (documented in the README):
  0 OK; 1 failure (portal, browser, network, keyring, PISTE; the API rejected the technical
  password); 2 bad usage or bad input;
  3 `check`: expires within the warning window; 4 `check`: expired;
  5 the new password could not be stored in the keyring and was written to a rescue file;
  6 `reset`: the reset is done and the new password stored, but the hand-over failed (the
    e-mail could not be sent, or `post_reset_command` failed): hand the password over by hand;
  130 interrupted (Ctrl-C).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import T, _, localize

if TYPE_CHECKING:
    from flows.models import TechnicalStatus

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_EXPIRES_SOON = 3
EXIT_EXPIRED = 4
EXIT_RESCUED = 5
EXIT_HANDOVER_FAILED = 6
EXIT_INTERRUPTED = 130


class ChorusBotError(Exception):
    """Base of every error chorus-bot reports."""

    exit_code = EXIT_FAILURE
    # True when nothing more can be done in this run (no browser, or the user said stop).
    ends_run = False
    # Set by the flow on errors after the reset click: the portal may have reset, and the new
    # password was not captured. `reset` then reconciles (bot/jobs.py).
    reset_may_have_happened = False

    def __init__(self, message: str, *, step: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.step = step
        self.hint = hint
        # Set by whoever saved diagnosis artefacts, so the CLI can print where they are.
        self.run_dir: str | None = None

    def one_line(self, *, localized: bool = False) -> str:
        """`<step>: <what>. <what to do>.` In English (JSON, audit trail, failure.json), or in
        the interface's language to show it."""
        text = _shown if localized else str
        line = text(self.message).rstrip(".")
        if self.step:
            template = _("{step}: {message}") if localized else "{step}: {message}"
            line = template.format(step=text(self.step), message=line)
        if self.hint:
            line += ". " + text(self.hint).rstrip(".")
        return line + "."

    def __str__(self) -> str:
        return self.one_line()


def _shown(value: str) -> str:
    # Step names are often plain strings passed along (`session.step("login", …)`): they are
    # looked up too.
    return localize(value) if isinstance(value, T) else _(value)


class UsageError(ChorusBotError):
    """Bad command-line usage or input."""

    exit_code = EXIT_USAGE


class InvalidSiret(UsageError):
    """The SIRET given is not 14 digits with a valid checksum."""


class HostNotAllowed(UsageError):
    """The portal or PISTE URL is not a genuine host nor an allowed one."""


class CredentialsMissing(UsageError):
    """Credentials are needed but none are configured and nobody can be asked."""


class ConfigError(UsageError):
    """The configuration file cannot be read or holds a bad value."""


class KeyringError(ChorusBotError):
    """The OS keyring is missing, locked or failing."""


class BrowserError(ChorusBotError):
    """No browser was found, or the browser failed or died."""

    ends_run = True


class PortalError(ChorusBotError):
    """The portal answered something the bot did not expect."""


class LoginRejected(PortalError):
    """The portal refused the manager's identifiant or password."""


class SecondFactorError(PortalError):
    """The portal refused the one-time code, or none could be had."""


class SecondFactorUnsupported(SecondFactorError):
    """The only second factor the portal offers (a security key) cannot be automated."""


class ExpiryNotShown(PortalError):
    """The portal shows no expiry date for the technical user's password on the path in use."""

    def __init__(
        self, message: str, *, status: TechnicalStatus | None = None, **kwargs: str | None
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.status = status  # what was read: the technical login, without an expiry


class SessionExpired(PortalError):
    """The portal sent the bot back to the login page in the middle of the flow."""


class StructureNotFound(PortalError):
    """The SIRET is not in the manager's `Mes structures` list."""


class NoTechnicalUser(PortalError):
    """The structure has no technical user: there is no password to read or reset."""


class StructuresNotRead(PortalError):
    """A run over every structure read none, or fewer than the page announces."""


class ResetNotConfirmed(PortalError):
    """The reset ran but the portal did not move the expiry date forward."""


class PasswordNotShown(PortalError):
    """The portal reset the password but did not show the new one."""


class PasswordLost(PortalError):
    """The portal reset the password and the new one was lost, even after a second reset."""


class PisteError(ChorusBotError):
    """PISTE or the Chorus Pro API answered something the bot did not expect."""


class PisteUnavailable(PisteError):
    """PISTE could not be reached, or kept answering 5xx, after the bounded retries."""


class PisteClientRejected(PisteError):
    """PISTE refused the OAuth client id or secret of the PISTE application."""


class VerificationFailed(PisteError):
    """The API rejected the technical password."""


class AlreadyRunning(ChorusBotError):
    """Another chorus-bot run holds the lock for this structure."""


class PasswordRescued(ChorusBotError):
    """The new password could not be stored in the keyring; it is in a rescue file."""

    exit_code = EXIT_RESCUED


class HandoverFailed(ChorusBotError):
    """The reset is done and stored, but the hand-over e-mail or post_reset_command failed."""

    exit_code = EXIT_HANDOVER_FAILED


class Interrupted(ChorusBotError):
    """The run was interrupted (Ctrl-C or SIGTERM)."""

    exit_code = EXIT_INTERRUPTED
    ends_run = True


class ExportError(ChorusBotError):
    """The calendar (--ics) or metrics (--prometheus) file could not be written."""
