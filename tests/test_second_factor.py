"""The portal's second factor (docs/portal.md step 2): a TOTP code from the keyring, a code typed on
a terminal, or a clear exit 2. The CLI in a subprocess, real Chromium, the mock portal checking
real TOTP codes, the real Secret Service keyring."""

from __future__ import annotations

import json
import time

import pyotp
import pytest

from bot.auth import CredentialSource
from bot.errors import CredentialsMissing
from bot.log import redactor
from tests.conftest import MANAGER, MANAGER_PASSWORD, SIAGEP, Cli

SEED_TOTP_SECRET = "QA2D4CR4XDWLZTLOILV57WKY6EZUU4YI"
# Another valid base32 secret: codes pyotp computes from it are not the portal's.
WRONG_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def totp_cli(tmp_path, make_portal) -> Cli:
    portal = make_portal(totp_for={MANAGER})
    return Cli(home=tmp_path, portal_url=portal.url)


def _codes_around(start: float, end: float) -> set[str]:
    """Every code valid at some moment of the run (and one step either side)."""
    totp = pyotp.TOTP(SEED_TOTP_SECRET)
    return {totp.at(t) for t in range(int(start) - 30, int(end) + 31, 10)}


def test_totp_secret_stored_with_the_cli_lets_check_pass(totp_cli, real_keyring):
    stored = totp_cli("credentials", "set", "--totp", "--password-stdin", input=SEED_TOTP_SECRET)
    assert stored.returncode == 0, stored.output
    assert "chorus-bot/totp" in stored.stdout

    started = time.time()
    result = totp_cli("check", "--structure", SIAGEP, "--json", "--verbose")
    ended = time.time()

    assert result.returncode == 0, result.output
    assert json.loads(result.stdout)["structure"] == SIAGEP
    assert "step: second factor" in result.stderr
    # The one-time code is a secret of the run like the others: nowhere, not even the log file.
    log_file = totp_cli.state_dir / "chorus-bot.log"
    assert "step: second factor" in log_file.read_text(encoding="utf-8")
    totp_cli.assert_no_secret([MANAGER_PASSWORD, SEED_TOTP_SECRET, *_codes_around(started, ended)])


def test_totp_secret_is_stored_normalised_under_the_manager(totp_cli, real_keyring):
    import keyring

    spaced = " ".join(SEED_TOTP_SECRET[i : i + 4] for i in range(0, 32, 4)).lower()
    result = totp_cli("credentials", "set", "--totp", "--password-stdin", input=spaced)
    assert result.returncode == 0, result.output
    assert keyring.get_password("chorus-bot/totp", MANAGER) == SEED_TOTP_SECRET


def test_invalid_totp_secret_is_refused_before_it_is_stored(totp_cli, real_keyring):
    import keyring

    result = totp_cli("credentials", "set", "--totp", "--password-stdin", input="not base32 !")
    assert result.returncode == 2, result.output
    assert "base32" in result.last_error_line()
    assert keyring.get_password("chorus-bot/totp", MANAGER) is None


def test_wrong_totp_secret_is_rejected_with_a_clear_message(totp_cli, real_keyring):
    assert (
        totp_cli("credentials", "set", "--totp", "--password-stdin", input=WRONG_TOTP_SECRET)
    ).returncode == 0

    result = totp_cli("check", "--structure", SIAGEP, "--timeout", "5")

    assert result.returncode == 1, result.output
    line = result.last_error_line()
    assert line.startswith("chorus-bot: error: second factor: ")
    assert "refused the one-time code" in line
    assert "credentials set --totp" in line
    totp_cli.assert_no_secret([MANAGER_PASSWORD, WRONG_TOTP_SECRET])


def test_no_totp_secret_and_no_terminal_exits_2_saying_how_to_set_one(totp_cli, real_keyring):
    result = totp_cli("check", "--structure", SIAGEP)

    assert result.returncode == 2, result.output
    line = result.last_error_line()
    assert line.startswith("chorus-bot: error: second factor: ")
    assert "chorus-bot credentials set --totp" in line


def test_without_a_second_factor_page_no_totp_secret_is_needed(cli, real_keyring):
    # The default mock asks for no code: the TOTP source must never be consulted then.
    result = cli("check", "--structure", SIAGEP)
    assert result.returncode == 0, result.output
    assert "second factor" not in result.stderr


def test_code_typed_on_a_terminal_when_no_secret_is_stored(totp_cli, real_keyring):
    """End to end on a pseudo-terminal: the prompt shows, the person types the e-mailed code."""
    typed: list[str] = []

    def type_the_emailed_code() -> str:
        typed.append(pyotp.TOTP(SEED_TOTP_SECRET).now())
        return typed[-1] + "\n"

    returncode, output = totp_cli.on_terminal(
        "check", "--structure", SIAGEP, answers={"Code de vérification": type_the_emailed_code}
    )
    assert typed, output
    code = typed[0]
    assert returncode == 0, output
    assert "TECH_025900096600020@cpp2017" in output
    log_text = (totp_cli.state_dir / "chorus-bot.log").read_text(encoding="utf-8")
    assert "step: second factor" in log_text
    assert code not in log_text.replace(SIAGEP, "")


def test_typed_code_is_registered_with_the_redactor(real_keyring):
    typed = "482913"
    source = CredentialSource(identifiant=MANAGER, interactive=True, ask=lambda prompt: typed)
    assert source.one_time_code() == typed
    assert typed in redactor.known()
    assert redactor.redact(f"code {typed} sent") == "code ******** sent"


def test_stored_totp_code_is_registered_with_the_redactor(real_keyring):
    from bot import secret_store

    secret_store.set_totp_secret(MANAGER, SEED_TOTP_SECRET)

    def no_prompt(prompt: str) -> str:
        raise AssertionError("a stored TOTP secret must not prompt")

    code = CredentialSource(identifiant=MANAGER, interactive=True, ask=no_prompt).one_time_code()
    assert pyotp.TOTP(SEED_TOTP_SECRET).verify(code, valid_window=1)
    assert code in redactor.known()


def test_no_secret_and_not_interactive_raises_credentials_missing(real_keyring):
    with pytest.raises(CredentialsMissing) as caught:
        CredentialSource(identifiant=MANAGER, interactive=False).one_time_code()
    assert "credentials set --totp" in caught.value.one_line()


def test_a_totp_secret_stored_for_another_account_is_not_used(totp_cli, real_keyring):
    from bot import secret_store

    secret_store.set_totp_secret("someone.else", SEED_TOTP_SECRET)

    result = totp_cli("check", "--structure", SIAGEP)

    # Not "the portal refused the code": the configuration problem, named, before a wrong try.
    assert result.returncode == 2, result.output
    assert "TOTP secret in the keyring is for someone.else" in result.stderr
    assert "chorus-bot credentials set --totp" in result.last_error_line()
