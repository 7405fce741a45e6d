"""Today's Chorus Pro end to end: the CLI in a subprocess, real Chromium, the mock portal's
flavour 2026 over HTTP, the real Secret Service keyring, and for the e-mailed code a real
mailbox (Dovecot fed by SMTP, tests/mailserver.py) the mock sends to.

Chorus Pro's own login and its mandatory second factor (TOTP, or the e-mailed code typed on a
terminal or read over IMAP), both ways to reset (the documented path and `Raccordements`), the
choice `--path auto` makes, a portal that shows no expiry, and a `Soumettre` without answer.
Every run's outputs and files are searched for every secret the run knew.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest

from bot import secret_store
from fixtures.mock_portal import Fault, MockPortal, server2026
from fixtures.mock_portal import pages as mock_pages
from tests.conftest import MANAGER_PASSWORD, PAGE3_SIRET, SIAGEP, Cli, portal_secrets
from tests.runs import error_line, history, store_technical, wait_until
from tests.test_second_factor import SEED_TOTP_SECRET

EMAIL = "claire.martin@collectivite.example.fr"  # claire's login on Chorus Pro
SOON = PAGE3_SIRET  # 20 days left: due for a reset
FORM = mock_pages.COMPTE_TECHNIQUE_PATH
DOCUMENTED = mock_pages.GESTIONNAIRE_PATH


@pytest.fixture
def portal26(make_portal, monkeypatch):
    """A portal of today (flavour 2026) with these options.

    The Raccordements form puts a new password on screen as soon as the technical account is
    chosen, submitted or not (a read, doctor): each one it draws is kept in `portal.shown` for
    the secret scan, since no record of the portal holds those that were never submitted.
    """
    shown: list[str] = []
    draw = server2026.generate_password

    def draw_and_keep(*args, **kwargs) -> str:
        shown.append(draw(*args, **kwargs))
        return shown[-1]

    monkeypatch.setattr(server2026, "generate_password", draw_and_keep)

    def start(**options) -> MockPortal:
        portal = make_portal(flavour="2026", **options)
        portal.shown = shown
        return portal

    return start


def _cli(tmp_path, portal: MockPortal, **env: str) -> Cli:
    return Cli(home=tmp_path, portal_url=portal.url, env=dict(env))


def _store_totp(cli: Cli) -> None:
    stored = cli("credentials", "set", "--totp", "--password-stdin", input=SEED_TOTP_SECRET)
    assert stored.returncode == 0, stored.output


def _snapshot(portal: MockPortal, siret: str) -> tuple:
    record = portal.state.structure(siret)
    return (record.tech_password, record.expiry, record.reset_count)


def _visited(portal: MockPortal, path: str) -> bool:
    return any(seen == path or seen.startswith(path + "/") for _, seen in portal.state.requests)


def _totp_codes_around(start: float, end: float) -> set[str]:
    totp = pyotp.TOTP(SEED_TOTP_SECRET)
    return {totp.at(t) for t in range(int(start) - 30, int(end) + 31, 10)}


def _secrets(portal: MockPortal, *more: str) -> list[str]:
    """Every password the portal knows, every code it sent, and the run's own secrets."""
    return [
        *portal_secrets(portal),
        *portal.shown,  # drawn on the Raccordements form, submitted or not
        *(mail.code for mail in portal.outbox),
        SEED_TOTP_SECRET,
        *more,
    ]


def _assert_reset_stored(portal: MockPortal, siret: str, before: tuple) -> None:
    """The portal applied a new password once, moved the expiry, and the keyring holds it."""
    record = portal.state.structure(siret)
    password, expiry, count = before
    assert record.reset_count == count + 1
    assert record.tech_password != password
    assert record.expiry - expiry > timedelta(days=300)
    stored = secret_store.get_technical(siret)
    assert stored is not None
    assert (stored.login, stored.password) == (record.tech_login, record.tech_password)


# -- Chorus Pro's login and its second factor ---------------------------------------------


def test_login_by_email_address_with_totp_takes_the_documented_path(
    tmp_path, portal26, real_keyring
):
    portal = portal26()
    cli = _cli(tmp_path, portal, CHORUS_BOT_USERNAME=EMAIL)
    _store_totp(cli)
    before = _snapshot(portal, SIAGEP)

    started = time.time()
    result = cli("check", "--structure", SIAGEP, "--json", "--verbose")
    ended = time.time()

    assert result.returncode == 0, result.output
    data = json.loads(result.stdout)
    record = portal.state.structure(SIAGEP)
    assert data["technical_login"] == record.tech_login
    assert data["expires_at"] == record.expiry.replace(microsecond=0).isoformat()
    assert data["expiry_source"] == "structure page"
    assert "second factor: the authenticator application" in result.stderr
    assert "path: documented (auto)" in result.stderr
    assert _visited(portal, DOCUMENTED) and not _visited(portal, FORM)
    assert _snapshot(portal, SIAGEP) == before
    assert portal.outbox == []  # the authenticator: nothing e-mailed
    cli.assert_no_secret(_secrets(portal, *_totp_codes_around(started, ended)))


def test_a_refused_password_on_chorus_pros_login_is_one_line(tmp_path, portal26, real_keyring):
    portal = portal26()
    cli = _cli(tmp_path, portal, CHORUS_BOT_PASSWORD="Pas-Le-Bon-2026!")

    result = cli("check", "--structure", SIAGEP, "--timeout", "10")

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert line.startswith("chorus-bot: error: login: the portal refused the identifiant")
    assert "Adresse électronique ou mot de passe incorrect" in line
    cli.assert_no_secret([*_secrets(portal), "Pas-Le-Bon-2026!"])


def test_emailed_code_typed_on_a_terminal(tmp_path, portal26, real_keyring):
    portal = portal26()  # no TOTP secret stored: the e-mailed code is chosen
    cli = _cli(tmp_path, portal)

    def type_the_mailed_code() -> str:
        return portal.outbox[-1].code + "\n"

    returncode, output = cli.on_terminal(
        "check",
        "--structure",
        SIAGEP,
        answers={"Code de vérification reçu par courriel": type_the_mailed_code},
    )

    assert returncode == 0, output
    assert portal.state.structure(SIAGEP).tech_login in output
    assert len(portal.outbox) == 1
    log_text = (cli.state_dir / "chorus-bot.log").read_text(encoding="utf-8")
    assert "second factor: the code sent by e-mail" in log_text
    assert portal.outbox[0].code not in log_text.replace(SIAGEP, "")
    assert portal.outbox[0].code not in output.replace(SIAGEP, "").replace(
        portal.outbox[0].code + "\r\n",
        "",  # the terminal echoes what the person types
    )
    # The person's own typing, echoed by the terminal, is the one place the code may show;
    # everything else (the bot's output, log, history, run folders) is scanned for it.
    cli.terminals = [
        (args, seen.replace(portal.outbox[0].code + "\r\n", "", 1)) for args, seen in cli.terminals
    ]
    cli.assert_no_secret(_secrets(portal))


def _mailbox_cli(tmp_path, portal: MockPortal, mail_server, timeout: float) -> Cli:
    cli = _cli(tmp_path, portal)
    cli.config_file.write_text(mail_server.config_table(timeout=timeout), encoding="utf-8")
    stored = cli("credentials", "set", "--imap", "--password-stdin", input=mail_server.password)
    assert stored.returncode == 0, stored.output
    return cli


def test_emailed_code_read_over_imap_ignores_a_stale_one_and_resets_on_raccordements(
    tmp_path, portal26, mail_server, real_keyring
):
    portal = portal26(smtp_host=mail_server.smtp_host, smtp_port=mail_server.smtp_port)
    cli = _mailbox_cli(tmp_path, portal, mail_server, timeout=60.0)
    mail_server.send_code("111111")  # an earlier login's code, still unread
    before = _snapshot(portal, SOON)
    old_password = before[0]

    result = cli("reset", "--structure", SOON, "--path", "raccordements", "--verbose")

    assert result.returncode == 0, result.output
    assert "path: raccordements (chosen)" in result.stderr
    assert _visited(portal, FORM)
    _assert_reset_stored(portal, SOON, before)
    assert secret_store.get_previous_technical(SOON) is None  # nothing stored before
    # The portal's mail was read and marked; the stale one was left as it was.
    assert len(portal.outbox) == 1 and portal.outbox[0].sent
    assert [seen for _, seen in ((s, "\\Seen" in f) for s, f in mail_server.messages())] == [
        False,
        True,
    ]
    assert history(cli.state_dir)[-1]["outcome"] == "reset"
    cli.assert_no_secret(_secrets(portal, old_password, mail_server.password, "111111"))


def test_no_mail_in_time_exits_1_and_changes_nothing(tmp_path, portal26, mail_server, real_keyring):
    portal = portal26(smtp_host=mail_server.smtp_host, smtp_port=mail_server.smtp_port)
    portal.faults.add(Fault("code_not_sent", "second_factor"))
    cli = _mailbox_cli(tmp_path, portal, mail_server, timeout=3.0)
    before = _snapshot(portal, SOON)

    result = cli("reset", "--structure", SOON, "--force")

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert line.startswith("chorus-bot: error: second factor: no verification code arrived in ")
    assert "within 3 s" in line
    assert _snapshot(portal, SOON) == before
    assert secret_store.get_technical(SOON) is None
    assert mail_server.messages() == []
    cli.assert_no_secret(_secrets(portal, mail_server.password))


def test_a_security_key_alone_exits_1_naming_the_factor_to_add(tmp_path, portal26, real_keyring):
    portal = portal26(second_factors=("key",))
    cli = _cli(tmp_path, portal)
    _store_totp(cli)

    result = cli("check", "--structure", SIAGEP)

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert line.startswith(
        "chorus-bot: error: second factor: the portal offers only a security key"
    )
    assert "cannot be automated" in line
    assert "authenticator application (TOTP, recommended)" in line


# -- both ways to reset, and the choice between them --------------------------------------


def test_reset_on_the_documented_path_of_todays_portal(tmp_path, portal26, real_keyring):
    portal = portal26()
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    before = _snapshot(portal, SOON)

    started = time.time()
    result = cli("reset", "--structure", SOON)
    ended = time.time()

    assert result.returncode == 0, result.output
    _assert_reset_stored(portal, SOON, before)
    assert _visited(portal, DOCUMENTED) and not _visited(portal, FORM)
    # The summary offers a PDF of the password: the bot never asks for it.
    assert not _visited(portal, mock_pages.EXPORT_PATH)
    cli.assert_no_secret(_secrets(portal, before[0], *_totp_codes_around(started, ended)))


def test_raccordements_on_jsf2017_with_the_expiry_of_the_structure_page(
    tmp_path, portal26, real_keyring
):
    portal = portal26(skin="jsf2017")
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    store_technical(SOON, portal.state.structure(SOON).tech_login, "Ancien-1!")
    before = _snapshot(portal, SOON)

    started = time.time()
    reset = cli("reset", "--structure", SOON, "--path", "raccordements")
    check = cli("check", "--structure", SOON, "--path", "raccordements", "--json")
    ended = time.time()

    assert reset.returncode == 0, reset.output
    _assert_reset_stored(portal, SOON, before)
    previous = secret_store.get_previous_technical(SOON)
    assert previous is not None and previous.password == "Ancien-1!"
    assert check.returncode == 0, check.output
    data = json.loads(check.stdout)
    assert data["expiry_source"] == "structure page"
    assert data["expires_at"] == portal.state.structure(SOON).expiry.isoformat()
    cli.assert_no_secret(
        _secrets(portal, before[0], "Ancien-1!", *_totp_codes_around(started, ended))
    )


def test_auto_takes_raccordements_when_the_documented_path_is_missing(
    tmp_path, portal26, real_keyring
):
    portal = portal26(skin="jsf2017", documented_path=False, raccordements_shows_expiry=True)
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    before = _snapshot(portal, SOON)

    reset = cli("reset", "--structure", SOON, "--verbose")
    check = cli("check", "--structure", SOON, "--json")

    assert reset.returncode == 0, reset.output
    assert "path: raccordements (auto)" in reset.stderr
    _assert_reset_stored(portal, SOON, before)
    assert check.returncode == 0, check.output
    data = json.loads(check.stdout)
    assert data["expiry_source"] == "raccordements"
    assert data["expires_at"] == portal.state.structure(SOON).expiry.isoformat()
    assert not _visited(portal, DOCUMENTED)
    documented = cli("check", "--structure", SOON, "--path", "documented")
    assert documented.returncode == 1
    assert "use `--path raccordements`" in error_line(documented)
    cli.assert_no_secret(_secrets(portal, before[0]))


def test_status_on_raccordements_lists_the_structures_the_form_offers(
    tmp_path, portal26, real_keyring
):
    portal = portal26(documented_path=False, raccordements_shows_expiry=True)
    cli = _cli(tmp_path, portal)
    _store_totp(cli)

    result = cli("status", "--json")

    data = json.loads(result.stdout)
    offered = {record.siret for record in portal.state.structures_for("claire.martin")}
    assert {row["structure"] for row in data["structures"]} == offered
    assert data["structures_seen"] == len(offered)
    assert all(row["expiry_source"] == "raccordements" for row in data["structures"])
    assert result.returncode == 4, result.output  # one of them is expired
    assert all(record.reset_count == 0 for record in portal.state.all_structures)
    assert portal.shown  # the form showed new passwords, never submitted: scanned for below
    cli.assert_no_secret(_secrets(portal))


def test_where_no_page_shows_the_expiry_check_says_so_and_reset_force_works(
    tmp_path, portal26, real_keyring
):
    portal = portal26(documented_path=False)
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    before = _snapshot(portal, SOON)

    check = cli("check", "--structure", SOON, "--trace")  # a trace must not keep the form
    unforced = cli("reset", "--structure", SOON)

    assert check.returncode == 1, check.output
    line = error_line(check)
    assert "the portal does not show when the password of" in line
    assert f"`chorus-bot reset --structure {SOON} --force` still resets it" in line
    assert unforced.returncode == 1, unforced.output
    assert "--force` resets it anyway" in error_line(unforced)
    assert _snapshot(portal, SOON) == before
    assert secret_store.get_technical(SOON) is None

    forced = cli("reset", "--structure", SOON, "--force")

    assert forced.returncode == 0, forced.output
    assert "not shown by the portal" in forced.stdout
    _assert_reset_stored(portal, SOON, before)
    assert [r["outcome"] for r in history(cli.state_dir)[-3:]] == ["failed", "failed", "reset"]
    cli.assert_no_secret(_secrets(portal, before[0]))


def test_a_keyring_failing_on_raccordements_rescues_the_password_then_submits(
    tmp_path, portal26, real_keyring
):
    portal = portal26()
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    before = _snapshot(portal, SOON)

    result = cli(
        "reset",
        "--structure",
        SOON,
        "--path",
        "raccordements",
        PYTHON_KEYRING_BACKEND="tests.keyring_backends.RefusesTechnicalWrites",
    )

    assert result.returncode == 5, result.output
    line = error_line(result)
    assert line.startswith("chorus-bot: error: keyring: ") and "chorus-bot recover" in line
    # Kept safe in the rescue file, so it was put in force: never a password nobody has.
    record = portal.state.structure(SOON)
    assert record.reset_count == before[2] + 1 and record.tech_password != before[0]
    (rescue,) = (cli.state_dir / "rescue").glob("*.json")
    assert json.loads(rescue.read_text(encoding="utf-8"))["password"] == record.tech_password
    assert secret_store.get_technical(SOON) is None
    cli.assert_no_secret(_secrets(portal, before[0]))

    recovered = cli("recover")

    assert recovered.returncode == 0, recovered.output
    stored = secret_store.get_technical(SOON)
    assert stored is not None and stored.password == record.tech_password


@pytest.mark.parametrize("fault", ["http500", "slow"])
def test_soumettre_without_answer_keeps_the_old_and_the_new_password(
    tmp_path, portal26, real_keyring, fault
):
    """`http500`: the portal refused, the old password is in force. `slow`: the answer comes
    after the bot gave up, and the new one is. Either way both are in the keyring."""
    portal = portal26()
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    login = portal.state.structure(SOON).tech_login
    old = portal.state.structure(SOON).tech_password
    store_technical(SOON, login, old)
    portal.faults.add(Fault(fault, "raccordements_submit", seconds=14.0, times=1))

    result = cli("reset", "--structure", SOON, "--path", "raccordements", "--timeout", "10")

    assert result.returncode == 1, result.output
    line = error_line(result)
    assert line.startswith("chorus-bot: error: Soumettre: ")
    assert "the new password may or may not be in force" in line
    assert f"chorus-bot check --structure {SOON}" in line
    assert f"chorus-bot/technical/{SOON}/previous" in line
    current = secret_store.get_technical(SOON)
    previous = secret_store.get_previous_technical(SOON)
    assert current is not None and previous is not None
    assert previous.password == old and current.password != old
    if fault == "slow":
        # The portal answers after the bot gave up: wait for it, then the new one is in force.
        wait_until(lambda: portal.state.structure(SOON).reset_count == 1, "the late Soumettre")
        assert portal.state.structure(SOON).tech_password == current.password
    else:
        assert portal.state.structure(SOON).tech_password == old
    cli.assert_no_secret(_secrets(portal, old, current.password))


# -- the option and the config key ----------------------------------------------------------


def test_path_is_checked_and_shown(tmp_path, real_keyring):
    cli = Cli(home=tmp_path)
    wrong = cli("check", "--structure", SIAGEP, "--path", "sideways")
    assert wrong.returncode == 2, wrong.output
    assert "path (--path, or `path` in the config file) must be one of documented, " in (
        error_line(wrong)
    )
    cli.config_file.write_text('path = "raccordements"\n', encoding="utf-8")
    shown = cli("config", "show")
    assert shown.returncode == 0, shown.output
    assert "path = 'raccordements'  # file" in shown.stdout
    assert "texts.submit_request = ['Soumettre']  # default" in shown.stdout
    assert 'texts.second_factor_choice_app = ["Application d\'authentification"]' in (shown.stdout)
    cli.config_file.write_text('path = "sideways"\n', encoding="utf-8")
    assert cli("config", "show").returncode == 2
    assert MANAGER_PASSWORD not in "".join(r.output for r in cli.runs)


# -- doctor walks the path in use -----------------------------------------------------------


def _portal_state(portal: MockPortal) -> list[tuple]:
    return [
        (record.siret, record.tech_password, record.expiry, record.reset_count)
        for record in portal.state.all_structures
    ]


def _doctor_lines(stdout: str) -> dict[str, str]:
    from flows.doctor import planned_steps
    from flows.texts import DEFAULT_TEXTS

    names = [step.name for step in planned_steps(DEFAULT_TEXTS)]
    return {
        name: line for line in stdout.splitlines() for name in names if name in line.split()[:4]
    }


def test_doctor_walks_raccordements_up_to_soumettre_and_changes_nothing(
    tmp_path, portal26, real_keyring
):
    portal = portal26(skin="jsf2017")
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    before = _portal_state(portal)

    result = cli("doctor", "--path", "raccordements", "--structure", SOON)

    assert result.returncode == 0, result.output
    lines = _doctor_lines(result.stdout)
    for name in (
        "second_factor_choice",
        "raccordements",
        "technical_account_app",
        "request_type",
        "choose_structure",
        "technical_account",
        "new_password",
        "submit_request",
        "expiry",
    ):
        assert lines[name].startswith("found "), lines[name]
    for name in ("applications_title", "structures_header", "reset_button"):
        assert lines[name].startswith("not needed "), lines[name]
    assert "not clicked" in lines["submit_request"]
    assert "14 structure(s) offered" in lines["choose_structure"]
    assert _portal_state(portal) == before
    assert portal.shown  # the form drew a password, which doctor read but never submitted
    cli.assert_no_secret(_secrets(portal))


def test_doctor_says_where_no_page_shows_the_expiry(tmp_path, portal26, real_keyring):
    portal = portal26(documented_path=False)
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    before = _portal_state(portal)

    result = cli("doctor")

    assert result.returncode == 1, result.output
    lines = _doctor_lines(result.stdout)
    assert lines["manager_activities"].startswith("not needed "), lines["manager_activities"]
    assert lines["raccordements"].startswith("found "), lines["raccordements"]
    assert lines["expiry"].startswith("NOT FOUND "), lines["expiry"]
    assert "reset --force still works" in lines["expiry"]
    assert "1 step(s) not found or not reached: expiry" in result.stdout
    assert _portal_state(portal) == before
    cli.assert_no_secret(_secrets(portal))


def test_doctor_on_todays_portal_walks_the_documented_path_when_auto_finds_it(
    tmp_path, portal26, real_keyring
):
    portal = portal26()
    cli = _cli(tmp_path, portal, CHORUS_BOT_USERNAME=EMAIL)
    _store_totp(cli)
    before = _portal_state(portal)

    started = time.time()
    result = cli("doctor", "--structure", SIAGEP)
    ended = time.time()

    assert result.returncode == 0, result.output
    lines = _doctor_lines(result.stdout)
    for name in (
        "login_identifiant",
        "login_submit",
        "second_factor_choice",
        "second_factor_code",
        "manager_activities",
        "structures_header",
        "open_structure",
        "technical_user",
        "expiry",
        "reset_button",
    ):
        assert lines[name].startswith("found "), lines[name]
    # Chorus Pro's own login leads to its home: no DGFiP application list; the home also
    # offers Raccordements (seen, so `auto` can choose), whose form is not needed.
    for name in (
        "applications_title",
        "technical_account_app",
        "choose_structure",
        "submit_request",
    ):
        assert lines[name].startswith("not needed "), lines[name]
    assert "not clicked" in lines["reset_button"]
    assert not _visited(portal, FORM)
    assert _portal_state(portal) == before and portal.shown == []
    cli.assert_no_secret(_secrets(portal, *_totp_codes_around(started, ended)))


# -- in French ----------------------------------------------------------------------------


def test_todays_portal_in_french_no_expiry_shown_and_a_security_key(
    tmp_path, portal26, real_keyring
):
    """The new messages (an expiry shown nowhere, the forced reset, a security key only) are
    French under a French locale, with no English left in what the user reads."""
    from flows.doctor import planned_steps
    from flows.texts import DEFAULT_TEXTS
    from tests.test_french import FRENCH, assert_french

    portal = portal26(documented_path=False)
    cli = _cli(tmp_path, portal)
    _store_totp(cli)
    before = _snapshot(portal, SOON)

    check = cli("check", "--structure", SOON, **FRENCH)
    doctor = cli("doctor", "--structure", SOON, **FRENCH)
    forced = cli("reset", "--structure", SOON, "--force", **FRENCH)

    assert check.returncode == 1, check.output
    assert _french_error(check).startswith("chorus-bot: erreur : ")
    assert_french(check.output)
    # doctor's table on the Raccordements path: step names are `[texts]` keys (identifiers),
    # taken out where they stand as such, as test_french does for the documented path.
    assert doctor.returncode == 1, doctor.output
    assert "affiché, masqué ici, jamais soumis" in doctor.stdout, doctor.stdout
    assert "`chorus-bot reset --force` fonctionne toujours" in doctor.stdout, doctor.stdout
    (report,) = re.findall(r"^Rapport : (.+)$", doctor.stdout, re.MULTILINE)
    assert "formulaire Compte technique" in Path(report).read_text(encoding="utf-8")
    names = "|".join(step.name for step in planned_steps(DEFAULT_TEXTS))
    assert_french(
        re.sub(rf"(?:\[texts\] |: )?\b({names})(?=  |\)|$)", " ", doctor.output, flags=re.M)
    )
    assert forced.returncode == 0, forced.output
    assert "non affichée par le portail" in forced.stdout
    assert_french(forced.output)
    _assert_reset_stored(portal, SOON, before)

    keyed = portal26(second_factors=("key",))
    key_only = Cli(home=tmp_path, portal_url=keyed.url)("check", "--structure", SIAGEP, **FRENCH)

    assert key_only.returncode == 1, key_only.output
    assert _french_error(key_only).startswith("chorus-bot: erreur : ")
    assert_french(key_only.output)
    cli.assert_no_secret(_secrets(portal, before[0]))


def _french_error(result) -> str:
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("chorus-bot: erreur")]
    return line
