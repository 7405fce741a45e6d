"""`verify`, `check --verify` and the verification after `reset`, end to end: the CLI in a
subprocess, the real mock portal's PISTE endpoints, the real Secret Service keyring."""

from __future__ import annotations

import json

import keyring
import pytest

from bot.piste import RATTACHEMENTS_PATH
from fixtures.mock_portal import Fault, MockPortal
from fixtures.mock_portal.piste import TOKEN_PATH
from tests.conftest import PAGE3_SIRET, SIAGEP, Cli, portal_secrets

CLIENT_ID, CLIENT_SECRET = "demo-client", "demo-secret"


def piste_args(portal: MockPortal) -> list[str]:
    return ["--piste-api-url", portal.piste_api_url, "--piste-oauth-url", portal.piste_oauth_url]


def set_piste(cli: Cli, secret: str = CLIENT_SECRET) -> None:
    result = cli(
        "credentials", "set", "--piste", "--client-id", CLIENT_ID, "--password-stdin",
        input=secret + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.output
    assert keyring.get_password("chorus-bot/piste", CLIENT_ID) == secret


def store_technical(siret: str, login: str, password: str) -> None:
    keyring.set_password(f"chorus-bot/technical/{siret}", login, password)


def api_calls(portal: MockPortal) -> int:
    return sum(1 for _, path in portal.state.requests if path == RATTACHEMENTS_PATH)


def secrets_of(portal: MockPortal, *more: str) -> list[str]:
    return [*portal_secrets(portal), CLIENT_SECRET, *more]


def test_verify_accepts_the_current_password(cli, portal, real_keyring):
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, record.tech_password)
    set_piste(cli)

    result = cli("verify", "--structure", SIAGEP, "--json", *piste_args(portal))

    assert result.returncode == 0, result.output
    assert json.loads(result.stdout) == {
        "structure": SIAGEP,
        "login": record.tech_login,
        "accepted": True,
        "reason": "accepted",
        "http_status": 200,
        "code_retour": 0,
    }
    assert api_calls(portal) == 1
    plain = cli("verify", "--structure", SIAGEP, *piste_args(portal))
    assert plain.returncode == 0 and "accepted" in plain.stdout
    assert len(plain.stdout.strip().splitlines()) == 1
    history = json.loads(cli("history", "--json").stdout)
    assert history[-1]["action"] == "verify" and history[-1]["outcome"] == "accepted"
    shown = cli("credentials", "show")
    assert CLIENT_ID in shown.stdout and "chorus-bot/piste" in shown.stdout
    cli.assert_no_secret(secrets_of(portal))


def test_verify_rejects_a_wrong_password_with_a_clear_message(cli, portal, real_keyring):
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, "Ancien-Mot-De-Passe-1!")
    set_piste(cli)

    result = cli("verify", "--structure", SIAGEP, "--json", *piste_args(portal))

    assert result.returncode == 1, result.output
    data = json.loads(result.stdout)
    assert data["accepted"] is False
    # HTTP 200 like an acceptance: only codeRetour says no.
    assert (data["http_status"], data["code_retour"]) == (200, 20001)
    line = result.last_error_line()
    assert "rejected the technical password" in line and SIAGEP in line
    assert "mot de passe est incorrect" in line
    assert json.loads(cli("history", "--json").stdout)[-1]["outcome"] == "rejected"
    cli.assert_no_secret(secrets_of(portal, "Ancien-Mot-De-Passe-1!"))


def test_verify_without_piste_credentials_says_how_to_set_them(cli, portal, real_keyring):
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, record.tech_password)

    result = cli("verify", "--structure", SIAGEP, *piste_args(portal))

    assert result.returncode == 2
    assert "credentials set --piste" in result.last_error_line()
    assert portal.state.requests == []


def test_bad_oauth_credentials_exit_1_and_say_so(cli, portal, real_keyring):
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, record.tech_password)
    set_piste(cli, secret="not-the-client-secret")

    result = cli("verify", "--structure", SIAGEP, *piste_args(portal))

    assert result.returncode == 1
    line = result.last_error_line()
    assert "PISTE refused the OAuth client id" in line and "credentials set --piste" in line
    token_calls = [r for r in portal.state.requests if r[1] == TOKEN_PATH]
    assert len(token_calls) == 1  # a 401 is not retried
    assert api_calls(portal) == 0
    cli.assert_no_secret(secrets_of(portal, "not-the-client-secret"))


def test_a_5xx_is_retried_a_bounded_number_of_times_then_reported(cli, portal, real_keyring):
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, record.tech_password)
    set_piste(cli)
    cli.config_file.write_text("piste_backoff = 0.01\n", encoding="utf-8")
    portal.faults.add(Fault(kind="piste_5xx", step="piste_api"))

    result = cli("verify", "--structure", SIAGEP, *piste_args(portal))

    assert result.returncode == 1
    assert api_calls(portal) == 3
    line = result.last_error_line()
    assert "failed 3 times" in line and "HTTP 503" in line and "run again" in line
    cli.assert_no_secret(secrets_of(portal))


@pytest.mark.parametrize(
    "override",
    [
        ["--piste-api-url", "https://api.piste.example.org"],
        ["--piste-oauth-url", "http://oauth.piste.gouv.fr/api/oauth/token"],
    ],
    ids=["foreign-https-host", "genuine-host-over-http"],
)
def test_piste_urls_follow_the_host_rule(cli, portal, real_keyring, override):
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, record.tech_password)
    set_piste(cli)

    result = cli("verify", "--structure", SIAGEP, *override)

    assert result.returncode == 2
    assert "refusing PISTE URL" in result.last_error_line()


def test_allow_host_lets_a_trusted_piste_host_through(cli, portal, real_keyring):
    """The host rule is passed; the host then does not resolve: exit 1, not 2."""
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, record.tech_password)
    set_piste(cli)
    cli.config_file.write_text("piste_backoff = 0\n", encoding="utf-8")
    host = "piste.invalid"

    result = cli(
        "verify", "--structure", SIAGEP, "--piste-oauth-url", f"https://{host}/token",
        "--allow-host", host, "--timeout", "3",
    )  # fmt: skip

    assert result.returncode == 1, result.output
    assert f"cannot reach {host}" in result.last_error_line()


@pytest.mark.parametrize(
    "structures", [[PAGE3_SIRET], [PAGE3_SIRET, SIAGEP]], ids=["one", "several"]
)
def test_reset_refuses_a_bad_piste_url_before_touching_the_portal(
    cli, portal, real_keyring, structures
):
    set_piste(cli)
    targets = [arg for siret in structures for arg in ("--structure", siret)]

    result = cli("reset", *targets, "--piste-api-url", "https://api.piste.example.org")

    assert result.returncode == 2
    assert "refusing PISTE URL" in result.last_error_line()
    assert portal.state.requests == []
    assert portal.state.structure(PAGE3_SIRET).reset_count == 0


def test_reset_is_followed_by_a_verification_of_the_new_password(cli, portal, real_keyring):
    record = portal.state.structure(PAGE3_SIRET)
    old = record.tech_password
    store_technical(PAGE3_SIRET, record.tech_login, old)
    set_piste(cli)

    result = cli("reset", "--structure", PAGE3_SIRET, *piste_args(portal))

    assert result.returncode == 0, result.output
    assert record.reset_count == 1
    assert "Chorus Pro API accepts the new password" in result.stdout
    assert api_calls(portal) == 1
    current = keyring.get_credential(f"chorus-bot/technical/{PAGE3_SIRET}", None)
    assert current.password == record.tech_password != old
    last = json.loads(cli("history", "--json").stdout)[-1]
    assert last["action"] == "reset" and last["outcome"] == "reset"
    assert "verify: accepted" in last["detail"]
    cli.assert_no_secret(secrets_of(portal, old))


def test_reset_without_piste_credentials_does_not_verify(cli, portal, real_keyring):
    result = cli("reset", "--structure", PAGE3_SIRET, *piste_args(portal))

    assert result.returncode == 0, result.output
    assert portal.state.structure(PAGE3_SIRET).reset_count == 1
    assert api_calls(portal) == 0
    assert "Chorus Pro API" not in result.output


def test_a_rejected_new_password_keeps_the_previous_one_and_exits_1(cli, portal, real_keyring):
    record = portal.state.structure(PAGE3_SIRET)
    old = record.tech_password
    store_technical(PAGE3_SIRET, record.tech_login, old)
    set_piste(cli)
    portal.faults.add(Fault(kind="piste_reject", step="piste_api"))

    result = cli("reset", "--structure", PAGE3_SIRET, *piste_args(portal))

    assert result.returncode == 1, result.output
    assert record.reset_count == 1  # the reset is done, not undone
    line = result.last_error_line()
    assert "the reset is done" in line and "rejected the new password" in line
    assert f"chorus-bot/technical/{PAGE3_SIRET}/previous" in line
    current = keyring.get_credential(f"chorus-bot/technical/{PAGE3_SIRET}", None)
    previous = keyring.get_credential(f"chorus-bot/technical/{PAGE3_SIRET}/previous", None)
    assert current.password == record.tech_password
    assert previous.password == old
    last = json.loads(cli("history", "--json").stdout)[-1]
    assert last["action"] == "reset" and last["exit_code"] == 1
    assert last["outcome"] == "reset-rejected-by-api"
    assert last["expiry_after"] and "rejected the new password" in last["detail"]
    cli.assert_no_secret(secrets_of(portal, old))


def test_check_verify_reports_the_api_verdict(cli, portal, real_keyring):
    record = portal.state.structure(SIAGEP)
    store_technical(SIAGEP, record.tech_login, record.tech_password)
    set_piste(cli)

    accepted = cli("check", "--structure", SIAGEP, "--verify", *piste_args(portal))

    assert accepted.returncode == 0, accepted.output
    assert "Chorus Pro API : accepted" in accepted.stdout

    store_technical(SIAGEP, record.tech_login, "Plus-Le-Bon-2026!")
    rejected = cli("check", "--structure", SIAGEP, "--verify", "--json", *piste_args(portal))

    assert rejected.returncode == 1, rejected.output
    data = json.loads(rejected.stdout)
    assert data["state"] == "ok" and data["verification"]["accepted"] is False
    assert "rejected the technical password" in rejected.last_error_line()
    assert api_calls(portal) == 2
    cli.assert_no_secret(secrets_of(portal, "Plus-Le-Bon-2026!"))


def test_credentials_delete_removes_the_piste_client(cli, portal, real_keyring):
    set_piste(cli)

    assert cli("credentials", "delete").returncode == 0

    assert keyring.get_credential("chorus-bot/piste", None) is None
    assert "PISTE client    : none" in cli("credentials", "show").stdout


def test_an_unreachable_api_after_reset_still_hands_the_password_over(
    cli, portal, real_keyring, tmp_path
):
    from tests.test_handover import _recorder, _toml_list

    argv, recorded = _recorder(tmp_path)
    cli.config_file.write_text(
        f"piste_backoff = 0\npost_reset_command = {_toml_list(argv)}\n", encoding="utf-8"
    )
    set_piste(cli)
    portal.faults.add(Fault(kind="piste_5xx", step="piste_token"))

    result = cli("reset", "--structure", PAGE3_SIRET, *piste_args(portal))

    assert result.returncode == 1, result.output
    record = portal.state.structure(PAGE3_SIRET)
    assert record.reset_count == 1
    assert "could not be verified" in result.last_error_line()
    last = json.loads(cli("history", "--json").stdout)[-1]
    assert (last["outcome"], last["exit_code"]) == ("reset-unverified", 1)
    # The old password is dead on the portal: the connector got the new one anyway.
    assert json.loads(recorded.read_text())["stdin"] == record.tech_password + "\n"
    assert keyring.get_credential(f"chorus-bot/technical/{PAGE3_SIRET}", None).password == (
        record.tech_password
    )
    cli.assert_no_secret(secrets_of(portal))


def test_a_rejected_new_password_is_not_handed_over(cli, portal, real_keyring, tmp_path):
    from tests.test_handover import _recorder, _toml_list

    argv, recorded = _recorder(tmp_path)
    cli.config_file.write_text(f"post_reset_command = {_toml_list(argv)}\n", encoding="utf-8")
    set_piste(cli)
    portal.faults.add(Fault(kind="piste_reject", step="piste_api"))

    result = cli("reset", "--structure", PAGE3_SIRET, *piste_args(portal))

    assert result.returncode == 1, result.output
    assert not recorded.exists()
