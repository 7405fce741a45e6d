"""Several portal accounts in one config file: `[profiles.<name>]`, `--profile`,
`--all-profiles`, their keyring entries, and a SIRET claimed twice. The real mock portal (with
its second account, paul.durand), real Chromium, the real Secret Service keyring."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest

from bot.config import build_settings
from bot.errors import ConfigError
from tests.conftest import MANAGER, MANAGER_PASSWORD, SIAGEP, Cli, portal_secrets

OTHER = "paul.durand"
OTHER_PASSWORD = "Autre-Compte-2026!"
# paul.durand's structure with a technical user, expiring in 90 days (his other two have none).
OTHER_SIRET = "60161055300088"
# claire.martin's structures due within 40 days: expired (-12), 20 and 35 days.
DUE_WITHIN_40 = {"84697880700010", "93319084500067", "88447294500085"}

TWO_ACCOUNTS = f"""
warn_days = 30

[profiles.mairie]
identifiant = "{MANAGER}"
within_days = 40

[profiles.syndicat]
identifiant = "{OTHER}"
"""


@pytest.fixture
def profiles_cli(cli: Cli) -> Cli:
    """No account from the environment: each profile's comes from the file and the keyring."""
    cli.env.update(CHORUS_BOT_USERNAME=None, CHORUS_BOT_PASSWORD=None)
    cli.config_file.write_text(TWO_ACCOUNTS, encoding="utf-8")
    return cli


def store(cli: Cli, profile: str, password: str) -> None:
    result = cli("credentials", "set", "--profile", profile, "--password-stdin", input=password)
    assert result.returncode == 0, result.output


def test_each_profile_stores_its_password_under_its_identifiant(profiles_cli, real_keyring):
    store(profiles_cli, "mairie", MANAGER_PASSWORD)
    store(profiles_cli, "syndicat", OTHER_PASSWORD)

    # One service, one entry per account: the second did not replace the first.
    assert keyring.get_password("chorus-bot/portal", MANAGER) == MANAGER_PASSWORD
    assert keyring.get_password("chorus-bot/portal", OTHER) == OTHER_PASSWORD
    shown = profiles_cli("credentials", "show", "--profile", "syndicat")
    assert f"yes, for '{OTHER}'" in shown.stdout
    profiles_cli.assert_no_secret([MANAGER_PASSWORD, OTHER_PASSWORD])


def test_status_all_profiles_lists_both_accounts_with_one_login_each(
    profiles_cli, portal, real_keyring
):
    store(profiles_cli, "mairie", MANAGER_PASSWORD)
    store(profiles_cli, "syndicat", OTHER_PASSWORD)

    result = profiles_cli("status", "--all-profiles", "--json")

    data = json.loads(result.stdout)
    assert portal.state.logins == [MANAGER, OTHER]
    by_profile: dict[str, set[str]] = {}
    for item in data["structures"]:
        by_profile.setdefault(item["profile"], set()).add(item["structure"])
    assert by_profile["mairie"] == {r.siret for r in portal.state.structures_for(MANAGER)}
    assert by_profile["syndicat"] == {r.siret for r in portal.state.structures_for(OTHER)}
    assert [(p["profile"], p["identifiant"]) for p in data["profiles"]] == [
        ("mairie", MANAGER),
        ("syndicat", OTHER),
    ]
    # claire.martin has an expired password: 4 is the worst of both profiles.
    assert result.returncode == 4 == data["exit_code"]
    assert [p["exit_code"] for p in data["profiles"]] == [4, 0]


def test_reset_all_profiles_resets_the_due_structures_of_each(profiles_cli, portal, real_keyring):
    store(profiles_cli, "mairie", MANAGER_PASSWORD)
    store(profiles_cli, "syndicat", OTHER_PASSWORD)
    old = [record.tech_password for record in portal.state.all_structures]

    # Two walks through `Mes structures` and four resets: more than one command's usual time.
    result = profiles_cli("reset", "--all", "--all-profiles", timeout=300)

    assert result.returncode == 0, result.output
    assert portal.state.logins == [MANAGER, OTHER]
    # mairie resets within its own 40 days; syndicat inherits the default 90.
    due = {*DUE_WITHIN_40, OTHER_SIRET}
    for record in portal.state.all_structures:
        stored = keyring.get_credential(f"chorus-bot/technical/{record.siret}", None)
        if record.siret in due:
            assert record.reset_count == 1, record.siret
            assert (stored.username, stored.password) == (record.tech_login, record.tech_password)
        else:
            assert record.reset_count == 0 and stored is None, record.siret
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Profile ")
    assert any(line.startswith("syndicat") and OTHER_SIRET in line for line in lines)
    profiles_cli.assert_no_secret([*portal_secrets(portal), OTHER_PASSWORD, *old])


def test_a_profile_with_a_wrong_password_fails_alone(profiles_cli, portal, real_keyring):
    store(profiles_cli, "mairie", "Pas-Le-Bon-2026!")
    store(profiles_cli, "syndicat", OTHER_PASSWORD)

    result = profiles_cli("reset", "--all", "--all-profiles")

    assert result.returncode == 1, result.output
    assert portal.state.logins == [OTHER]
    assert portal.state.structure(OTHER_SIRET).reset_count == 1
    stored = keyring.get_credential(f"chorus-bot/technical/{OTHER_SIRET}", None)
    assert stored.password == portal.state.structure(OTHER_SIRET).tech_password
    assert all(record.reset_count == 0 for record in portal.state.structures_for(MANAGER))
    errors = [line for line in result.stderr.splitlines() if line.startswith("chorus-bot: error:")]
    assert len(errors) == 1 and errors[0].startswith("chorus-bot: error: profile mairie: login")
    rows = result.stdout.splitlines()[1:]
    assert any(row.startswith("mairie ") and "FAILED: login:" in row for row in rows)
    assert any(row.startswith("syndicat ") and row.endswith(" reset") for row in rows)


def test_reset_all_profiles_json_names_the_failed_profile(profiles_cli, portal, real_keyring):
    # No password stored for mairie at all: exit 2 for it, syndicat's status still read.
    store(profiles_cli, "syndicat", OTHER_PASSWORD)

    result = profiles_cli("status", "--all-profiles", "--json")

    data = json.loads(result.stdout)
    failed = data["profiles"][0]
    assert failed["profile"] == "mairie" and failed["exit_code"] == 2
    assert "no portal password is stored for claire.martin" in failed["error"]
    read = {item["structure"] for item in data["structures"]}
    assert read == {r.siret for r in portal.state.structures_for(OTHER)}
    assert {item["profile"] for item in data["structures"]} == {"syndicat"}
    assert result.returncode == 2 == data["exit_code"]


def test_a_siret_claimed_by_two_profiles_exits_2_before_anything(profiles_cli, portal):
    profiles_cli.config_file.write_text(
        TWO_ACCOUNTS.replace("within_days = 40", f'structures = ["{SIAGEP}"]')
        + f'structures = ["{OTHER_SIRET}", "259 000 966 00020"]\n',
        encoding="utf-8",
    )

    result = profiles_cli("status", "--all-profiles")

    assert result.returncode == 2, result.output
    assert f"structure {SIAGEP} is claimed by profiles 'mairie' and 'syndicat'" in result.stderr
    assert portal.state.requests == []


def test_one_structure_seen_by_two_profiles_is_reset_once(profiles_cli, portal, real_keyring):
    # Two profiles on one account: both see the same structure in `Mes structures`.
    profiles_cli.config_file.write_text(
        f'identifiant = "{OTHER}"\n[profiles.first]\n[profiles.second]\n', encoding="utf-8"
    )
    store(profiles_cli, "first", OTHER_PASSWORD)

    result = profiles_cli("reset", "--all", "--all-profiles", "--force")

    assert result.returncode == 0, result.output
    assert portal.state.structure(OTHER_SIRET).reset_count == 1
    first, second = [line for line in result.stdout.splitlines() if OTHER_SIRET in line]
    assert first.startswith("first ") and first.endswith(" reset")
    assert second.startswith("second ")
    assert second.endswith(" skipped (already handled by profile first in this run)")


def test_the_lock_stops_another_profile_resetting_the_same_structure(profiles_cli, portal):
    from filelock import FileLock

    store_dir = profiles_cli.state_dir / "locks"
    store_dir.mkdir(parents=True)
    with FileLock(store_dir / f"{OTHER_SIRET}.lock"):
        result = profiles_cli(
            "reset", "--profile", "syndicat", "-s", OTHER_SIRET, CHORUS_BOT_PASSWORD=OTHER_PASSWORD
        )

    assert result.returncode == 1, result.output
    assert "lock: another chorus-bot run is resetting structure" in result.stderr
    assert portal.state.structure(OTHER_SIRET).reset_count == 0


def test_profile_from_the_environment_and_bad_combinations(profiles_cli, portal):
    shown = profiles_cli("config", "show", CHORUS_BOT_PROFILE="syndicat")
    assert shown.returncode == 0, shown.output
    assert f"identifiant = '{OTHER}'  # profile:syndicat" in shown.stdout
    assert "# profiles: mairie, syndicat" in shown.stdout

    unknown = profiles_cli("status", "--profile", "ecole")
    assert unknown.returncode == 2
    assert "no profile 'ecole'" in unknown.stderr and "mairie, syndicat" in unknown.stderr

    both = profiles_cli("status", "--all-profiles", "--profile", "mairie")
    assert both.returncode == 2 and "exclude each other" in both.stderr

    one_account = profiles_cli("status", "--all-profiles", CHORUS_BOT_PASSWORD="x-secret-x")
    assert one_account.returncode == 2 and "unset CHORUS_BOT_PASSWORD" in one_account.stderr
    assert portal.state.requests == []


# Settings only, no browser ---------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(path))
    for name in ("CHORUS_BOT_USERNAME", "CHORUS_BOT_PORTAL_URL", "CHORUS_BOT_POST_RESET_COMMAND"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_a_profile_inherits_what_it_does_not_set_tables_key_by_key(config):
    config.write_text(
        """
timeout = 12
post_reset_command = ["/opt/erp/push"]
[mail]
host = "smtp.example.fr"
sender = "bot@example.fr"
recipients = ["dsi@example.fr"]

[profiles.syndicat]
identifiant = "paul.durand"
timeout = 20
[profiles.syndicat.mail]
recipients = ["it@syndicat.example.fr"]
""",
        encoding="utf-8",
    )

    top = build_settings()
    settings = build_settings(profile="syndicat", verbose=True)

    assert top.identifiant is None and top.timeout == 12 and top.profile is None
    assert settings.profile == "syndicat"
    assert (settings.identifiant, settings.timeout) == ("paul.durand", 20)
    assert settings.post_reset_command == ("/opt/erp/push",)
    assert settings.mail is not None
    assert settings.mail.host == "smtp.example.fr"
    assert settings.mail.recipients == ("it@syndicat.example.fr",)
    sources = settings.sources
    assert sources["identifiant"] == sources["timeout"] == "profile:syndicat"
    assert sources["post_reset_command"] == "file" and sources["mail.host"] == "file"
    assert sources["mail.recipients"] == "profile:syndicat"
    assert sources["verbose"] == "option"


BAD_PROFILES = [
    pytest.param("[profiles.a]\ncolour = 1\n", "[profiles.a] has unknown key(s): colour", id="key"),
    pytest.param("[profiles.a]\nwarn_days = 'x'\n", "profiles.a.warn_days must be", id="type"),
    pytest.param("profiles = 3\n", "profiles must be tables", id="not-a-table"),
    pytest.param(
        "[mail]\nhost = 'h'\nsender = 's@x'\nrecipients = ['a@x']\n"
        "[profiles.a.mail]\nrecipients = 'b@x'\n",
        "in profile 'a', merged over the top level",
        id="merged-mail",
    ),
    pytest.param(
        'structures = ["25900096600020"]\n[profiles.a]\n[profiles.b]\n',
        "claimed by profiles 'a' and 'b'",
        id="inherited-twice",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_PROFILES)
def test_a_bad_profile_is_refused_whichever_profile_runs(config, text, expected):
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        build_settings()
    assert expected in caught.value.message
    assert caught.value.exit_code == 2


def test_nested_tables_added_at_the_top_level_are_inherited_too(config):
    config.write_text(
        """
[texts]
login_submit = "Se connecter"
[second_factor.imap]
host = "imap.example.fr"
user = "claire.martin"
sender = "*@chorus-pro.gouv.fr"

[profiles.syndicat]
identifiant = "paul.durand"
[profiles.syndicat.texts]
login_identifiant = "Identifiant DGFiP"
[profiles.syndicat.second_factor.imap]
user = "paul.durand"
""",
        encoding="utf-8",
    )

    settings = build_settings(profile="syndicat")

    assert settings.imap is not None
    assert (settings.imap.host, settings.imap.user) == ("imap.example.fr", "paul.durand")
    assert settings.texts.words("login_submit")[0] == "Se connecter"
    assert settings.texts.words("login_identifiant")[0] == "Identifiant DGFiP"
    assert settings.sources["second_factor.imap.user"] == "profile:syndicat"
    assert settings.sources["second_factor.imap.host"] == "file"
    assert build_settings().imap.user == "claire.martin"
