"""The hand-over after a reset (procedure step 5): the e-mail through a real SMTP server on
loopback (aiosmtpd), and post_reset_command. The CLI in a subprocess, real Chromium, the mock
portal, the real Secret Service keyring. A failed hand-over never undoes the reset: exit 6."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import keyring
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot import handover, secret_store
from bot.config import MailSettings
from bot.errors import HandoverFailed
from flows.models import PARIS, NewPassword, TechnicalStatus
from tests.conftest import MANAGER_PASSWORD, PAGE3_SIRET, Cli, portal_secrets
from tests.ports import free_port, smtp_on_a_free_port

SMTP_USER = "chorus-bot@relais.example.fr"
SMTP_PASSWORD = "Relais-Smtp-2026!"


class Collector:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator:
    started: list[Controller] = []

    def start(**smtp_options) -> tuple[Collector, int]:
        collector = Collector()
        controller = smtp_on_a_free_port(collector, **smtp_options)
        started.append(controller)
        return collector, controller.port

    yield start
    for controller in started:
        controller.stop()


def _write_config(cli: Cli, text: str) -> None:
    cli.config_file.write_text(text, encoding="utf-8")


def _mail_table(port: int, *, extra: str = "") -> str:
    return (
        "[mail]\n"
        'host = "127.0.0.1"\n'
        f"port = {port}\n"
        "starttls = false\n"
        'sender = "chorus-bot@collectivite.example.fr"\n'
        'recipients = ["dsi@collectivite.example.fr", "erp@prestataire.example.fr"]\n'
        f"{extra}"
    )


def _recorder(tmp_path: Path, *, exit_code: int = 0) -> tuple[list[str], Path]:
    """A post_reset_command that writes down its argv, environment and standard input."""
    script = tmp_path / "record_handover.py"
    record = tmp_path / "recorded.json"
    script.write_text(
        "import json, os, sys\n"
        "data = {'argv': sys.argv, 'env': dict(os.environ), 'stdin': sys.stdin.read()}\n"
        f"open({str(record)!r}, 'w', encoding='utf-8').write(json.dumps(data))\n"
        f"print('pushed to the ERP' if {exit_code} == 0 else 'ERP refused the password',"
        " file=sys.stderr)\n"
        f"sys.exit({exit_code})\n",
        encoding="utf-8",
    )
    return [sys.executable, str(script), "--connector", "erp-test"], record


def _toml_list(argv: list[str]) -> str:
    return "[" + ", ".join(json.dumps(part) for part in argv) + "]"


def _body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _history(cli: Cli) -> list[dict]:
    result = cli("history", "--json")
    assert result.returncode == 0, result.output
    return json.loads(result.stdout)


def test_mail_and_command_after_a_reset_without_the_password(
    cli, portal, real_keyring, smtp_server, tmp_path
):
    collector, port = smtp_server()
    argv, recorded = _recorder(tmp_path)
    _write_config(cli, f"post_reset_command = {_toml_list(argv)}\n" + _mail_table(port))

    result = cli("reset", "--structure", PAGE3_SIRET)

    assert result.returncode == 0, result.output
    record = portal.state.structure(PAGE3_SIRET)
    new_password = record.tech_password
    assert keyring.get_password(secret_store.technical_service(PAGE3_SIRET), record.tech_login) == (
        new_password
    )

    # The command: the password on standard input, and nowhere else it could leak from.
    data = json.loads(recorded.read_text(encoding="utf-8"))
    assert data["stdin"] == new_password + "\n"
    assert data["env"]["CHORUS_BOT_SIRET"] == PAGE3_SIRET
    assert data["env"]["CHORUS_BOT_LOGIN"] == record.tech_login
    assert data["argv"][1:] == ["--connector", "erp-test"]
    for secret in (new_password, MANAGER_PASSWORD):
        assert not any(secret in part for part in data["argv"])
        assert not any(secret in value for value in data["env"].values())
    assert "CHORUS_BOT_PASSWORD" not in data["env"]

    # The e-mail: French, who/what/when/where, and no password.
    assert len(collector.messages) == 1
    message = collector.messages[0]
    assert collector.envelopes[0].rcpt_tos == [
        "dsi@collectivite.example.fr",
        "erp@prestataire.example.fr",
    ]
    assert message["From"] == "chorus-bot@collectivite.example.fr"
    assert PAGE3_SIRET in message["Subject"]
    assert message.get_content_charset() == "utf-8"
    body = _body(message)
    assert PAGE3_SIRET in body
    assert record.tech_login in body
    assert handover.french_date(record.expiry) in body
    assert f"service            : chorus-bot/technical/{PAGE3_SIRET}" in body
    assert f"chorus-bot secret show --structure {PAGE3_SIRET}" in body
    assert "Mise à jour automatique du connecteur (post_reset_command) : réussie" in body
    assert new_password not in body
    assert new_password not in envelope_text(collector)

    audit = _history(cli)[-1]
    assert audit["outcome"] == "reset" and audit["exit_code"] == 0
    assert "post_reset_command: ok" in audit["detail"]
    assert "mail: sent to 2 recipient(s)" in audit["detail"]
    cli.assert_no_secret(portal_secrets(portal))


def envelope_text(collector: Collector) -> str:
    return "".join(e.content.decode("utf-8", "replace") for e in collector.envelopes)


def test_mail_holds_the_password_only_with_include_password(cli, portal, real_keyring, smtp_server):
    collector, port = smtp_server()
    _write_config(cli, _mail_table(port, extra="include_password = true\n"))

    result = cli("reset", "--structure", PAGE3_SIRET)

    assert result.returncode == 0, result.output
    new_password = portal.state.structure(PAGE3_SIRET).tech_password
    body = _body(collector.messages[0])
    assert f"Nouveau mot de passe        : {new_password}" in body
    assert "supprimez-le" in body
    assert "WITH the password" in _history(cli)[-1]["detail"]
    # Only the mail has it: not the output, the log, the audit trail or the run folder.
    cli.assert_no_secret(portal_secrets(portal))


def test_unreachable_smtp_server_warns_exits_6_and_keeps_the_reset(cli, portal, real_keyring):
    closed_port = free_port()
    _write_config(cli, _mail_table(closed_port))
    expiry_before = portal.state.structure(PAGE3_SIRET).expiry

    result = cli("reset", "--structure", PAGE3_SIRET)

    assert result.returncode == 6, result.output
    record = portal.state.structure(PAGE3_SIRET)
    assert record.reset_count == 1 and record.expiry > expiry_before
    assert keyring.get_password(secret_store.technical_service(PAGE3_SIRET), record.tech_login) == (
        record.tech_password
    )
    assert "New expiry" in result.stdout
    warning = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert warning and "the reset is done, but hand-over mail" in warning[0]
    assert f"127.0.0.1:{closed_port}" in warning[0]
    audit = _history(cli)[-1]
    assert audit["outcome"] == "reset" and audit["exit_code"] == 6
    assert "hand-over mail: FAILED" in audit["detail"]
    cli.assert_no_secret(portal_secrets(portal))


def test_failing_command_exits_6_and_the_mail_says_so(
    cli, portal, real_keyring, smtp_server, tmp_path
):
    collector, port = smtp_server()
    argv, recorded = _recorder(tmp_path, exit_code=3)
    _write_config(cli, f"post_reset_command = {_toml_list(argv)}\n" + _mail_table(port))

    result = cli("reset", "--structure", PAGE3_SIRET)

    assert result.returncode == 6, result.output
    assert recorded.exists()
    assert "post_reset_command" in result.stderr and "exited with code 3" in result.stderr
    assert "ERP refused the password" in result.stderr
    body = _body(collector.messages[0])
    assert "post_reset_command) : ÉCHEC" in body
    audit = _history(cli)[-1]
    assert audit["exit_code"] == 6
    assert "post_reset_command: FAILED" in audit["detail"]
    assert "mail: sent" in audit["detail"]
    cli.assert_no_secret(portal_secrets(portal))


needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="needs the openssl command for a test certificate"
)


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "relay-cert.pem", tmp_path / "relay-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _checking_authenticator(seen: list[str]):
    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == SMTP_PASSWORD
        )
        seen.append(f"{mechanism}:{'ok' if ok else 'refused'}")
        return AuthResult(success=ok, handled=False)

    return authenticate


@needs_openssl
def test_starttls_and_login_with_the_smtp_password_from_the_keyring(
    cli, portal, real_keyring, smtp_server, tmp_path
):
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[str] = []
    collector, port = smtp_server(
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=_checking_authenticator(logins),
    )
    _write_config(
        cli,
        _mail_table(port).replace("starttls = false", "starttls = true")
        + f'user = "{SMTP_USER}"\ncafile = "{cert}"\n',
    )
    stored = cli("credentials", "set", "--smtp", "--password-stdin", input=SMTP_PASSWORD)
    assert stored.returncode == 0, stored.output
    assert "chorus-bot/smtp" in stored.stdout

    result = cli("reset", "--structure", PAGE3_SIRET)

    assert result.returncode == 0, result.output
    assert logins and logins[-1].endswith(":ok")
    assert len(collector.messages) == 1
    cli.assert_no_secret([*portal_secrets(portal), SMTP_PASSWORD])


# Unit level: the parts that need no portal -------------------------------------------------


def _new() -> NewPassword:
    return NewPassword(
        siret=PAGE3_SIRET, login="TECH_1_93319084500067@cpro.fr", password="S3cret!x"
    )


def test_command_not_found_or_too_slow_raises_handover_failed(tmp_path):
    with pytest.raises(HandoverFailed) as missing:
        handover.run_post_reset_command((str(tmp_path / "absent"),), 5, _new())
    assert "not found" in missing.value.message
    assert missing.value.exit_code == 6

    slow = tmp_path / "slow.py"
    slow.write_text("import sys, time\nsys.stdin.read()\ntime.sleep(60)\n", encoding="utf-8")
    with pytest.raises(HandoverFailed) as late:
        handover.run_post_reset_command((sys.executable, str(slow)), 0.5, _new())
    assert "did not finish within 0.5 s" in late.value.message
    assert "secret show --structure" in late.value.hint


@needs_openssl
def test_untrusted_certificate_is_refused(smtp_server, tmp_path):
    """STARTTLS verifies the relay's certificate: a self-signed one without cafile fails."""
    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    collector, port = smtp_server(tls_context=context, require_starttls=True)
    mail = MailSettings(
        host="127.0.0.1", port=port, sender="a@example.fr", recipients=("b@example.fr",)
    )
    after = TechnicalStatus(PAGE3_SIRET, _new().login, datetime(2027, 12, 22, 15, 20, tzinfo=PARIS))
    message = handover.build_message(mail, _new(), after, keyring_service="svc")
    with pytest.raises(HandoverFailed) as caught:
        handover.send_mail(mail, message)
    assert "TLS" in caught.value.message
    assert collector.messages == []


def test_french_date_is_paris_time_with_french_month():
    from datetime import UTC

    moment = datetime(2027, 8, 1, 13, 5, 9, tzinfo=UTC)
    assert handover.french_date(moment) == "1 août 2027 à 15:05:09"


def test_failed_hand_over_in_a_run_over_several_structures_exits_6(
    cli, portal, real_keyring, tmp_path
):
    argv, _ = _recorder(tmp_path, exit_code=1)
    _write_config(cli, f"post_reset_command = {_toml_list(argv)}\n")
    second = "88447294500085"  # also within the 90-day window

    result = cli("reset", "--structure", PAGE3_SIRET, "--structure", second)

    assert result.returncode == 6, result.output
    for siret in (PAGE3_SIRET, second):
        assert portal.state.structure(siret).reset_count == 1
    assert [r["exit_code"] for r in _history(cli) if r["action"] == "reset"] == [6, 6]
    cli.assert_no_secret(portal_secrets(portal))
