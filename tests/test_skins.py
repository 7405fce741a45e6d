"""The whole job on every markup skin of the mock: today's, a 2017 JSF/PrimeFaces one, and a
mix drawn page by page from a seed the test prints. Same visible texts, different markup: the
bot must read them the same way a person does (docs/perception.md).

Also the portal-drift and fail-closed behaviours that need a whole run: a renamed reset button
with and without a `[texts]` override, structures without a technical user, a hidden or
renamed structures table, a row missing while the pager announces it.
"""

from __future__ import annotations

import json
import random

import keyring
import pytest

from tests.conftest import MANAGER, PAGE3_SIRET, SIAGEP, Cli, portal_secrets
from tests.runs import assert_diagnosis, error_line, history, run_folder, technical
from tests.test_second_factor import SEED_TOTP_SECRET as TOTP_SECRET

PAUL = ("paul.durand", "Autre-Compte-2026!")
PAUL_STRUCTURE = "60161055300088"
NO_TECHNICAL_USER = ("31852476600157", "20147893000153")
EXPIRED_SIRET = "84697880700010"  # expired 12 days ago
SOON_SIRET = PAGE3_SIRET  # 20 days left
SKINS = ["modern", "jsf2017", "mixed"]


@pytest.fixture(params=SKINS)
def skinned(request, make_portal):
    """A portal factory on the parametrised skin; the mixed skin's seed is printed."""

    def start(**options):
        seed = random.randrange(10**6) if request.param == "mixed" else None
        portal = make_portal(skin=request.param, skin_seed=seed, **options)
        if seed is not None:
            print(f"mixed skin seed: {portal.skin_seed}")
        return portal

    return start


def _state(portal) -> dict[str, tuple]:
    return {
        record.siret: (record.tech_password, record.expiry, record.reset_count)
        for record in portal.state.all_structures
    }


def _cli(tmp_path, portal, **env) -> Cli:
    return Cli(home=tmp_path, portal_url=portal.url, env=env)


def test_check_on_every_skin(skinned, tmp_path, real_keyring):
    portal = skinned(confirm="inpage")
    cli = _cli(tmp_path, portal)
    before = _state(portal)

    result = cli("check", "--structure", PAGE3_SIRET, "--json")

    assert result.returncode == 3, result.output
    data = json.loads(result.stdout)
    record = portal.state.structure(PAGE3_SIRET)
    assert data["technical_login"] == record.tech_login
    assert data["expires_at"] == record.expiry.replace(microsecond=0).isoformat()
    assert _state(portal) == before
    cli.assert_no_secret(portal_secrets(portal))


@pytest.mark.parametrize(
    "variant",
    [
        {"confirm": "inpage", "confirm_label": "Oui", "password_display": "field"},
        {"confirm": "browser", "result_view": "dialog"},
    ],
    ids=["inpage-Oui/field", "browser/dialog"],
)
def test_reset_on_every_skin(skinned, tmp_path, real_keyring, variant):
    portal = skinned(**variant)
    cli = _cli(tmp_path, portal)
    before = _state(portal)

    result = cli("reset", "--structure", PAGE3_SIRET)

    assert result.returncode == 0, result.output
    record = portal.state.structure(PAGE3_SIRET)
    assert record.reset_count == 1
    assert technical(PAGE3_SIRET) == (record.tech_login, record.tech_password)
    after = _state(portal)
    del before[PAGE3_SIRET], after[PAGE3_SIRET]
    assert after == before  # no other structure touched
    cli.assert_no_secret(portal_secrets(portal))


def test_status_on_every_skin(skinned, tmp_path, real_keyring):
    portal = skinned()
    cli = _cli(tmp_path, portal)

    result = cli("status", "--json", timeout=400)

    assert result.returncode == 4, result.output  # one password has expired
    data = json.loads(result.stdout)
    mine = {record.siret for record in portal.state.structures_for(MANAGER)}
    assert {item["structure"] for item in data["structures"]} == mine
    assert data["structures_seen"] == data["structures_announced"] == len(mine)
    days = [item["days_left"] for item in data["structures"]]
    assert days == sorted(days)


def test_status_lists_structures_without_technical_user_at_once(skinned, tmp_path, real_keyring):
    portal = skinned()
    cli = _cli(tmp_path, portal, CHORUS_BOT_USERNAME=PAUL[0], CHORUS_BOT_PASSWORD=PAUL[1])

    # A timeout far shorter than the run: a structure without technical user costs a page,
    # not a wait for a line that never comes.
    result = cli("status", "--json", "--timeout", "8")

    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    states = {item["structure"]: item.get("state") for item in data["structures"]}
    assert states == {
        PAUL_STRUCTURE: "ok",
        NO_TECHNICAL_USER[0]: "no-technical-user",
        NO_TECHNICAL_USER[1]: "no-technical-user",
    }
    outcomes = {(h["structure"], h["outcome"]) for h in history(cli.state_dir)}
    assert (NO_TECHNICAL_USER[0], "no-technical-user") in outcomes


@pytest.mark.parametrize("command", [("check",), ("reset",)])
def test_one_structure_without_technical_user_exits_1_saying_so(
    make_portal, tmp_path, real_keyring, command
):
    portal = make_portal(skin="jsf2017")
    cli = _cli(tmp_path, portal, CHORUS_BOT_USERNAME=PAUL[0], CHORUS_BOT_PASSWORD=PAUL[1])
    before = _state(portal)

    result = cli(*command, "--structure", NO_TECHNICAL_USER[0], "--timeout", "8")

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert "has no technical user" in line and "create it" in line, line
    assert _state(portal) == before


def test_reset_all_on_every_skin_resets_only_the_due(skinned, tmp_path, real_keyring):
    portal = skinned(confirm="inpage")
    cli = _cli(tmp_path, portal)
    before = _state(portal)

    # A whole walk of 14 structures and two resets: the default 120 s is tight on 2 cores.
    result = cli("reset", "--all", "--within-days", "25", timeout=400)

    assert result.returncode == 0, result.output
    due = {EXPIRED_SIRET, SOON_SIRET}
    after = _state(portal)
    for siret in due:
        record = portal.state.structure(siret)
        assert record.reset_count == 1, siret
        assert technical(siret) == (record.tech_login, record.tech_password)
    for siret in set(before) - due:
        assert after[siret] == before[siret], siret
        assert technical(siret) is None
    walks = [h for h in history(cli.state_dir) if h["outcome"] == "structures-read"]
    assert [h["detail"] for h in walks] == ["seen 14, announced 14"]


def test_second_factor_on_every_skin(skinned, tmp_path, real_keyring):
    portal = skinned(totp_for={MANAGER})
    keyring.set_password("chorus-bot/totp", MANAGER, TOTP_SECRET)
    cli = _cli(tmp_path, portal)

    result = cli("check", "--structure", SIAGEP)

    assert result.returncode == 0, result.output
    cli.assert_no_secret([*portal_secrets(portal), TOTP_SECRET])


# --- the day the portal renames something ------------------------------------------------


@pytest.mark.parametrize("skin", ["modern", "jsf2017"])
def test_renamed_reset_button_fails_naming_its_text_key_then_works_with_an_override(
    make_portal, tmp_path, real_keyring, skin
):
    renamed = "Générer un nouveau mot de passe du compte technique"
    portal = make_portal(skin=skin, reset_label=renamed)
    cli = _cli(tmp_path, portal)
    before = _state(portal)

    result = cli("reset", "--structure", SIAGEP, "--force", "--timeout", "8")

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert "[texts] reset_button" in line, line
    assert _state(portal) == before
    assert technical(SIAGEP) is None
    assert_diagnosis(result, step="reset", trace=True)

    cli.config_file.write_text(f'[texts]\nreset_button = "{renamed}"\n', encoding="utf-8")
    result = cli("reset", "--structure", SIAGEP, "--force")

    assert result.returncode == 0, result.output
    record = portal.state.structure(SIAGEP)
    assert record.reset_count == 1
    assert technical(SIAGEP) == (record.tech_login, record.tech_password)


def test_failure_leaves_candidates_naming_what_the_page_offers(make_portal, tmp_path, real_keyring):
    portal = make_portal(skin="jsf2017", reset_label="Régénérer le secret")
    cli = _cli(tmp_path, portal)

    result = cli("reset", "--structure", SIAGEP, "--force", "--timeout", "8")

    assert result.returncode == 1, result.output
    candidates = (run_folder(result) / "candidates.txt").read_text(encoding="utf-8")
    # What the page offers instead, as a person reads it: the renamed button and the tables.
    assert "Régénérer le secret" in candidates
    assert "Nom" in candidates and "Rôle" in candidates  # the users table's headers
    cli.assert_no_secret(portal_secrets(portal))


# --- fail closed ------------------------------------------------------------------------

UNREADABLE = [
    pytest.param({"hide_structures_table": True}, id="table-hidden"),
    pytest.param({"structures_header": "N° SIRET"}, id="header-renamed"),
]


@pytest.mark.parametrize("options", UNREADABLE)
@pytest.mark.parametrize(
    "command",
    [("status",), ("status", "--json"), ("check", "--all"), ("reset", "--all", "--force")],
    ids=["status", "status-json", "check-all", "reset-all"],
)
def test_reading_no_structure_is_a_failure_not_all_well(
    make_portal, tmp_path, real_keyring, options, command
):
    portal = make_portal(skin="jsf2017", **options)
    cli = _cli(tmp_path, portal)
    before = _state(portal)

    result = cli(*command, "--timeout", "6", timeout=400)

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert "Mes structures" in line, line
    assert "[texts] structures_header" in line, line
    assert _state(portal) == before
    assert not any(technical(siret) for siret in before)


def test_a_row_missing_while_the_pager_announces_it_exits_1_naming_both_numbers(
    make_portal, tmp_path, real_keyring
):
    # Page 1: the walk may show the whole list on one page (its largest page size).
    portal = make_portal(drop_row_on_page=1)
    cli = _cli(tmp_path, portal)

    result = cli("status", "--json", timeout=400)

    assert result.returncode == 1, result.output
    data = json.loads(result.stdout)
    assert data["structures_seen"] == 13
    assert data["structures_announced"] == 14
    assert len(data["structures"]) == 13  # what was read is still reported
    assert "read 13 structure(s) but the page announces 14" in error_line(result)
    summary = [h for h in history(cli.state_dir) if h["outcome"] == "incomplete"]
    assert summary and "seen 13, announced 14" in summary[0]["detail"]
