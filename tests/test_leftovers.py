"""Nothing left behind (issue 11, item 6): the browser's profile is the run's own, with the
password manager and autofill off; a run killed with SIGKILL leaves no folder holding a
secret, and the next run removes what a killed one left."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from fixtures.mock_portal import Fault
from tests.conftest import PAGE3_SIRET, SIAGEP, Cli, browser_folders, find_secrets, portal_secrets
from tests.runs import (
    alive,
    browser_processes,
    command_line,
    descendants,
    finish_cli,
    kill,
    record_drawn,
    start_cli,
    store_technical,
    technical,
    wait_until,
)


def _files(root: Path) -> list[tuple[str, str]]:
    return [
        (str(path), path.read_bytes().decode("latin-1"))
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    ]


def _holding_file(cli: Cli) -> Path:
    return cli.home / "handover-started"


def _hold_in_handover(cli: Cli) -> None:
    """A post_reset_command that holds the run after the new password was on screen."""
    ready = _holding_file(cli)
    command = ["sh", "-c", f"cat >/dev/null; touch {ready}; exec sleep 120"]
    cli.config_file.write_text(f"post_reset_command = {json.dumps(command)}\n", encoding="utf-8")


# Where the bot is killed: logged in (the manager's password typed), or after the new
# password was shown, stored and handed over (the bot still running its hand-over).
KILL_POINTS = ["logged-in", "password-shown"]


@pytest.mark.parametrize("when", KILL_POINTS)
def test_sigkill_of_the_bot_leaves_no_secret_and_the_next_run_cleans_up(
    cli, portal, real_keyring, short_tmp, when
):
    drawn = record_drawn(portal)
    record = portal.state.structure(PAGE3_SIRET)
    old = (record.tech_login, record.tech_password)
    store_technical(PAGE3_SIRET, *old)
    if when == "logged-in":
        portal.faults.add(Fault("slow", "structure", seconds=120, times=1))
        ready = lambda: any(p.startswith("/cpp/structure/") for _, p in portal.state.requests)  # noqa: E731
    else:
        _hold_in_handover(cli)
        ready = _holding_file(cli).exists
    args = ("reset", "--structure", PAGE3_SIRET, "--timeout", "60")
    process = start_cli(cli, *args, TMPDIR=str(short_tmp))
    try:
        wait_until(ready, f"the run to be {when}")
        browsers = browser_processes(process.pid)
        assert browsers, "no browser under the CLI"
        # The profile is this run's own, and Chromium keeps the preferences it was given.
        folders = browser_folders(short_tmp)
        assert len(folders) == 1, folders
        profile = folders[0] / "profile-1"
        assert any(f"--user-data-dir={profile}" in command_line(pid) for pid in browsers)
        preferences = json.loads((profile / "Default" / "Preferences").read_text())
        assert preferences["credentials_enable_service"] is False
        assert preferences["profile"]["password_manager_enabled"] is False
        assert preferences["autofill"]["profile_enabled"] is False
        assert (folders[0].stat().st_mode & 0o777) == 0o700
        holders = {pid for pid in descendants(process.pid) if "sleep" in command_line(pid)}
        everything = descendants(process.pid) - holders

        os.kill(process.pid, signal.SIGKILL)
        kill(holders)  # the test's own hand-over command, not the bot's to stop
        result = finish_cli(cli, process, args)
        wait_until(lambda: not [pid for pid in everything if alive(pid)], "the bot's children")
    finally:
        if process.poll() is None:
            process.kill()

    assert result.returncode == -signal.SIGKILL
    assert browser_folders(short_tmp), "a killed run cannot remove its folder: what is left?"
    if when == "password-shown":
        assert technical(PAGE3_SIRET) == (record.tech_login, record.tech_password)
    secrets = [*portal_secrets(portal), *drawn, old[1]]
    leftovers = _files(short_tmp)
    assert not find_secrets(leftovers, secrets), find_secrets(leftovers, secrets)
    cli.assert_no_secret(secrets)

    after = cli("check", "--structure", SIAGEP, TMPDIR=str(short_tmp))

    assert after.returncode == 0, after.output
    assert browser_folders(short_tmp) == [], "the killed run's browser folder is still there"


def test_a_run_leaves_no_browser_folder(cli, portal, real_keyring, short_tmp):
    result = cli("reset", "--structure", PAGE3_SIRET, TMPDIR=str(short_tmp))

    assert result.returncode == 0, result.output
    assert list(short_tmp.iterdir()) == []
