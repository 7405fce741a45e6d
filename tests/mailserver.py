"""A real mailbox for tests: Dovecot (IMAP, from Debian's dovecot-imapd) on 127.0.0.1, fed by a
real SMTP server (aiosmtpd) whose handler drops each message it accepts into the Maildir that
Dovecot serves, the way a mail server's local delivery does.

Fixtures (registered in tests/conftest.py):

    mail_server                       -> MailServer, plain IMAP (tls = "none") and IDLE
    make_mail_server(tls=..., idle=...) -> MailServer; tls "none" | "ssl" | "starttls"
                                          (a certificate for 127.0.0.1 signed by a throwaway
                                          CA, `cafile`); idle=False hides IDLE from clients

    server.send(sender=, subject=, body=, html=False)   a mail through SMTP (smtplib)
    server.send_code(code, sender=CHORUS_SENDER)         the portal's French code mail
    server.smtp_host, server.smtp_port                   for a sender of your own (the mock)
    server.address / server.user, server.password        the mailbox and its IMAP password
    server.imap_host, server.imap_port, server.tls, server.cafile
    server.imap_settings(**overrides) -> ImapSettings    sender defaults to CHORUS_SENDER
    server.config_table(**overrides) -> str              the [second_factor.imap] TOML table
    server.messages() -> list[(subject, flags)]          what the mailbox holds, via imaplib

Each server is private to the test: its own temporary folder, ports, config and password, all
removed after. Nothing of the system's Dovecot (config, service, ports) is used or touched.
When the tests run as root (CI), mail is owned by the `dovecot` system user, since Dovecot
refuses mail access as root; otherwise everything runs as the current user.
"""

from __future__ import annotations

import datetime
import grp
import imaplib
import itertools
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from bot.config import ImapSettings
from tests.ports import ATTEMPTS, free_port, smtp_on_a_free_port

CHORUS_SENDER = "ne-pas-repondre@chorus-pro.gouv.fr"
MAILBOX_ADDRESS = "claire.martin@collectivite.example.fr"
CODE_SUBJECT = "Chorus Pro : votre code de vérification"


def code_mail_body(code: str) -> str:
    """Worded like the portal's mail: the code among other numbers (a validity, a date)."""
    return (
        "Bonjour,\n\n"
        "Pour finaliser votre connexion à Chorus Pro, saisissez le code ci-dessous.\n"
        f"Votre code de vérification est : {code}\n"
        "Ce code est valable 10 minutes.\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, contactez le support au "
        "0 809 400 240.\n\n"
        "L'équipe Chorus Pro\n"
    )


def dovecot_binary() -> str:
    found = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None
    )
    if not found:
        pytest.fail(
            "dovecot is missing: run `make test-servers` (Debian: apt-get install dovecot-imapd)"
        )
    return found


class _MaildirDelivery:
    """The aiosmtpd handler: each accepted message becomes a file in Maildir/new, written in
    tmp/ first and renamed, as the Maildir format requires, before SMTP answers 250."""

    def __init__(self, maildir: Path, owner: tuple[int, int] | None) -> None:
        self.maildir = maildir
        self.owner = owner
        self.count = itertools.count(1)

    async def handle_DATA(self, server, session, envelope) -> str:
        name = f"{time.time_ns()}.M{next(self.count)}P{os.getpid()}.chorus-test"
        temporary = self.maildir / "tmp" / name
        temporary.write_bytes(envelope.original_content or envelope.content)
        if self.owner:
            os.chown(temporary, *self.owner)
        temporary.rename(self.maildir / "new" / name)
        return "250 Message delivered"


@dataclass
class MailServer:
    root: Path
    tls: str
    idle: bool
    user: str = MAILBOX_ADDRESS
    password: str = field(default_factory=lambda: "Imap-" + os.urandom(9).hex())
    imap_host: str = "127.0.0.1"
    imap_port: int = 0
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    cafile: str | None = None
    _dovecot: subprocess.Popen | None = None
    _smtp: Controller | None = None

    @property
    def address(self) -> str:
        return self.user

    # Using it -------------------------------------------------------------------------------

    def send(
        self,
        *,
        sender: str = CHORUS_SENDER,
        subject: str = CODE_SUBJECT,
        body: str,
        html: bool = False,
        to: str | None = None,
    ) -> None:
        """One mail through the SMTP server; it is in the mailbox when this returns."""
        import smtplib

        message = EmailMessage()
        message["From"] = sender
        message["To"] = to or self.address
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain="chorus-pro.gouv.fr")
        if html:
            message.set_content("Ce message est au format HTML.")
            message.add_alternative(body, subtype="html")
        else:
            message.set_content(body)
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=30) as smtp:
            smtp.send_message(message)

    def send_code(self, code: str, *, sender: str = CHORUS_SENDER, **options) -> None:
        self.send(sender=sender, body=code_mail_body(code), **options)

    def imap_settings(self, **overrides) -> ImapSettings:
        values = dict(
            host=self.imap_host,
            port=self.imap_port,
            tls=self.tls,
            user=self.user,
            sender=CHORUS_SENDER,
            cafile=self.cafile,
            timeout=30.0,
        )
        values.update(overrides)
        return ImapSettings(**values)

    def config_table(self, **overrides) -> str:
        """`[second_factor.imap]` for a config file, with the same defaults as imap_settings."""
        settings = self.imap_settings(**overrides)
        lines = ["[second_factor.imap]"]
        for key in ("host", "port", "tls", "user", "folder", "sender", "subject", "timeout"):
            value = getattr(settings, key)
            if value is not None:
                lines.append(f"{key} = {_toml(value)}")
        if settings.cafile:
            lines.append(f"cafile = {_toml(settings.cafile)}")
        return "\n".join(lines) + "\n"

    def messages(self) -> list[tuple[str, set[str]]]:
        """(subject, flags) of every message in INBOX, oldest first, read without changing
        anything (no \\Seen is set by this)."""
        imap = self._imap_connection()
        try:
            imap.login(self.user, self.password)
            imap.select("INBOX", readonly=True)
            _, data = imap.uid("SEARCH", "ALL")
            found = []
            for uid in data[0].split():
                _, parts = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                header = parts[0]
                flags = set(imaplib.ParseFlags(header[0]))
                subject = message_from_bytes(header[1], policy=policy.default)["Subject"]
                found.append((str(subject), {flag.decode() for flag in flags}))
            return found
        finally:
            imap.logout()

    def _imap_connection(self) -> imaplib.IMAP4:
        if self.tls == "ssl":
            context = ssl.create_default_context(cafile=self.cafile)
            return imaplib.IMAP4_SSL(self.imap_host, self.imap_port, ssl_context=context)
        imap = imaplib.IMAP4(self.imap_host, self.imap_port)
        if self.tls == "starttls":
            imap.starttls(ssl.create_default_context(cafile=self.cafile))
        return imap

    # Starting and stopping ------------------------------------------------------------------

    def start(self) -> MailServer:
        owner = None
        if os.geteuid() == 0:
            # Dovecot refuses mail access as root: the mail belongs to its system user.
            account = pwd.getpwnam("dovecot")
            uid, gid = account.pw_uid, account.pw_gid
            owner = (uid, gid)
        else:
            uid, gid = os.getuid(), os.getgid()
        home = self.root / "home" / self.user.partition("@")[0]
        maildir = home / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True)
        if owner:
            for path in (home, maildir, *(maildir / sub for sub in ("cur", "new", "tmp"))):
                os.chown(path, *owner)
        (self.root / "users").write_text(
            f"{self.user}:{{PLAIN}}{self.password}:{uid}:{gid}::{home}::\n", encoding="utf-8"
        )
        if self.tls != "none":
            self.cafile = _make_certificate(self.root / "tls")
        self._start_dovecot()
        self._smtp = smtp_on_a_free_port(_MaildirDelivery(maildir, owner), self.smtp_host)
        self.smtp_port = self._smtp.port
        return self

    def _start_dovecot(self) -> None:
        binary = dovecot_binary()
        log = self.root / "dovecot.log"
        for _attempt in range(ATTEMPTS):  # a free port can be taken between probe and bind
            self.imap_port = free_port()
            conf = self.root / "dovecot.conf"
            conf.write_text(self._dovecot_conf(), encoding="utf-8")
            output = (self.root / "dovecot.out").open("ab")
            self._dovecot = subprocess.Popen(
                [binary, "-F", "-c", str(conf)],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            output.close()
            if self._wait_listening():
                return
            self._stop_dovecot()
        details = ""
        for name in ("dovecot.out", "dovecot.log"):
            if (self.root / name).exists():
                details += (self.root / name).read_text(errors="replace")[-2000:]
        pytest.fail(f"dovecot did not start on 127.0.0.1:\n{details or log}")

    def _wait_listening(self) -> bool:
        """True once Dovecot greets: the master may bind the port and still fail right after,
        so a connection alone proves nothing."""
        # Only so that a broken start-up fails the test instead of hanging it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._dovecot.poll() is not None:
                return False
            try:
                with socket.create_connection((self.imap_host, self.imap_port), timeout=5) as raw:
                    if self.tls == "ssl":
                        context = ssl.create_default_context(cafile=self.cafile)
                        with context.wrap_socket(raw, server_hostname=self.imap_host) as tls:
                            greeting = tls.recv(200)
                    else:
                        greeting = raw.recv(200)
                if greeting.startswith(b"* OK"):
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _dovecot_conf(self) -> str:
        root = self.root
        plain_port = self.imap_port if self.tls in ("none", "starttls") else 0
        ssl_port = self.imap_port if self.tls == "ssl" else 0
        lines = [
            "protocols = imap",
            "listen = 127.0.0.1",
            f"base_dir = {root}/run",
            f"state_dir = {root}/state",
            f"instance_name = chorus-test-{self.imap_port}",
            f"log_path = {root}/dovecot.log",
            f"info_log_path = {root}/dovecot.log",
            "auth_mechanisms = plain login",
            # starttls: no login before STARTTLS, so the test proves the client did it.
            f"disable_plaintext_auth = {'yes' if self.tls == 'starttls' else 'no'}",
            "first_valid_uid = 1",
            "mail_location = maildir:~/Maildir",
            "passdb {",
            "  driver = passwd-file",
            f"  args = scheme=PLAIN username_format=%u {root}/users",
            "}",
            "userdb {",
            "  driver = passwd-file",
            f"  args = username_format=%u {root}/users",
            "}",
            "service imap-login {",
            "  inet_listener imap {",
            "    address = 127.0.0.1",
            f"    port = {plain_port}",
            "  }",
            "  inet_listener imaps {",
            "    address = 127.0.0.1",
            f"    port = {ssl_port}",
            "    ssl = yes",
            "  }",
            "  chroot =",
            "}",
            "service anvil {",
            "  chroot =",
            "}",
            "service stats {",
            "  unix_listener stats-reader {",
            "    mode = 0666",
            "  }",
            "  unix_listener stats-writer {",
            "    mode = 0666",
            "  }",
            "}",
        ]
        if self.tls == "none":
            lines.append("ssl = no")
        else:
            lines += [
                "ssl = required" if self.tls == "starttls" else "ssl = yes",
                f"ssl_cert = <{root}/tls/server.pem",
                f"ssl_key = <{root}/tls/server.key",
            ]
        if not self.idle:
            lines.append(
                "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+ UIDPLUS"
            )
        if os.geteuid() != 0:
            # Rootless Dovecot: every process runs as the current user and group.
            me = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            lines += [
                f"default_login_user = {me}",
                f"default_internal_user = {me}",
                f"default_internal_group = {group}",
            ]
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        self._stop_dovecot()

    def _stop_dovecot(self) -> None:
        process, self._dovecot = self._dovecot, None
        if process is None or process.poll() is not None:
            return
        process.terminate()  # the master stops its children before it exits
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _toml(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _make_certificate(folder: Path) -> str:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost. Returns the CA file."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(mode=0o755)
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("chorus-bot test CA"))
        .issuer_name(name("chorus-bot test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(server.public_bytes(pem))
    (folder / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(folder / "ca.pem")


@pytest.fixture
def make_mail_server() -> Iterator:
    started: list[MailServer] = []

    def start(*, tls: str = "none", idle: bool = True) -> MailServer:
        root = Path(tempfile.mkdtemp(prefix="chorus-mail-"))
        # Dovecot's unprivileged processes must reach their sockets and the mail under it.
        root.chmod(0o755)
        server = MailServer(root=root, tls=tls, idle=idle)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def mail_server(make_mail_server) -> MailServer:
    return make_mail_server()
