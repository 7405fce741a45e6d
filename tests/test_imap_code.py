"""The code the portal e-mails, read from the manager's mailbox over IMAP (unattended runs).

A real Dovecot on 127.0.0.1 serves the mailbox; every mail reaches it through a real SMTP server
(aiosmtpd) and smtplib, as the portal's will (tests/mailserver.py). The IMAP password is in the
real Secret Service keyring. The code source is used as the flows use it, through
CredentialSource and ManagerLogin.expect_email_code: opened before the portal is asked to send,
called after.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import pytest
from loguru import logger

from bot import secret_store
from bot.auth import CredentialSource
from bot.config import build_settings
from bot.email_code import find_code
from bot.errors import CredentialsMissing, SecondFactorError
from bot.log import redactor
from tests.conftest import MANAGER, MANAGER_PASSWORD, Cli
from tests.mailserver import CODE_SUBJECT, MailServer
from tests.ports import free_port

# A bound for the mail that fails fast when none is coming; waits that succeed use 30 s and
# return as soon as the mail is there.
SHORT = 1.5


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


def _source(server: MailServer, **overrides) -> CredentialSource:
    """What the CLI builds for a scheduled run: no terminal, the mailbox configured."""
    secret_store.set_imap_password(server.user, server.password)
    return CredentialSource(
        identifiant=MANAGER, interactive=False, imap=server.imap_settings(**overrides)
    )


def _seen(server: MailServer) -> list[bool]:
    return ["\\Seen" in flags for _, flags in server.messages()]


# The rule: after the request, from the sender, newest first ------------------------------


def test_code_mailed_after_the_request_is_read_and_marked_seen(mail_server, real_keyring):
    source = _source(mail_server)

    wait_for_code = source.expect_email_code()  # before the portal is asked to send
    mail_server.send_code("482913")  # the portal sends
    code = wait_for_code()

    assert code == "482913"
    assert code in redactor.known()
    assert redactor.redact(f"code {code}") == "code ********"
    assert _seen(mail_server) == [True]


def test_a_code_sent_before_the_request_is_ignored_and_the_newer_one_used(
    mail_server, real_keyring
):
    mail_server.send_code("111111")  # an earlier login's code, still unread in the mailbox
    source = _source(mail_server)

    wait_for_code = source.expect_email_code()
    mail_server.send_code("222222")

    assert wait_for_code() == "222222"
    # The old mail is left as it was: not used, not marked.
    assert _seen(mail_server) == [False, True]


def test_only_a_stale_code_in_the_mailbox_times_out_with_one_line(mail_server, real_keyring):
    mail_server.send_code("111111")
    wait_for_code = _source(mail_server, timeout=SHORT).expect_email_code()

    with pytest.raises(SecondFactorError) as caught:
        wait_for_code()

    line = caught.value.one_line()
    assert line.startswith("second factor: no verification code arrived in ")
    assert f"{mail_server.user} on 127.0.0.1:{mail_server.imap_port} (INBOX)" in line
    assert "within 1.5 s" in line
    assert "sender" in line and "credentials set --totp" in line
    assert "\n" not in line
    assert "111111" not in line


def test_no_mail_at_all_times_out_with_one_line(mail_server, real_keyring, log_lines):
    wait_for_code = _source(mail_server, timeout=SHORT).expect_email_code()

    with pytest.raises(SecondFactorError) as caught:
        wait_for_code()

    assert "no verification code arrived" in caught.value.one_line()
    assert caught.value.exit_code == 1
    waiting = [line for line in log_lines if "waiting up to 1.5 s" in line]
    assert len(waiting) == 1, log_lines  # said once, not at every look at the mailbox


def test_a_mail_from_another_sender_is_ignored(mail_server, real_keyring):
    source = _source(mail_server)

    wait_for_code = source.expect_email_code()
    mail_server.send_code("222222")
    # Newer, and worded the same, but not from the portal.
    mail_server.send_code("333333", sender="Chorus Pro <support@chorus-pro.example.com>")

    assert wait_for_code() == "222222"
    assert _seen(mail_server) == [True, False]


def test_a_mail_only_from_another_sender_times_out(mail_server, real_keyring):
    wait_for_code = _source(mail_server, timeout=SHORT).expect_email_code()
    mail_server.send_code("333333", sender="phishing@example.com")

    with pytest.raises(SecondFactorError) as caught:
        wait_for_code()
    assert "no verification code arrived" in caught.value.one_line()


def test_sender_is_a_glob_on_the_address_and_subject_filters_too(mail_server, real_keyring):
    source = _source(mail_server, sender="*@chorus-pro.gouv.fr", subject="*code de vérif*")

    wait_for_code = source.expect_email_code()
    mail_server.send_code("444444", sender="Chorus Pro <NE-PAS-REPONDRE@chorus-pro.gouv.fr>")
    mail_server.send_code("555555", subject="Chorus Pro : lettre d'information")

    assert wait_for_code() == "444444"


def test_a_second_run_does_not_reuse_the_code_already_used(mail_server, real_keyring):
    source = _source(mail_server, timeout=SHORT)
    first = source.expect_email_code()
    mail_server.send_code("482913")
    assert first() == "482913"

    second = source.expect_email_code()
    with pytest.raises(SecondFactorError, match="no verification code arrived"):
        second()


# Waiting ------------------------------------------------------------------------------------


@contextmanager
def _sent_once_waiting(server: MailServer, code: str) -> Iterator[None]:
    """Sends the code mail from another thread as soon as the source says it is waiting."""
    waiting = threading.Event()
    sink = logger.add(
        lambda message: waiting.set() if "waiting up to" in str(message) else None, level="INFO"
    )
    sender = threading.Thread(
        target=lambda: waiting.wait(60) and server.send_code(code), daemon=True
    )
    sender.start()
    try:
        yield
    finally:
        sender.join(60)
        logger.remove(sink)


def test_a_mail_arriving_while_waiting_is_announced_by_idle(mail_server, real_keyring, log_lines):
    wait_for_code = _source(mail_server).expect_email_code()
    with _sent_once_waiting(mail_server, "616161"):
        assert wait_for_code() == "616161"
    assert any("announced a change (IDLE)" in line for line in log_lines), log_lines


def test_a_server_without_idle_is_asked_again_until_the_mail_is_there(
    make_mail_server, real_keyring, log_lines
):
    server = make_mail_server(idle=False)
    wait_for_code = _source(server).expect_email_code()
    with _sent_once_waiting(server, "626262"):
        assert wait_for_code() == "626262"
    assert any("no IMAP IDLE, asking again" in line for line in log_lines), log_lines
    assert not any("(IDLE)" in line for line in log_lines)


# Connection, TLS, login -------------------------------------------------------------------


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_tls_with_the_servers_certificate_authority(make_mail_server, real_keyring, tls):
    server = make_mail_server(tls=tls)
    wait_for_code = _source(server).expect_email_code()
    server.send_code("707070")
    assert wait_for_code() == "707070"


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_an_untrusted_certificate_is_refused_with_one_line(make_mail_server, real_keyring, tls):
    server = make_mail_server(tls=tls)

    with pytest.raises(SecondFactorError) as caught:
        _source(server, cafile=None).expect_email_code()

    line = caught.value.one_line()
    assert line.startswith(f"second factor: TLS with the IMAP server 127.0.0.1:{server.imap_port}")
    assert "CERTIFICATE_VERIFY_FAILED" in line and "cafile" in line


def test_wrong_imap_password_is_a_clear_error_before_the_portal_sends(mail_server, real_keyring):
    secret_store.set_imap_password(mail_server.user, "not-the-mailbox-password")
    source = CredentialSource(
        identifiant=MANAGER, interactive=False, imap=mail_server.imap_settings()
    )

    with pytest.raises(SecondFactorError) as caught:
        source.expect_email_code()

    line = caught.value.one_line()
    assert line == (
        f"second factor: the IMAP server 127.0.0.1 refused the login of {mail_server.user}. "
        "store the mailbox password again with `chorus-bot credentials set --imap`."
    )
    assert "not-the-mailbox-password" not in line


def test_nothing_listening_is_a_clear_error(mail_server, real_keyring):
    with pytest.raises(SecondFactorError) as caught:
        _source(mail_server, port=free_port()).expect_email_code()
    assert "cannot reach the IMAP server 127.0.0.1:" in caught.value.one_line()


def test_a_missing_folder_is_a_clear_error(mail_server, real_keyring):
    with pytest.raises(SecondFactorError) as caught:
        _source(mail_server, folder="Chorus").expect_email_code()
    assert "cannot open the folder 'Chorus'" in caught.value.one_line()


# Which source: the mailbox, a terminal, or a clear stop -----------------------------------


def test_configured_mailbox_without_a_stored_password_says_how_to_store_it(
    mail_server, real_keyring
):
    source = CredentialSource(
        identifiant=MANAGER, interactive=False, imap=mail_server.imap_settings()
    )
    with pytest.raises(CredentialsMissing) as caught:
        source.expect_email_code()
    assert caught.value.exit_code == 2
    assert "no IMAP password is stored for claire.martin@" in caught.value.one_line()
    assert "chorus-bot credentials set --imap" in caught.value.one_line()


def test_an_imap_password_stored_for_another_user_is_not_used(mail_server, real_keyring):
    secret_store.set_imap_password("someone.else@example.fr", mail_server.password)
    source = CredentialSource(
        identifiant=MANAGER, interactive=False, imap=mail_server.imap_settings()
    )
    with pytest.raises(CredentialsMissing, match="credentials set --imap"):
        source.expect_email_code()


def test_without_mailbox_nor_terminal_the_run_stops_saying_how_to_set_one_up(real_keyring):
    with pytest.raises(CredentialsMissing) as caught:
        CredentialSource(identifiant=MANAGER, interactive=False).expect_email_code()
    line = caught.value.one_line()
    assert caught.value.exit_code == 2
    assert "credentials set --totp" in line
    assert "[second_factor.imap]" in line and "credentials set --imap" in line


def test_without_mailbox_a_terminal_user_types_the_mailed_code(real_keyring):
    prompts: list[str] = []

    def type_code(prompt: str) -> str:
        prompts.append(prompt)
        return " 918273 "

    source = CredentialSource(identifiant=MANAGER, interactive=True, ask=type_code)
    wait_for_code = source.expect_email_code()
    assert prompts == []  # asked only once the portal has sent it
    assert wait_for_code() == "918273"
    assert prompts == ["Code de vérification reçu par courriel (6 chiffres) : "]
    assert "918273" in redactor.known()


def test_a_configured_mailbox_is_used_on_a_terminal_too(mail_server, real_keyring):
    def no_prompt(prompt: str) -> str:
        raise AssertionError("a configured mailbox must not prompt")

    secret_store.set_imap_password(mail_server.user, mail_server.password)
    source = CredentialSource(
        identifiant=MANAGER, interactive=True, ask=no_prompt, imap=mail_server.imap_settings()
    )
    wait_for_code = source.expect_email_code()
    mail_server.send_code("135790")
    assert wait_for_code() == "135790"


def test_manager_login_offers_the_code_sources_to_the_flows(mail_server, real_keyring):
    from tests.test_second_factor import SEED_TOTP_SECRET

    secret_store.set_manager(MANAGER, MANAGER_PASSWORD)
    manager = _source(mail_server).manager_login()
    assert manager.has_totp_secret is not None and manager.has_totp_secret() is False
    secret_store.set_totp_secret(MANAGER, SEED_TOTP_SECRET)
    assert manager.has_totp_secret() is True

    wait_for_code = manager.expect_email_code()
    mail_server.send_code("246802")
    assert wait_for_code() == "246802"
    assert "246802" not in repr(manager)


def test_a_totp_secret_of_another_account_does_not_count(real_keyring):
    from tests.test_second_factor import SEED_TOTP_SECRET

    secret_store.set_totp_secret("someone.else", SEED_TOTP_SECRET)
    assert CredentialSource(identifiant=MANAGER, interactive=False).has_totp_secret() is False


# End to end: the CLI stores the password; a run reads the code; no secret anywhere --------


def test_credentials_set_imap_then_a_run_reads_the_code_and_no_secret_leaks(
    tmp_path, mail_server, real_keyring, monkeypatch, capsys
):
    cli = Cli(home=tmp_path)
    cli.config_file.write_text(mail_server.config_table(timeout=30.0), encoding="utf-8")

    stored = cli("credentials", "set", "--imap", "--password-stdin", input=mail_server.password)
    assert stored.returncode == 0, stored.output
    assert f"service 'chorus-bot/imap', username '{mail_server.user}'" in stored.stdout
    assert keyring.get_password("chorus-bot/imap", mail_server.user) == mail_server.password

    shown = cli("credentials", "show", "--verbose")
    assert shown.returncode == 0, shown.output
    assert f"IMAP password   : yes, for '{mail_server.user}'" in shown.stdout
    config = cli("config", "show", "--verbose")
    assert config.returncode == 0, config.output
    assert f"second_factor.imap.port = {mail_server.imap_port}  # file" in config.stdout
    assert "second_factor.imap.subject = None  # default" in config.stdout
    assert "# IMAP password: in the keyring, service 'chorus-bot/imap'" in config.stdout

    # A run as the CLI sets it up: its settings, its credential source, its logs (stderr and
    # the log file in the state folder), verbose.
    from bot import log
    from bot.cli import _credential_source

    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(cli.config_file))
    monkeypatch.setenv("CHORUS_BOT_STATE_DIR", str(cli.state_dir))
    settings = build_settings(verbose=True)
    log.configure(verbose=True, log_file=settings.log_file)
    try:
        source = _credential_source(settings)
        source.interactive = False
        mail_server.send_code("111111")  # stale: before the request
        wait_for_code = source.expect_email_code()
        mail_server.send_code("864209")
        code = wait_for_code()
        logger.info("second factor: typing code {} into the portal", code)
    finally:
        logger.remove()
        logger.add(lambda message: sys.stderr.write(message))  # loguru's default, restored
    assert code == "864209"
    err = capsys.readouterr().err
    assert "waiting up to 30 s for the verification code e-mail" in err
    log_text = settings.log_file.read_text(encoding="utf-8")
    assert "typing code ******** into the portal" in log_text

    deleted = cli("credentials", "delete")
    assert deleted.returncode == 0, deleted.output
    assert keyring.get_password("chorus-bot/imap", mail_server.user) is None
    assert "IMAP password   : none for" in cli("credentials", "show").stdout

    cli.assert_no_secret([mail_server.password, code, MANAGER_PASSWORD])
    assert mail_server.password not in err and code not in err


def test_credentials_set_imap_needs_a_configured_mailbox(tmp_path, real_keyring):
    cli = Cli(home=tmp_path)
    result = cli("credentials", "set", "--imap", "--password-stdin", input="Imap-Secret-1")
    assert result.returncode == 2, result.output
    assert "no mailbox is configured" in result.last_error_line()
    assert "[second_factor.imap]" in result.last_error_line()
    cli.assert_no_secret(["Imap-Secret-1"])


def test_credentials_set_takes_one_kind_of_secret_at_a_time(tmp_path, real_keyring):
    cli = Cli(home=tmp_path)
    result = cli("credentials", "set", "--imap", "--totp", "--password-stdin", input="x-secret")
    assert result.returncode == 2, result.output
    assert "one at a time" in result.last_error_line()


# Finding the code in the mail's text ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("Votre code de vérification est : 123456", "123456", id="seed-wording"),
        pytest.param(
            "Dossier 25900096600020, réf. 654321.\nVotre code de vérification : 123456",
            "123456",
            id="near-code-wins",
        ),
        pytest.param("Code de sécurité : 123 456 (valable 10 minutes)", "123456", id="spaced"),
        pytest.param("Saisissez 908172 pour vous connecter.", "908172", id="no-word"),
        pytest.param("CODE\n\n  777888  \n", "777888", id="next-lines"),
        pytest.param("Structure 25900096600020 : aucun code ici.", None, id="siret-is-not"),
        pytest.param("Appelez le 0809400240.", None, id="phone-is-not"),
    ],
)
def test_find_code(text, code):
    assert find_code(text) == code


def test_an_html_only_mail_gives_its_code(mail_server, real_keyring):
    wait_for_code = _source(mail_server).expect_email_code()
    mail_server.send(
        body="<p>Votre <b>code</b> de v&eacute;rification est&nbsp;: <strong>314159</strong></p>",
        html=True,
    )
    assert wait_for_code() == "314159"


def test_a_mail_from_the_portal_without_a_code_is_passed_over(mail_server, real_keyring):
    wait_for_code = _source(mail_server, timeout=SHORT).expect_email_code()
    mail_server.send(subject=CODE_SUBJECT, body="Votre mot de passe expire bientôt.")
    with pytest.raises(SecondFactorError, match="no verification code arrived"):
        wait_for_code()
    assert _seen(mail_server) == [False]
