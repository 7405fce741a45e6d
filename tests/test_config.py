"""Configuration: defaults < config file < environment < options, `config show` naming each
value's source and never a secret, and every bad file refused with exit 2 before anything runs.
The CLI in a subprocess (no browser is started by these commands)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import build_settings
from bot.errors import ConfigError
from tests.conftest import MANAGER_PASSWORD, Cli

MAIL = """
[mail]
host = "smtp.collectivite.example.fr"
user = "chorus-bot"
sender = "chorus-bot@collectivite.example.fr"
recipients = ["dsi@collectivite.example.fr"]
"""

IMAP = """
[second_factor.imap]
host = "imap.collectivite.example.fr"
user = "claire.martin@collectivite.example.fr"
sender = "*@chorus-pro.gouv.fr"
"""


@pytest.fixture
def offline_cli(tmp_path: Path) -> Cli:
    return Cli(home=tmp_path)


def _show_lines(result) -> dict[str, str]:
    """`key = value  # source` lines, keyed by key."""
    lines = {}
    for line in result.stdout.splitlines():
        if " = " in line and not line.startswith("#"):
            key, _, rest = line.partition(" = ")
            lines[key] = rest
    return lines


def test_config_show_names_default_file_env_and_option_sources(offline_cli):
    offline_cli.config_file.write_text(
        'timeout = 12\npost_reset_command = ["/opt/erp/push", "--quiet"]\n' + MAIL,
        encoding="utf-8",
    )

    result = offline_cli(
        "config",
        "show",
        "--browser",
        "/opt/chrome/chrome",
        CHORUS_BOT_PORTAL_URL="https://portail.dgfip.finances.gouv.fr/portail/accueilIAM.pl",
    )

    assert result.returncode == 0, result.output
    shown = _show_lines(result)
    assert shown["warn_days"] == "30  # default"
    assert shown["timeout"] == "12  # file"
    assert shown["portal_url"].endswith("accueilIAM.pl'  # env")
    assert shown["browser"] == "'/opt/chrome/chrome'  # option"
    assert shown["post_reset_command"] == "['/opt/erp/push', '--quiet']  # file"
    assert shown["post_reset_timeout"] == "120.0  # default"
    assert shown["mail.host"] == "'smtp.collectivite.example.fr'  # file"
    assert shown["mail.port"] == "587  # default"
    assert shown["mail.starttls"] == "True  # default"
    assert shown["mail.include_password"] == "False  # default"
    assert shown["mail.recipients"] == "['dsi@collectivite.example.fr']  # file"
    assert "service 'chorus-bot/smtp', username 'chorus-bot'" in result.stdout


def test_environment_overrides_the_file_and_options_override_both(offline_cli, monkeypatch):
    offline_cli.config_file.write_text(
        'post_reset_command = "/opt/erp/push --from-file"\ntimeout = 12\n', encoding="utf-8"
    )
    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(offline_cli.config_file))
    monkeypatch.setenv("CHORUS_BOT_POST_RESET_COMMAND", "/opt/erp/push --from-env 'two words'")

    settings = build_settings(timeout=5.0)

    assert settings.post_reset_command == ("/opt/erp/push", "--from-env", "two words")
    assert settings.sources["post_reset_command"] == "env"
    assert settings.timeout == 5.0 and settings.sources["timeout"] == "option"
    assert settings.mail is None

    monkeypatch.delenv("CHORUS_BOT_POST_RESET_COMMAND")
    settings = build_settings()
    assert settings.post_reset_command == ("/opt/erp/push", "--from-file")
    assert settings.sources["post_reset_command"] == "file"
    assert settings.timeout == 12 and settings.sources["timeout"] == "file"


def test_config_show_prints_no_secret(offline_cli, real_keyring):
    offline_cli.config_file.write_text(MAIL, encoding="utf-8")
    smtp_password = "Relais-Smtp-2026!"
    stored = offline_cli("credentials", "set", "--smtp", "--password-stdin", input=smtp_password)
    assert stored.returncode == 0, stored.output

    result = offline_cli("config", "show", "--verbose")

    assert result.returncode == 0, result.output
    # CHORUS_BOT_PASSWORD is set by the Cli: the manager's password must not show either.
    offline_cli.assert_no_secret([smtp_password, MANAGER_PASSWORD])


def test_smtp_password_needs_a_configured_user(offline_cli, real_keyring):
    result = offline_cli("credentials", "set", "--smtp", "--password-stdin", input="x-secret-x")
    assert result.returncode == 2, result.output
    assert "no SMTP user is configured" in result.last_error_line()


BAD_FILES = [
    pytest.param("timeout = [", "cannot read config file", id="bad-toml"),
    pytest.param("colour = 'blue'\n", "unknown key(s): colour", id="unknown-key"),
    pytest.param("warn_days = true\n", "warn_days must be an integer", id="top-level-bool"),
    pytest.param("[mail]\nhost = 'h'\n", "[mail] needs sender", id="mail-incomplete"),
    pytest.param(MAIL + "smtp_password = 'x'\n", "unknown key(s): smtp_password", id="mail-key"),
    pytest.param(MAIL + "port = true\n", "mail.port must be an integer", id="mail-port-bool"),
    pytest.param(MAIL + "include_password = 1\n", "must be true or false", id="include-int"),
    pytest.param(MAIL + "ssl = true\n", "ssl and mail.starttls cannot both", id="ssl+starttls"),
    pytest.param(
        MAIL.replace('["dsi@collectivite.example.fr"]', '"dsi@collectivite.example.fr"'),
        "mail.recipients must be a list",
        id="recipients-string",
    ),
    pytest.param("post_reset_command = 3\n", "must be a list of strings", id="command-int"),
    pytest.param("post_reset_command = 'push \"unclosed'\n", "cannot be split", id="cmd-quote"),
    pytest.param("post_reset_timeout = 0\n", "post_reset_timeout must be a positive", id="t0"),
    pytest.param(
        "[second_factor]\nmethod = 'imap'\n", "[second_factor] has unknown key", id="2fa-key"
    ),
    pytest.param(
        IMAP.replace('sender = "*@chorus-pro.gouv.fr"\n', ""),
        "[second_factor.imap] needs sender",
        id="imap-no-sender",
    ),
    pytest.param(IMAP + "password = 'x'\n", "unknown key(s): password", id="imap-password"),
    pytest.param(IMAP + "tls = 'tls'\n", "tls must be one of ssl, starttls, none", id="imap-tls"),
    pytest.param(IMAP + "tls = 'none'\n", 'tls = "none" is allowed only on loopback', id="clear"),
    pytest.param(IMAP + "timeout = 0\n", "imap.timeout must be a positive", id="imap-t0"),
    pytest.param(IMAP + "port = '993'\n", "imap.port must be an integer", id="imap-port"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_config_file_exits_2_naming_the_problem(offline_cli, text, expected):
    offline_cli.config_file.write_text(text, encoding="utf-8")

    result = offline_cli("config", "show")

    assert result.returncode == 2, result.output
    assert expected in result.last_error_line()
    assert result.stdout == ""


def test_ssl_alone_defaults_to_port_465(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(MAIL + "ssl = true\nstarttls = false\n", encoding="utf-8")
    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(config))
    mail = build_settings().mail
    assert mail is not None and (mail.port, mail.ssl, mail.starttls) == (465, True, False)


def test_bad_command_in_the_environment_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("CHORUS_BOT_POST_RESET_COMMAND", "push 'unclosed")
    with pytest.raises(ConfigError) as caught:
        build_settings()
    assert caught.value.exit_code == 2
    assert "CHORUS_BOT_POST_RESET_COMMAND" in caught.value.message


def test_config_show_lists_every_text_with_its_source(offline_cli):
    from flows.texts import KEYS

    offline_cli.config_file.write_text(
        '[texts]\nreset_button = "Régénérer le mot de passe"\n'
        'next_page = ["Suivant >>", "Page d\'après"]\n',
        encoding="utf-8",
    )
    result = offline_cli("config", "show")
    assert result.returncode == 0, result.output
    shown = _show_lines(result)
    assert {f"texts.{key}" for key in KEYS} <= set(shown)
    # The user's words come first, the documented text stays as a fallback.
    assert shown["texts.reset_button"] == (
        "['Régénérer le mot de passe', 'Réinitialiser le mot de passe (utilisateur technique)']"
        "  # file"
    )
    assert shown["texts.next_page"].startswith("['Suivant >>', \"Page d'après\", 'Page suivante'")
    assert shown["texts.expiry"].endswith("# default")


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('reset_buton = "Régénérer"', "reset_buton"),
        ('reset_button = ""', "texts.reset_button"),
        ("reset_button = []", "texts.reset_button"),
        ('reset_button = ["ok", "  "]', "texts.reset_button"),
        ("reset_button = 3", "texts.reset_button"),
    ],
)
def test_bad_texts_are_refused_naming_the_key(offline_cli, table, named):
    offline_cli.config_file.write_text(f"[texts]\n{table}\n", encoding="utf-8")
    result = offline_cli("check", "--structure", "25900096600020")
    assert result.returncode == 2, result.output
    assert named in result.last_error_line()


def test_imap_table_defaults_and_ports(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(config))
    config.write_text(IMAP, encoding="utf-8")
    imap = build_settings().imap
    assert imap is not None
    assert (imap.port, imap.tls, imap.folder, imap.subject, imap.timeout) == (
        993,
        "ssl",
        "INBOX",
        None,
        120.0,
    )
    config.write_text(IMAP + 'tls = "starttls"\ntimeout = 45\n', encoding="utf-8")
    imap = build_settings().imap
    assert imap is not None and (imap.port, imap.timeout) == (143, 45.0)
    config.write_text(IMAP.replace("imap.collectivite.example.fr", "127.0.0.1") + 'tls = "none"\n')
    imap = build_settings().imap
    assert imap is not None and (imap.tls, imap.port) == ("none", 143)
    config.write_text("timeout = 10\n", encoding="utf-8")
    assert build_settings().imap is None


def test_config_show_lists_the_imap_table_and_where_its_password_is(offline_cli):
    offline_cli.config_file.write_text(IMAP + "timeout = 60\n", encoding="utf-8")

    result = offline_cli("config", "show")

    assert result.returncode == 0, result.output
    shown = _show_lines(result)
    assert shown["second_factor.imap.host"] == "'imap.collectivite.example.fr'  # file"
    assert shown["second_factor.imap.port"] == "993  # default"
    assert shown["second_factor.imap.timeout"] == "60.0  # file"
    assert shown["second_factor.imap.sender"] == "'*@chorus-pro.gouv.fr'  # file"
    assert (
        "# IMAP password: in the keyring, service 'chorus-bot/imap', "
        "username 'claire.martin@collectivite.example.fr'" in result.stdout
    )
