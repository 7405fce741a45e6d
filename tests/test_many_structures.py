"""Many structures with one login: `status`, `check`/`reset` with several --structure, --all,
and the config file's `structures`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import keyring

from tests.conftest import PAGE3_SIRET, SIAGEP, portal_secrets

WITHIN_90_DAYS = {
    "84697880700010",
    "88447294500085",
    "15881399800099",
    "34778768100084",
    PAGE3_SIRET,
}


def test_status_reads_every_structure_on_every_page_with_one_login(cli, portal, real_keyring):
    result = cli("status", "--json")

    data = json.loads(result.stdout)
    sirets = [item["structure"] for item in data["structures"]]
    expected = {record.siret for record in portal.state.structures}
    assert len(expected) >= 12
    assert set(sirets) == expected
    assert portal.state.successful_logins == 1
    days = [item["days_left"] for item in data["structures"]]
    assert days == sorted(days)
    for item in data["structures"]:
        record = portal.state.structure(item["structure"])
        assert item["technical_login"] == record.tech_login
        assert item["expires_at"] == record.expiry.replace(microsecond=0).isoformat()
    # One structure is expired: the worst exit code of all is 4.
    assert result.returncode == 4 == data["exit_code"]
    assert all(record.reset_count == 0 for record in portal.state.structures)


def test_status_table_without_terminal_prints_progress_lines(cli, portal, real_keyring):
    result = cli("status")

    assert result.returncode == 4
    lines = result.stdout.splitlines()
    assert lines[0].startswith("SIRET")
    assert len(lines) == 1 + len(portal.state.structures)
    assert "[14/?]" in result.stderr


def test_check_several_structures_in_one_session(cli, portal, real_keyring):
    result = cli("check", "-s", SIAGEP, "--structure", PAGE3_SIRET, "--json")

    data = json.loads(result.stdout)
    assert [item["structure"] for item in data["structures"]] == [SIAGEP, PAGE3_SIRET]
    assert portal.state.successful_logins == 1
    # PAGE3_SIRET expires within 30 days: exit 3 is the worst of (0, 3).
    assert result.returncode == 3


def test_check_uses_the_structures_of_the_config_file(cli, portal, real_keyring):
    cli.config_file.write_text(f'structures = ["{SIAGEP}", "{PAGE3_SIRET}"]\n', encoding="utf-8")

    result = cli("check", "--json")

    data = json.loads(result.stdout)
    assert {item["structure"] for item in data["structures"]} == {SIAGEP, PAGE3_SIRET}


def test_a_missing_structure_fails_alone_and_the_others_are_read(cli, portal, real_keyring):
    other = portal.state.structures_for("paul.durand")[0].siret

    result = cli("check", "-s", SIAGEP, "-s", other, "--json")

    assert result.returncode == 1
    items = {item["structure"]: item for item in json.loads(result.stdout)["structures"]}
    assert items[SIAGEP]["state"] == "ok"
    assert "not in `Mes structures`" in items[other]["error"]
    # The list as it was shown is kept for the missing one, and only for it.
    folder = Path(re.search(r"run folder kept: (\S+)", result.stderr).group(1))
    assert (folder / other / "failure.json").is_file()
    assert not (folder / SIAGEP).exists()


def test_reset_all_touches_only_structures_within_the_window(cli, portal, real_keyring):
    old = {record.siret: record.tech_password for record in portal.state.structures}

    result = cli("reset", "--all")

    assert result.returncode == 0, result.output
    assert portal.state.successful_logins == 1
    for record in portal.state.structures:
        if record.siret in WITHIN_90_DAYS:
            assert record.reset_count == 1, record.siret
            stored = keyring.get_credential(f"chorus-bot/technical/{record.siret}", None)
            assert stored.password == record.tech_password
        else:
            assert record.reset_count == 0, record.siret
            assert keyring.get_credential(f"chorus-bot/technical/{record.siret}", None) is None
    assert result.stdout.count(" reset") == len(WITHIN_90_DAYS)
    assert result.stdout.count(" skipped") == len(old) - len(WITHIN_90_DAYS)
    cli.assert_no_secret([*portal_secrets(portal), *old.values()])


def test_all_and_structure_together_is_bad_usage(cli, portal):
    result = cli("check", "--all", "-s", SIAGEP)
    assert result.returncode == 2
    assert "exclude each other" in result.stderr
    assert portal.state.requests == []


def test_status_on_a_terminal_draws_a_progress_bar_then_the_table(cli, portal, real_keyring):
    returncode, output = cli.on_terminal("status")

    assert returncode == 4, output
    assert "\u2501" in output  # rich's bar, redrawn in place
    assert "[14/?]" not in output  # not the plain lines meant for logs
    assert output.count("TECH_") >= len(portal.state.structures)
