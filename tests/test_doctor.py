"""`doctor` end to end: the CLI in a subprocess, real Chromium, the real mock portal, the real
Secret Service keyring. It must find every step, change nothing on the portal, and leave a
report.html with masked screenshots and no secret."""

from __future__ import annotations

import base64
import re
import time
from pathlib import Path

import pyotp
import pytest

from fixtures.mock_portal.pages import STRUCTURE_PREFIX
from flows.doctor import planned_steps
from flows.texts import DEFAULT_TEXTS
from tests.conftest import MANAGER, MANAGER_PASSWORD, PAGE3_SIRET, SIAGEP, Cli, portal_secrets

STEPS = [step.name for step in planned_steps(DEFAULT_TEXTS)]
RENAMED = "Régénérer le mot de passe du compte technique"
SEED_TOTP_SECRET = "QA2D4CR4XDWLZTLOILV57WKY6EZUU4YI"


def _portal_state(portal) -> list[tuple]:
    return [
        (record.siret, record.tech_password, record.expiry, record.reset_count)
        for record in portal.state.all_structures
    ]


def _assert_untouched(portal, before: list[tuple]) -> None:
    assert _portal_state(portal) == before
    # A reset is a POST to the structure's page (`…/reinitialiser`, or a JSF post-back to the
    # page itself): none was sent.
    posts = [path for method, path in portal.state.requests if method == "POST"]
    assert not [path for path in posts if path.startswith(STRUCTURE_PREFIX)], posts


def _lines(stdout: str) -> dict[str, str]:
    """Each step's printed line, by step name."""
    found = {}
    for line in stdout.splitlines():
        parts = line.split()
        for name in STEPS:
            if name in parts[:4]:
                found[name] = line
    return found


def _report(stdout: str) -> Path:
    paths = re.findall(r"^Report: (.+)$", stdout, re.MULTILINE)
    assert len(paths) == 1, stdout
    path = Path(paths[0])
    assert path.name == "report.html" and path.is_file(), path
    return path


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(data) for data in re.findall(r"data:image/png;base64,([^\"]+)", html)]


@pytest.mark.parametrize("skin", ["modern", "jsf2017", "mixed"])
def test_doctor_finds_every_step_and_changes_nothing(tmp_path, make_portal, real_keyring, skin):
    # No confirmation: a click on the reset button alone would reset.
    portal = make_portal(confirm="none", skin=skin)
    print(f"skin {skin}, seed {portal.skin_seed}")  # a `mixed` failure is replayed with it
    cli = Cli(home=tmp_path, portal_url=portal.url)
    before = _portal_state(portal)

    result = cli("doctor")

    assert result.returncode == 0, result.output
    lines = _lines(result.stdout)
    assert set(lines) == set(STEPS), result.stdout
    for name in STEPS:
        assert re.match(r"^(found|not asked|not needed) ", lines[name]), lines[name]
        assert re.search(r"\(\d+ ms\)$", lines[name]), lines[name]
    # Role and perceived name of what matched.
    assert 'input[type=password] "Mot de passe' in lines["login_password"]
    assert '"Chorus Pro"' in lines["chorus_pro"]
    assert "14 structure(s) seen on 3 page(s), 14 announced" in lines["structures_list"]
    assert f"structure {SIAGEP}" in lines["open_structure"]  # the first one listed
    assert portal.state.structure(SIAGEP).tech_login in lines["technical_user"]
    assert "Réinitialiser le mot de passe (utilisateur technique)" in lines["reset_button"]
    assert "not clicked" in lines["reset_button"]

    _assert_untouched(portal, before)
    assert portal.state.successful_logins == 1  # one login for the whole walk

    report = _report(result.stdout)
    assert report.parent.parent == cli.state_dir / "runs"
    html = report.read_text(encoding="utf-8")
    for name in STEPS:
        assert f"<code>{name}</code>" in html
    assert "([texts] reset_button)" in html  # what was looked for, and the key to change it
    images = _images(html)
    assert len(images) >= 6  # login, applications, home, list pages, the structure
    assert all(image.startswith(b"\x89PNG") for image in images)
    assert "<input" not in html and "<script" not in html
    assert "http://" not in html.replace(portal.url, "")  # self-contained: nothing fetched
    cli.assert_no_secret(portal_secrets(portal))


def test_doctor_help_documents_the_exit_codes(cli):
    result = cli("doctor", "--help")
    assert result.returncode == 0
    assert "0 every step found" in result.stdout and "1 a step not found" in result.stdout
    assert "NEVER clicked" in result.stdout


@pytest.mark.parametrize("skin", ["modern", "jsf2017"])
def test_a_renamed_reset_button_is_reported_and_a_texts_override_finds_it(
    tmp_path, make_portal, real_keyring, skin
):
    portal = make_portal(reset_label=RENAMED, skin=skin)
    cli = Cli(home=tmp_path, portal_url=portal.url)
    before = _portal_state(portal)

    missing = cli("doctor", "--structure", PAGE3_SIRET)

    assert missing.returncode == 1, missing.output
    lines = _lines(missing.stdout)
    assert lines["reset_button"].startswith("NOT FOUND"), lines["reset_button"]
    assert "([texts] reset_button)" in lines["reset_button"]
    # The walk went on around it: the rest of the structure page is reported found.
    for name in ("open_structure", "users_block", "technical_user", "expiry"):
        assert lines[name].startswith("found"), lines[name]
    assert "1 step(s) not found or not reached: reset_button" in missing.stdout
    html = _report(missing.stdout).read_text(encoding="utf-8")
    assert RENAMED in html  # what the page offers instead, to put in [texts]

    cli.config_file.write_text(f'[texts]\nreset_button = "{RENAMED}"\n', encoding="utf-8")
    found = cli("doctor", "--structure", PAGE3_SIRET)

    assert found.returncode == 0, found.output
    line = _lines(found.stdout)["reset_button"]
    assert line.startswith("found") and RENAMED in line, line
    assert "<code>reset_button</code> = " in _report(found.stdout).read_text(encoding="utf-8")
    _assert_untouched(portal, before)
    cli.assert_no_secret(portal_secrets(portal))


def test_second_factor_uses_the_stored_totp_and_its_code_is_nowhere(
    tmp_path, make_portal, real_keyring
):
    portal = make_portal(totp_for={MANAGER})
    cli = Cli(home=tmp_path, portal_url=portal.url)
    stored = cli("credentials", "set", "--totp", "--password-stdin", input=SEED_TOTP_SECRET)
    assert stored.returncode == 0, stored.output

    started = time.time()
    result = cli("doctor", "--structure", PAGE3_SIRET)
    ended = time.time()

    assert result.returncode == 0, result.output
    lines = _lines(result.stdout)
    assert lines["second_factor_code"].startswith("found"), lines["second_factor_code"]
    assert "Code de vérification" in lines["second_factor_code"]
    assert f"structure {PAGE3_SIRET}" in lines["open_structure"]
    assert "second factor page" in _report(result.stdout).read_text(encoding="utf-8")
    totp = pyotp.TOTP(SEED_TOTP_SECRET)
    codes = {totp.at(t) for t in range(int(started) - 30, int(ended) + 31, 10)}
    cli.assert_no_secret([*portal_secrets(portal), SEED_TOTP_SECRET, *codes])


def test_a_refused_login_stops_the_walk_and_says_so(cli, portal, real_keyring):
    result = cli("doctor", CHORUS_BOT_PASSWORD="not-the-password")

    assert result.returncode == 1, result.output
    lines = _lines(result.stdout)
    assert lines["login_submit"].startswith("found")
    assert lines["applications_title"].startswith("NOT FOUND")
    assert "refused the identifiant or password" in lines["applications_title"]
    for name in STEPS[STEPS.index("chorus_pro") :]:
        assert lines[name].startswith("not reached"), lines[name]
    assert len([r for r in portal.state.requests if r[0] == "POST"]) == 1  # no retry
    assert _report(result.stdout).is_file()
    cli.assert_no_secret(["not-the-password", MANAGER_PASSWORD, *portal_secrets(portal)])


def test_no_structures_table_stops_the_walk_there(tmp_path, make_portal, real_keyring):
    portal = make_portal(hide_structures_table=True, skin="jsf2017")
    cli = Cli(home=tmp_path, portal_url=portal.url)

    result = cli("doctor", "--timeout", "5")

    assert result.returncode == 1, result.output
    lines = _lines(result.stdout)
    assert lines["manager_activities"].startswith("found")
    # Not the `Demandes de rattachement` grid, which has an `Identifiant structure` column too.
    assert lines["structures_header"].startswith("NOT FOUND"), lines["structures_header"]
    assert "([texts] structures_header)" in lines["structures_header"]
    for name in STEPS[STEPS.index("next_page") :]:
        assert lines[name].startswith("not reached"), lines[name]
    html = _report(result.stdout).read_text(encoding="utf-8")
    # What the page offers instead: its tables and their headers.
    assert "## Tables" in html and "Date de la demande" in html


def test_a_structure_without_a_technical_user_is_reported_as_such(
    tmp_path, make_portal, real_keyring
):
    portal = make_portal()
    record = next(r for r in portal.state.all_structures if not r.has_technical_user)
    account = portal.state.account(record.owner)
    cli = Cli(home=tmp_path, portal_url=portal.url)

    result = cli(
        "doctor",
        "--structure",
        record.siret,
        CHORUS_BOT_USERNAME=account.identifiant,
        CHORUS_BOT_PASSWORD=account.password,
    )

    assert result.returncode == 1, result.output
    lines = _lines(result.stdout)
    assert lines["users_block"].startswith("found"), lines["users_block"]
    assert lines["technical_user"].startswith("NOT FOUND")
    assert f"structure {record.siret} has no technical user" in lines["technical_user"]
    assert "without a technical user" in lines["reset_button"]
    cli.assert_no_secret([account.password, *portal_secrets(portal)])
