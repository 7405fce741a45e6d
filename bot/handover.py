"""Procedure step 5: tell the team that runs the connector, after a confirmed reset.

Two optional ways, both configured in the config file:
- `post_reset_command`: a program that pushes the new password into the connector. It gets
  `CHORUS_BOT_SIRET` and `CHORUS_BOT_LOGIN` in its environment and the password, followed by a
  newline, on its standard input: never in argv (visible in `ps`) nor in the environment
  (visible in /proc and inherited by every child).
- `[mail]`: a French e-mail saying which structure and login were rotated, the new expiry and
  where the password is kept. The password itself only with `include_password = true`.

Both run when the password is already in the keyring, so a failure here never undoes the reset:
each raises HandoverFailed, which the caller turns into a warning and exit code 6.
"""

from __future__ import annotations

import getpass
import os
import smtplib
import socket
import ssl
import subprocess
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from loguru import logger

from bot import secret_store
from bot.config import MailSettings
from bot.errors import HandoverFailed, KeyringError
from bot.i18n import T, _
from bot.log import redactor
from flows.models import PARIS, NewPassword, TechnicalStatus

# The child must not inherit the secrets chorus-bot itself may have been given.
_SECRET_ENV = ("CHORUS_BOT_PASSWORD",)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return redactor.redact(lines[-1])[:200] if lines else ""


# post_reset_command -------------------------------------------------------------------------


def run_post_reset_command(argv: tuple[str, ...], timeout: float, new: NewPassword) -> None:
    """Runs the connector's update program; raises HandoverFailed if it does not succeed."""
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
    env.update(CHORUS_BOT_SIRET=new.siret, CHORUS_BOT_LOGIN=new.login)
    name = os.path.basename(argv[0])
    hint = T(
        "the new password IS stored in the keyring: give it to the connector by hand "
        "(`chorus-bot secret show --structure {siret}`)",
        siret=new.siret,
    )
    logger.info(_("{}: running post_reset_command {}"), new.siret, name)
    try:
        done = subprocess.run(
            list(argv),
            input=new.password + "\n",
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise HandoverFailed(
            T("post_reset_command not found: {value}", value=argv[0]),
            step=T("post_reset_command"),
            hint=hint,
        ) from None
    except PermissionError:
        raise HandoverFailed(
            T("post_reset_command is not executable: {value}", value=argv[0]),
            step=T("post_reset_command"),
            hint=hint,
        ) from None
    except subprocess.TimeoutExpired:
        raise HandoverFailed(
            T(
                "post_reset_command {name} did not finish within {timeout:g} s and was stopped",
                name=name,
                timeout=timeout,
            ),
            step=T("post_reset_command"),
            hint=hint,
        ) from None
    except OSError as error:
        raise HandoverFailed(
            T(
                "post_reset_command {name} could not start ({value})",
                name=name,
                value=error.strerror or error,
            ),
            step=T("post_reset_command"),
            hint=hint,
        ) from None
    for stream, text in (("stdout", done.stdout), ("stderr", done.stderr)):
        if text.strip():
            logger.debug("post_reset_command {}: {}", stream, redactor.redact(text.strip()))
    if done.returncode != 0:
        detail = _last_line(done.stderr) or _last_line(done.stdout)
        raise HandoverFailed(
            T(
                "post_reset_command {name} exited with code {code} ({detail})",
                name=name,
                code=done.returncode,
                detail=detail,
            )
            if detail
            else T(
                "post_reset_command {name} exited with code {code}", name=name, code=done.returncode
            ),
            step=T("post_reset_command"),
            hint=hint,
        )
    logger.info(_("{}: post_reset_command {} succeeded"), new.siret, name)


# The e-mail ---------------------------------------------------------------------------------

_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def french_date(moment) -> str:
    """`22 décembre 2027 à 15:20:45` in Paris time, whatever the machine's locale and zone."""
    local = moment.astimezone(PARIS)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} à {local:%H:%M:%S}"


def build_message(
    mail: MailSettings,
    new: NewPassword,
    after: TechnicalStatus,
    *,
    keyring_service: str,
    command_outcome: str | None = None,
) -> EmailMessage:
    """The hand-over e-mail, in French. Holds the password only if include_password."""
    message = EmailMessage()
    message["Subject"] = (
        f"Chorus Pro : nouveau mot de passe de l'utilisateur technique ({new.siret})"
    )
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    where = f"{getpass.getuser()}@{socket.gethostname()}"
    lines = [
        "Bonjour,",
        "",
        "chorus-bot a réinitialisé le mot de passe de l'utilisateur technique Chorus Pro suivant :",
        "",
        f"  Structure (SIRET)           : {new.siret}",
        f"  Utilisateur technique       : {new.login}",
        f"  Nouvelle date d'expiration  : {french_date(after.expires_at)} (heure de Paris)"
        if after.expires_at is not None
        else "  Nouvelle date d'expiration  : non affichée par le portail",
        "",
        "L'ancien mot de passe ne fonctionne plus : le connecteur qui appelle l'API Chorus Pro "
        "avec ce compte technique doit être mis à jour dès maintenant.",
        "",
        f"Le nouveau mot de passe est conservé dans le trousseau (keyring) du compte {where} :",
        f"  service            : {keyring_service}",
        f"  nom d'utilisateur  : {new.login}",
        f"Pour l'afficher, sur cette machine et ce compte : "
        f"chorus-bot secret show --structure {new.siret}",
    ]
    if command_outcome:
        lines += [
            "",
            f"Mise à jour automatique du connecteur (post_reset_command) : {command_outcome}",
        ]
    if mail.include_password:
        lines += [
            "",
            f"  Nouveau mot de passe        : {new.password}",
            "",
            "Ce courriel contient le mot de passe : une fois le connecteur mis à jour, "
            "supprimez-le (boîte de réception, corbeille, copies).",
        ]
    lines += ["", "-- ", "Message envoyé automatiquement par chorus-bot."]
    message.set_content("\n".join(lines) + "\n", charset="utf-8")
    return message


def _smtp_password(mail: MailSettings) -> str | None:
    if not mail.user:
        return None
    try:
        password = secret_store.get_smtp_password(mail.user)
    except KeyringError as error:
        raise HandoverFailed(
            T("cannot read the SMTP password from the keyring ({message})", message=error.message),
            step=T("hand-over mail"),
        ) from None
    if password is None:
        raise HandoverFailed(
            T("no SMTP password is stored for {user}", user=mail.user),
            step=T("hand-over mail"),
            hint=T("run `chorus-bot credentials set --smtp`"),
        )
    redactor.add(password)
    return password


def send_mail(mail: MailSettings, message: EmailMessage) -> None:
    """Sends through the relay; raises HandoverFailed with the reason."""
    password = _smtp_password(mail)
    context = ssl.create_default_context(cafile=mail.cafile)
    where = f"{mail.host}:{mail.port}"
    try:
        if mail.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                mail.host, mail.port, timeout=mail.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout)
        with smtp:
            if mail.starttls:
                smtp.starttls(context=context)
            if mail.user and password is not None:
                smtp.login(mail.user, password)
            refused = smtp.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise HandoverFailed(
            T("the SMTP server {where} refused the login of {user}", where=where, user=mail.user),
            step=T("hand-over mail"),
            hint=T("store the right password with `chorus-bot credentials set --smtp`"),
        ) from None
    except smtplib.SMTPNotSupportedError as error:
        raise HandoverFailed(
            T(
                "the SMTP server {where} does not support {value}",
                where=where,
                value=_first_word(error),
            ),
            step=T("hand-over mail"),
            hint=T("check [mail] starttls / ssl / user in the config file"),
        ) from None
    except ssl.SSLError as error:
        raise HandoverFailed(
            T(
                "TLS with the SMTP server {where} failed ({value})",
                where=where,
                value=error.reason or type(error).__name__,
            ),
            step=T("hand-over mail"),
            hint=T("check [mail] host, port, ssl / starttls, and cafile for a private CA"),
        ) from None
    except (OSError, smtplib.SMTPException) as error:
        raise HandoverFailed(
            T(
                "cannot send through the SMTP server {where} ({name__}: {value})",
                where=where,
                name__=type(error).__name__,
                value=redactor.redact(str(error))[:200],
            ),
            step=T("hand-over mail"),
            hint=T("check [mail] host and port, and that the relay accepts this machine"),
        ) from None
    if refused:
        raise HandoverFailed(
            T(
                "the SMTP server {where} refused recipient(s) {value}",
                where=where,
                value=", ".join(sorted(refused)),
            ),
            step=T("hand-over mail"),
            hint=T("check [mail] recipients"),
        )


def _first_word(error: Exception) -> str:
    text = str(error).strip()
    return text.split()[0] if text else "the requested extension"
