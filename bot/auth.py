"""Where the manager's credentials and one-time codes come from.

Environment first (for schedulers), then the keyring, then a prompt on a terminal. Without a
terminal nothing prompts: a missing value raises and says how to set it. The prompt functions
are attributes so tests and other front-ends can replace them.

One-time codes: the authenticator (TOTP) secret in the keyring when there is one. A code the
portal e-mails comes from the mailbox over IMAP when `[second_factor.imap]` is configured,
else from a terminal prompt, else the run stops saying how to set either up.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger

from bot import secret_store
from bot.config import ImapSettings, config_file
from bot.errors import CredentialsMissing
from bot.i18n import T, _
from bot.log import redactor
from flows.models import ManagerLogin


def stdin_is_terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _ask(prompt: str) -> str:
    return input(prompt)


@dataclass
class CredentialSource:
    identifiant: str | None = None
    interactive: bool = field(default_factory=stdin_is_terminal)
    ask: Callable[[str], str] = _ask
    ask_hidden: Callable[[str], str] = getpass.getpass
    imap: ImapSettings | None = None  # where the e-mailed code is read, for unattended runs

    def manager_login(self) -> ManagerLogin:
        identifiant = self._identifiant()
        self.identifiant = identifiant  # the TOTP secret must be this account's
        password = self._password(identifiant)
        redactor.add(password)
        return ManagerLogin(
            identifiant=identifiant,
            password=password,
            one_time_code=self.one_time_code,
            has_totp_secret=self.has_totp_secret,
            expect_email_code=self.expect_email_code,
        )

    def _identifiant(self) -> str:
        if self.identifiant:
            return self.identifiant
        stored = secret_store.get_manager()
        if stored is not None:
            return stored.login
        if self.interactive:
            value = self.ask("Identifiant (portail DGFiP) : ").strip()
            if value:
                return value
        raise CredentialsMissing(
            T("no portal identifiant is configured"),
            hint=T(
                "run `chorus-bot credentials set`, "
                "or set CHORUS_BOT_USERNAME and CHORUS_BOT_PASSWORD"
            ),
        )

    def _password(self, identifiant: str) -> str:
        from_env = os.environ.get("CHORUS_BOT_PASSWORD")
        if from_env:
            return from_env
        # By identifiant: with profiles, `chorus-bot/portal` holds one entry per account.
        stored = secret_store.get_manager(identifiant)
        if stored is not None:
            return stored.password
        if self.interactive:
            value = self.ask_hidden(f"Mot de passe pour {identifiant} : ")
            if value:
                return value
        raise CredentialsMissing(
            T("no portal password is stored for {identifiant}", identifiant=identifiant),
            hint=T("run `chorus-bot credentials set` on a terminal, or set CHORUS_BOT_PASSWORD"),
        )

    def _totp_secret(self) -> secret_store.StoredSecret | None:
        # By identifiant first: with profiles, `chorus-bot/totp` holds one entry per account.
        stored = None
        if self.identifiant:
            stored = secret_store.get_totp_secret(self.identifiant)
        if stored is None:
            stored = secret_store.get_totp_secret()
        if stored is not None and self.identifiant and stored.login != self.identifiant:
            # Another account's authenticator would only get the code refused, less clearly.
            logger.warning(
                _("the TOTP secret in the keyring is for {}, not {}: not used"),
                stored.login,
                self.identifiant,
            )
            return None
        return stored

    def has_totp_secret(self) -> bool:
        return self._totp_secret() is not None

    def one_time_code(self) -> str:
        """A TOTP code from the stored secret, else a code typed on the terminal."""
        stored = self._totp_secret()
        if stored is not None:
            import pyotp

            code = pyotp.TOTP(stored.password).now()
        elif self.interactive:
            code = self.ask("Code de vérification (6 chiffres) : ").strip()
        else:
            raise CredentialsMissing(
                T(
                    "the portal asks for a one-time code, no TOTP secret is stored "
                    "and nobody can type one"
                ),
                hint=T("run `chorus-bot credentials set --totp` with the authenticator secret"),
            )
        redactor.add(code)
        return code

    def expect_email_code(self) -> Callable[[], str]:
        """Call right before the portal is asked to e-mail the code; call what it returns
        after, to get the code.

        The mailbox when `[second_factor.imap]` is configured, even on a terminal: whoever set
        it up wants it used, and a run by hand is how they test it before the scheduler does.
        Else a prompt on a terminal. Else CredentialsMissing, before the portal sends anything.
        """
        if self.imap is not None:
            from bot import email_code

            password = secret_store.get_imap_password(self.imap.user)
            if password is None:
                raise CredentialsMissing(
                    T("no IMAP password is stored for {user}", user=self.imap.user),
                    hint=T("run `chorus-bot credentials set --imap`"),
                )
            return email_code.ImapCodeWaiter(self.imap, password).open()
        if self.interactive:
            return self._typed_email_code
        raise CredentialsMissing(
            T("the portal e-mails a verification code and nobody can type it"),
            hint=T(
                "store the authenticator secret with `chorus-bot credentials set --totp` "
                "(recommended), or configure [second_factor.imap] in {value} and run "
                "`chorus-bot credentials set --imap`",
                value=config_file(),
            ),
        )

    def _typed_email_code(self) -> str:
        code = self.ask("Code de vérification reçu par courriel (6 chiffres) : ").strip()
        redactor.add(code)
        return code
