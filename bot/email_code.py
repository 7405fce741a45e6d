"""The verification code Chorus Pro e-mails to the manager, read from the mailbox over IMAP.

For unattended runs, when no authenticator (TOTP) secret is stored. The rule that keeps an old
code from being used: the mailbox is opened BEFORE the portal is asked to send the code, and
the UID the next message will get (UIDNEXT) is noted. Within a folder's UIDVALIDITY, UIDs only
grow, so a message whose UID is at least that one arrived after the request. This needs no
clock shared with the mail server (INTERNALDATE has one-second steps and the server's own
clock), so a code from a previous login, even one delivered the second before, is never used.

Among those messages, only one whose From address matches `sender` (and Subject matches
`subject`, when set) counts; the newest one wins, since a newer code replaces an older one.
It is then flagged \\Seen. Waiting uses IMAP IDLE, so the mail is seen as soon as the server
has it; a server without IDLE is asked again every few seconds, up to the same bound.
"""

from __future__ import annotations

import fnmatch
import html
import re
import socket
import ssl
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from loguru import logger

from bot.config import ImapSettings
from bot.errors import SecondFactorError
from bot.i18n import N_, T, _
from bot.log import redactor

STEP = N_("second factor")
# A server that does not push new mail (no IDLE) is asked again this often.
POLL_INTERVAL = 5.0
# IDLE is renewed at least this often: some servers and NATs drop a silent connection.
IDLE_RENEW = 60.0
CONNECT_TIMEOUT = 30.0

# Six digits standing alone; a 14-digit SIRET or a phone number is not a code.
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
# "Votre code de vérification est : 123 456": the six digits that follow the word `code`.
_CODE_AFTER_WORD = re.compile(
    r"code\D{0,80}?(?<!\d)(\d{3})[ \u00a0]?(\d{3})(?!\d)", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[^>]+>")


def find_code(text: str) -> str | None:
    """The code in a mail's text: six digits after the word `code`, else the first six-digit
    number standing alone."""
    after_word = _CODE_AFTER_WORD.search(text)
    if after_word:
        return after_word.group(1) + after_word.group(2)
    alone = _CODE.search(text)
    return alone.group(1) if alone else None


def message_text(message: EmailMessage) -> str:
    """Subject and every text part, as plain text: a plain part may only say "see the HTML"."""
    parts = [str(message.get("Subject", ""))]
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_attachment():
            continue
        try:
            content = part.get_content()
        except (LookupError, UnicodeDecodeError):  # an unknown charset: read what we can
            content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        if part.get_content_subtype() == "html":
            content = html.unescape(_TAG.sub(" ", content))
        parts.append(content)
    return "\n".join(parts)


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value.casefold(), pattern.casefold())


def sender_matches(message: EmailMessage, pattern: str) -> bool:
    addresses = [address for _, address in getaddresses(message.get_all("From", []))]
    return any(_matches(pattern, address) for address in addresses if address)


class ImapCodeWaiter:
    """One request for an e-mailed code: `open()` before the portal sends it, then call.

    Calling it waits up to `settings.timeout` seconds and returns the code; it always closes
    the connection. A waiter that is never called should be closed with `close()`.
    """

    def __init__(self, settings: ImapSettings, password: str) -> None:
        self.settings = settings
        self._password = password
        redactor.add(password)
        self._client = None
        self._uid_next = 0
        self._idle = False
        self._broken = False
        self._passed_over: set[int] = set()  # new mail that is not the code: looked at once

    def __repr__(self) -> str:
        return f"ImapCodeWaiter({self.settings.mailbox})"

    # Before the request -------------------------------------------------------------------

    def open(self) -> ImapCodeWaiter:
        """Logs in and notes where new mail will start. Call it before the code is sent."""
        s = self.settings
        context = ssl.create_default_context(cafile=s.cafile) if s.tls != "none" else None
        try:
            client = IMAPClient(
                s.host,
                port=s.port,
                ssl=s.tls == "ssl",
                ssl_context=context,
                timeout=CONNECT_TIMEOUT,
            )
        except ssl.SSLError as error:
            raise self._tls_error(error) from None
        except (OSError, IMAPClientError) as error:
            raise SecondFactorError(
                T(
                    "cannot reach the IMAP server {host}:{port} ({value})",
                    host=s.host,
                    port=s.port,
                    value=_reason(error),
                ),
                step=STEP,
                hint=T("check host, port and tls in [second_factor.imap], and the network"),
            ) from None
        self._client = client
        try:
            if s.tls == "starttls":
                client.starttls(context)
            client.login(s.user, self._password)
        except LoginError:
            self.close()
            raise SecondFactorError(
                T("the IMAP server {host} refused the login of {user}", host=s.host, user=s.user),
                step=STEP,
                hint=T("store the mailbox password again with `chorus-bot credentials set --imap`"),
            ) from None
        except ssl.SSLError as error:
            self.close()
            raise self._tls_error(error) from None
        except (OSError, IMAPClientError) as error:
            self.close()
            raise SecondFactorError(
                T(
                    "the IMAP server {host}:{port} failed during {value}login ({value2})",
                    host=s.host,
                    port=s.port,
                    value=T("STARTTLS or ") if s.tls == "starttls" else "",
                    value2=_reason(error),
                ),
                step=STEP,
                hint=T("check tls and port in [second_factor.imap] (ssl: 993, starttls: 143)"),
            ) from None
        try:
            selected = client.select_folder(s.folder)
            self._idle = client.has_capability("IDLE")
            # Without UIDNEXT (optional in old servers) every message is from before. Mail the
            # server took in while answering SELECT is too: NOOP, and count it.
            uid_next = int(selected.get(b"UIDNEXT") or 1)
            client.noop()
            before = [uid for uid in client.search(["UID", f"{uid_next}:*"]) if uid >= uid_next]
            uid_next = max([uid_next, *(uid + 1 for uid in before)])
        except (OSError, IMAPClientError) as error:
            self.close()
            raise SecondFactorError(
                T(
                    "cannot open the folder {folder!r} of {user} on {host} ({value})",
                    folder=s.folder,
                    user=s.user,
                    host=s.host,
                    value=_reason(error),
                ),
                step=STEP,
                hint=T("check folder in [second_factor.imap] (INBOX, or a folder a filter fills)"),
            ) from None
        self._uid_next = uid_next
        logger.debug(
            "second factor: {} opened; mail from UID {} on counts", s.mailbox, self._uid_next
        )
        return self

    def _tls_error(self, error: ssl.SSLError) -> SecondFactorError:
        s = self.settings
        return SecondFactorError(
            T(
                "TLS with the IMAP server {host}:{port} failed ({value})",
                host=s.host,
                port=s.port,
                value=_reason(error),
            ),
            step=STEP,
            hint=T(
                "check tls and port in [second_factor.imap] (ssl: 993, starttls: 143); "
                "for a private certificate authority set cafile"
            ),
        )

    # After the request --------------------------------------------------------------------

    def __call__(self) -> str:
        if self._client is None:
            self.open()
        s = self.settings
        deadline = time.monotonic() + s.timeout
        logger.info(
            _("second factor: waiting up to {:g} s for the verification code e-mail in {}"),
            s.timeout,
            s.mailbox,
        )
        try:
            while True:
                code = self._newest_code()
                if code is not None:
                    return code
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SecondFactorError(
                        T(
                            "no verification code arrived in {mailbox} within {timeout:g} s",
                            mailbox=s.mailbox,
                            timeout=s.timeout,
                        ),
                        step=STEP,
                        hint=T(
                            "check that the portal sends it to this mailbox and that sender "
                            "(and subject) in [second_factor.imap] match the mail; a TOTP secret "
                            "(`chorus-bot credentials set --totp`) needs no mailbox"
                        ),
                    )
                self._wait_for_mail(remaining)
        except SecondFactorError:
            raise
        except BaseException as error:
            # Mid-command (Ctrl-C, a dropped link): LOGOUT may never be answered.
            self._broken = True
            if not isinstance(error, OSError | IMAPClientError):
                raise
            raise SecondFactorError(
                T(
                    "the IMAP connection to {host} failed while waiting for the code ({value})",
                    host=s.host,
                    value=_reason(error),
                ),
                step=STEP,
                hint=T("run again; if it keeps happening, check the server"),
            ) from None
        finally:
            self.close()

    def _newest_code(self) -> str | None:
        client = self._client
        # NOOP makes the server look at the mailbox again: SEARCH alone may answer from
        # what it knew at SELECT (Dovecot does, for a Maildir changed in the same second).
        client.noop()
        # `N:*` also names the last message when every UID is below N: filter again.
        found = client.search(["UID", f"{self._uid_next}:*"])
        uids = [uid for uid in found if uid >= self._uid_next and uid not in self._passed_over]
        if not uids:
            return None
        fetched = client.fetch(uids, ["BODY.PEEK[]"])
        for uid in sorted(fetched, reverse=True):
            self._passed_over.add(uid)
            message = message_from_bytes(fetched[uid][b"BODY[]"], policy=policy.default)
            sender = str(message.get("From", ""))
            if not sender_matches(message, self.settings.sender):
                logger.debug("second factor: new mail from {} ignored (sender)", sender)
                continue
            subject = str(message.get("Subject", ""))
            if self.settings.subject and not _matches(self.settings.subject, subject):
                logger.debug("second factor: new mail from {} ignored (subject)", sender)
                continue
            code = find_code(message_text(message))
            if code is None:
                logger.debug("second factor: new mail from {} holds no 6-digit code", sender)
                continue
            redactor.add(code)
            # Seen: the code is used, and a person reading the mailbox knows it.
            client.add_flags([uid], [b"\\Seen"])
            logger.info(_("second factor: verification code read from the mail from {}"), sender)
            return code
        return None

    def _wait_for_mail(self, remaining: float) -> None:
        client = self._client
        if not self._idle:
            logger.debug("second factor: no IMAP IDLE, asking again in {:g} s", POLL_INTERVAL)
            threading.Event().wait(min(remaining, POLL_INTERVAL))
            return  # the next look starts with NOOP
        client.idle()
        announced = client.idle_check(timeout=min(remaining, IDLE_RENEW))
        client.idle_done()
        if announced:
            logger.debug("second factor: the IMAP server announced a change (IDLE)")

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._broken:
                client.shutdown()
            else:
                client.logout()
        except Exception:  # already gone: nothing to tell the user
            logger.debug("second factor: the IMAP connection was already closed")


def _reason(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    text = str(error).strip() or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    return redactor.redact(text.splitlines()[0])[:200]
