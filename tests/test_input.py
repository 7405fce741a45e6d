"""Bad input is refused before any browser starts (issue 3, item 9), and missing credentials or
keyring say what to set or install."""

from __future__ import annotations

import pytest

from bot.errors import InvalidSiret
from bot.siret import parse_siret
from tests.conftest import MANAGER, MANAGER_PASSWORD, SIAGEP
from tests.runs import error_line, no_run_folder

BAD_SIRETS = [
    pytest.param("2590009660002A", "must contain only digits", id="letters"),
    pytest.param("2590009660002", "has 13 digits, not 14", id="13-digits"),
    pytest.param("259000966000201", "has 15 digits, not 14", id="15-digits"),
    pytest.param("25900096600021", "invalid checksum", id="bad-checksum"),
    pytest.param("35600000012345", "invalid checksum", id="la-poste-bad-digit-sum"),
    pytest.param("", "has 0 digits", id="empty"),
]


@pytest.mark.parametrize(("siret", "problem"), BAD_SIRETS)
@pytest.mark.parametrize("command", ["check", "reset"])
def test_bad_siret_exits_2_before_any_browser(cli, portal, command, siret, problem):
    result = cli(command, "--structure", siret)

    assert result.returncode == 2, result.output
    line = error_line(result)
    assert problem in line, line
    assert "SIRET" in line
    assert no_run_folder(cli.state_dir)
    assert portal.state.requests == []


@pytest.mark.parametrize(
    ("raw", "siret"),
    [
        ("25900096600020", "25900096600020"),
        ("259 000 966 00020", "25900096600020"),
        ("259\u00a0000\u00a0966\u00a000020", "25900096600020"),
        # La Poste's SIREN 356000000: its establishments follow their own rule (digit sum
        # divisible by 5), not Luhn. 35600000000047 fails Luhn and passes that rule.
        ("35600000000047", "35600000000047"),
        ("356 000 000 00048", "35600000000048"),
    ],
)
def test_valid_sirets_are_accepted(raw, siret):
    assert parse_siret(raw) == siret


def test_la_poste_rule_applies_to_la_poste_only():
    # Same digit sum rule on another SIREN: still refused, Luhn is the rule there.
    with pytest.raises(InvalidSiret, match="invalid checksum"):
        parse_siret("25900096600047")


def test_spaces_are_accepted_on_the_command_line(cli, portal):
    result = cli("check", "--structure", "259 000 966 00020")

    assert result.returncode == 0, result.output
    assert f"Structure {SIAGEP}" in result.stdout


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        pytest.param(
            {"CHORUS_BOT_USERNAME": None, "CHORUS_BOT_PASSWORD": None},
            "no portal identifiant is configured",
            id="nothing",
        ),
        pytest.param(
            {"CHORUS_BOT_PASSWORD": None},
            f"no portal password is stored for {MANAGER}",
            id="no-password",
        ),
    ],
)
@pytest.mark.parametrize("command", ["check", "reset"])
def test_missing_credentials_without_a_terminal_exit_2_saying_how_to_set_them(
    cli, portal, real_keyring, command, env, missing
):
    result = cli(command, "--structure", SIAGEP, **env)

    assert result.returncode == 2, result.output
    line = error_line(result)
    assert missing in line, line
    assert "chorus-bot credentials set" in line and "CHORUS_BOT_PASSWORD" in line
    assert no_run_folder(cli.state_dir)
    assert portal.state.requests == []


@pytest.mark.parametrize(
    "args",
    [
        ("reset", "--structure", SIAGEP),
        ("check", "--structure", SIAGEP),
        ("credentials", "set", "--identifiant", MANAGER, "--password-stdin"),
        ("secret", "show", "--structure", SIAGEP),
    ],
    ids=["reset", "check-without-env-credentials", "credentials-set", "secret-show"],
)
def test_no_usable_keyring_says_what_to_install(cli, portal, args):
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    if args[0] == "check":
        env.update(CHORUS_BOT_USERNAME=None, CHORUS_BOT_PASSWORD=None)

    result = cli(*args, input="a-password-typed-in\n", **env)

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert "no usable keyring backend" in line, line
    assert "gnome-keyring" in line and "KeePassXC" in line and "PYTHON_KEYRING_BACKEND" in line
    assert no_run_folder(cli.state_dir)
    assert portal.state.requests == []
    cli.assert_no_secret([MANAGER_PASSWORD, "a-password-typed-in"])
