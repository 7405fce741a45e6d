"""Small pure functions: text matching, parsing the structure page, secret masking,
browser finding, the worst exit code of a batch."""

from __future__ import annotations

import html
import os
import stat
import zipfile
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.batch import StructureResult, resolve_targets, worst_exit_code
from bot.browser import _whole_zip, find_browser
from bot.config import build_settings
from bot.errors import BrowserError, PasswordRescued, PortalError, UsageError
from bot.log import MASK, Redactor
from flows.models import PARIS, NewPassword
from flows.pages.structure import parse_expiry, parse_technical_login
from flows.text import containing, digits_pattern, loose


@pytest.mark.parametrize(
    "label", ["Identifiant :", "identifiant", "IDENTIFIANT\u00a0:", "  Identifiant   : "]
)
def test_loose_matches_case_spaces_and_colon(label):
    assert loose("Identifiant :").match(label)


def test_loose_is_anchored_and_tolerates_apostrophes():
    assert not loose("Identifiant :").match("Identifiant technique :")
    assert containing("l'utilisateur technique").search("de l\u2019utilisateur technique")


def test_digits_pattern_accepts_grouping_but_not_longer_numbers():
    pattern = digits_pattern("25900096600020")
    assert pattern.search("SIRET 259 000 966 00020 ACTIF")
    assert not pattern.search("125900096600020")


@pytest.mark.parametrize(
    ("text", "login"),
    [
        (
            "Utilisateur technique : TECH_025900096600020@cpp2017 (ACTIF)",
            "TECH_025900096600020@cpp2017",
        ),
        (
            "Gestionnaire Principal : A B Utilisateur technique : TECH_1_X@cpro.fr (ACTIF)",
            "TECH_1_X@cpro.fr",
        ),
        ("Utilisateur technique\u00a0:\u00a0TECH_42@cpp2017.fr(ACTIF)", "TECH_42@cpp2017.fr"),
        ("UTILISATEUR TECHNIQUE : tech-007", "tech-007"),
    ],
)
def test_technical_login_is_the_token_after_the_label(text, login):
    assert parse_technical_login(text) == login


def test_expiry_line_is_not_taken_for_the_login():
    text = "Expiration du mot de passe de l'utilisateur technique : 22/12/2017 15:20:45"
    assert parse_technical_login(text) is None
    assert parse_expiry(text) == datetime(2017, 12, 22, 15, 20, 45, tzinfo=PARIS)


def test_expiry_in_winter_and_summer_has_the_paris_offset():
    winter = parse_expiry(
        "Expiration du mot de passe de l'utilisateur technique : 22/12/2027 15:20:45"
    )
    summer = parse_expiry("Expiration du mot de passe de l’utilisateur technique: 1/7/2027 08:00")
    assert winter.utcoffset().total_seconds() == 3600
    assert summer.utcoffset().total_seconds() == 7200
    assert parse_expiry("no date here") is None


def test_redactor_masks_every_known_secret_longest_first():
    redactor = Redactor()
    redactor.add("abcd1234")
    redactor.add("abcd1234XYZ")
    redactor.add("ab")  # too short to mask safely: ignored
    assert redactor.redact("x abcd1234XYZ y abcd1234 ab") == f"x {MASK} y {MASK} ab"


def test_new_password_repr_hides_the_password():
    new = NewPassword(siret="1", login="TECH", password="s3cr3t-value")
    assert "s3cr3t-value" not in repr(new)


def test_page_redaction_empties_inputs_and_known_secrets_before_serialising(page):
    """The JS that BrowserRun runs in the page before page.content(): nothing of a secret is
    left to escape (the old string replacement after serialising missed `&amp;` and the like)."""
    from bot.browser import _DROP_VALUES, _REDACT_PAGE

    known = "Visible&<Secret>\"42'"
    page.set_content(
        '<input readonly value="Typed-Secret-1"><input value=Bare-Secret>'
        '<input type="submit" value="Connexion"><textarea>Area-Secret</textarea>'
        f"<p>Mot de passe : <b>{html.escape(known)}</b></p>"
        f'<a href="/x?p={quote(known)}" title="{html.escape(known)}">lien</a>'
    )
    page.evaluate(_REDACT_PAGE, [known])
    page.evaluate(_DROP_VALUES)
    cleaned = page.content()
    for secret in ("Typed-Secret-1", "Bare-Secret", "Area-Secret"):
        assert secret not in cleaned
    for form in (known, html.escape(known), html.escape(known, quote=False), quote(known)):
        assert form not in cleaned
    assert "Mot de passe" in cleaned and "lien" in cleaned  # only the secrets went


def test_find_browser_order(tmp_path, monkeypatch):
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    own = tmp_path / "playwright-chromium"
    own.write_text("")
    # An explicit browser wins; a non-executable one is bad usage.
    assert find_browser(str(fake), str(own)) == str(fake)
    with pytest.raises(UsageError):
        find_browser(str(own), None)
    # Playwright's own Chromium (None = let Playwright launch it) before the system ones.
    assert find_browser(None, str(own)) is None
    # Then a system browser on PATH; then a clear error.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chromium").symlink_to(fake)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert find_browser(None, str(tmp_path / "missing")) == str(bin_dir / "chromium")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr("bot.browser._WELL_KNOWN_PATHS", ())
    with pytest.raises(BrowserError, match="no Chromium, Chrome or Edge"):
        find_browser(None, None)


def test_worst_exit_code_prefers_a_lost_password_then_failures_then_expiry():
    def failed(error):
        return StructureResult("1", error=error)

    assert worst_exit_code([]) == 0
    assert worst_exit_code([failed(PortalError("x"))]) == 1
    rescued = failed(PasswordRescued("x"))
    assert worst_exit_code([failed(PortalError("x")), rescued]) == 5


def test_resolve_targets_validates_and_deduplicates(tmp_path, monkeypatch):
    monkeypatch.setenv("CHORUS_BOT_CONFIG", str(tmp_path / "none.toml"))
    settings = build_settings()
    assert resolve_targets(settings, ["259 000 966 00020", "25900096600020"], False) == [
        "25900096600020"
    ]
    assert resolve_targets(settings, [], True) is None
    with pytest.raises(UsageError, match="no structure given"):
        resolve_targets(settings, [], False)
    with pytest.raises(UsageError):
        resolve_targets(settings, ["25900096600021"], False)


def test_rescue_file_is_private(tmp_path: Path):
    from bot.rescue import list_rescues, write_rescue

    path = write_rescue(tmp_path, NewPassword("25900096600020", "TECH", "pw-123456"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert [r.password for r in list_rescues(tmp_path)] == ["pw-123456"]


def test_a_trace_cut_short_is_not_taken_for_a_whole_one(tmp_path):
    # Ctrl-C to the whole process group can kill Playwright's driver while it writes the
    # trace: the run folder must not keep a zip that nobody can open.
    whole = tmp_path / "trace.zip"
    with zipfile.ZipFile(whole, "w") as archive:
        archive.writestr("trace.trace", "x" * 10_000)
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    assert _whole_zip(whole)
    assert not _whole_zip(cut)
    assert not _whole_zip(tmp_path / "absent.zip")
