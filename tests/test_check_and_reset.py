"""`check` and `reset` end to end: the CLI in a subprocess, real Chromium, the real mock portal,
the real Secret Service keyring."""

from __future__ import annotations

import json

import keyring
import pytest

from tests.conftest import MANAGER, PAGE3_SIRET, SIAGEP, Cli, portal_secrets

EXPIRED_SIRET = "84697880700010"


def _snapshot(portal, siret: str) -> tuple:
    record = portal.state.structure(siret)
    return (record.tech_password, record.expiry, record.reset_count)


def test_check_reads_login_and_expiry_without_changing_anything(cli, portal, real_keyring):
    before = _snapshot(portal, SIAGEP)

    result = cli("check", "--structure", SIAGEP)

    assert result.returncode == 0, result.output
    record = portal.state.structure(SIAGEP)
    assert "TECH_025900096600020@cpp2017" in result.stdout
    assert f"{record.expiry:%d/%m/%Y %H:%M:%S}" in result.stdout
    assert _snapshot(portal, SIAGEP) == before
    cli.assert_no_secret(portal_secrets(portal))


def test_check_json_on_page_three_warns_when_expiry_is_near(cli, portal, real_keyring):
    result = cli("check", "--structure", PAGE3_SIRET, "--json")

    assert result.returncode == 3, result.output
    data = json.loads(result.stdout)
    record = portal.state.structure(PAGE3_SIRET)
    assert data["structure"] == PAGE3_SIRET
    assert data["technical_login"] == record.tech_login
    assert data["expires_at"] == record.expiry.replace(microsecond=0).isoformat()
    assert data["state"] == "expires-soon"
    assert 18 <= data["days_left"] <= 20


def test_check_warn_days_widens_the_window(cli, portal, real_keyring):
    assert cli("check", "--structure", SIAGEP, "--warn-days", "300").returncode == 3


def test_check_reports_an_expired_password_with_exit_4(cli, portal, real_keyring):
    result = cli("check", "--structure", EXPIRED_SIRET)
    assert result.returncode == 4, result.output
    assert "EXPIRED" in result.stdout


VARIANTS = [
    pytest.param(
        {"chorus_tab": "same", "confirm": "browser", "password_display": "text"},
        SIAGEP,
        id="same-tab/browser-dialog/text/page1",
    ),
    pytest.param(
        {"chorus_tab": "new", "confirm": "inpage", "password_display": "field"},
        PAGE3_SIRET,
        id="new-tab/inpage-Confirmer/field/page3",
    ),
    pytest.param(
        {
            "chorus_tab": "same",
            "confirm": "inpage",
            "confirm_label": "Oui",
            "result_view": "dialog",
        },
        PAGE3_SIRET,
        id="same-tab/inpage-Oui/text-in-dialog/page3",
    ),
    pytest.param(
        {
            "chorus_tab": "new",
            "confirm": "browser",
            "password_display": "field",
            "result_view": "dialog",
        },
        SIAGEP,
        id="new-tab/browser-dialog/field-in-dialog/page1",
    ),
    pytest.param(
        {"confirm": "inpage", "confirm_label": "Valider", "page_size": 3},
        PAGE3_SIRET,
        id="inpage-Valider/page5-of-3-rows",
    ),
    pytest.param({"confirm": "none"}, SIAGEP, id="no-confirmation"),
]


@pytest.mark.parametrize(("options", "siret"), VARIANTS)
def test_reset_stores_exactly_the_password_the_portal_generated(
    tmp_path, make_portal, real_keyring, options, siret
):
    portal = make_portal(**options)
    cli = Cli(home=tmp_path, portal_url=portal.url)
    old_password = portal.state.structure(siret).tech_password
    old_expiry = portal.state.structure(siret).expiry

    result = cli("reset", "--structure", siret, "--force")

    assert result.returncode == 0, result.output
    record = portal.state.structure(siret)
    assert record.reset_count == 1
    assert record.tech_password != old_password
    assert (record.expiry - old_expiry).days >= 200
    credential = keyring.get_credential(f"chorus-bot/technical/{siret}", None)
    assert credential is not None
    assert credential.username == record.tech_login
    assert credential.password == record.tech_password
    assert f"{record.expiry:%d/%m/%Y %H:%M:%S}" in result.stdout
    assert f"chorus-bot/technical/{siret}" in result.stdout
    cli.assert_no_secret([*portal_secrets(portal), old_password])


def test_dry_run_only_reads(cli, portal, real_keyring):
    before = _snapshot(portal, PAGE3_SIRET)

    result = cli("reset", "--structure", PAGE3_SIRET, "--dry-run")

    assert result.returncode == 0, result.output
    assert "Dry run" in result.stdout
    assert portal.state.structure(PAGE3_SIRET).tech_login in result.stdout
    assert _snapshot(portal, PAGE3_SIRET) == before
    assert keyring.get_credential(f"chorus-bot/technical/{PAGE3_SIRET}", None) is None


def test_second_reset_keeps_the_first_password_as_previous(cli, portal, real_keyring):
    assert cli("reset", "--structure", PAGE3_SIRET).returncode == 0
    first = portal.state.structure(PAGE3_SIRET).tech_password

    assert cli("reset", "--structure", PAGE3_SIRET, "--force").returncode == 0

    second = portal.state.structure(PAGE3_SIRET).tech_password
    assert keyring.get_credential(f"chorus-bot/technical/{PAGE3_SIRET}", None).password == second
    previous = keyring.get_credential(f"chorus-bot/technical/{PAGE3_SIRET}/previous", None)
    assert previous.password == first
    cli.assert_no_secret([*portal_secrets(portal), first])


def test_wrong_manager_password_fails_once_without_retry(cli, portal, real_keyring):
    result = cli("check", "--structure", SIAGEP, CHORUS_BOT_PASSWORD="not-the-password")

    assert result.returncode == 1
    line = result.last_error_line()
    assert "login" in line and "refused" in line and "credentials set" in line
    login_posts = [r for r in portal.state.requests if r[0] == "POST"]
    assert len(login_posts) == 1
    assert portal.state.successful_logins == 0
    cli.assert_no_secret(["not-the-password", *portal_secrets(portal)])


def test_unknown_siret_says_how_many_structures_were_seen(cli, portal, real_keyring):
    other_account_siret = portal.state.structures_for("paul.durand")[0].siret

    result = cli("check", "--structure", other_account_siret)

    assert result.returncode == 1
    line = result.last_error_line()
    assert other_account_siret in line
    assert "14 structure(s) seen" in line


def test_secret_show_prints_what_reset_stored(cli, portal, real_keyring):
    assert cli("reset", "--structure", PAGE3_SIRET).returncode == 0
    record = portal.state.structure(PAGE3_SIRET)

    shown = cli("secret", "show", "--structure", PAGE3_SIRET, "--json")

    assert shown.returncode == 0
    assert json.loads(shown.stdout) == {
        "structure": PAGE3_SIRET,
        "login": record.tech_login,
        "password": record.tech_password,
    }


def test_credentials_set_show_delete_use_the_portal_service(cli, portal, real_keyring):
    result = cli(
        "credentials",
        "set",
        "--identifiant",
        MANAGER,
        "--password-stdin",
        input="stored-manager-secret\n",
    )
    assert result.returncode == 0, result.output
    credential = keyring.get_credential("chorus-bot/portal", None)
    assert (credential.username, credential.password) == (MANAGER, "stored-manager-secret")

    shown = cli("credentials", "show", CHORUS_BOT_USERNAME=None)
    assert MANAGER in shown.stdout
    assert "stored-manager-secret" not in shown.output

    assert cli("credentials", "delete").returncode == 0
    assert keyring.get_credential("chorus-bot/portal", None) is None


def test_stored_manager_credentials_are_used_when_env_is_absent(cli, portal, real_keyring):
    keyring.set_password("chorus-bot/portal", MANAGER, "Portail-Demo-2026!")

    result = cli("check", "--structure", SIAGEP, CHORUS_BOT_USERNAME=None, CHORUS_BOT_PASSWORD=None)

    assert result.returncode == 0, result.output
    assert portal.state.successful_logins == 1


def test_an_unreachable_portal_says_so_in_one_line(cli, portal, real_keyring):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    result = cli(
        "check", "--structure", SIAGEP, CHORUS_BOT_PORTAL_URL=f"http://127.0.0.1:{closed_port}/"
    )

    assert result.returncode == 1
    line = result.last_error_line()
    assert line.startswith("chorus-bot: error: login: cannot reach http://127.0.0.1:")
    assert "ERR_CONNECTION_REFUSED" in line and "--portal-url" in line
