"""The private keyring each pytest-xdist worker starts (tests/private_keyring.py): a real,
unlocked Secret Service on its own bus, that sees nothing of another one, and leaves nothing
running once stopped."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.private_keyring import start_private_keyring
from tests.runs import alive

_GET_SET = """
import sys, keyring
service, value = sys.argv[1], sys.argv[2]
if value:
    keyring.set_password(service, "u", value)
print(keyring.get_password(service, "u"))
"""


def _keyring(env: dict[str, str], service: str, value: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-c", _GET_SET, service, value],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_two_private_keyrings_do_not_see_each_others_entries():
    first, second = start_private_keyring(), start_private_keyring()
    try:
        assert first.env["DBUS_SESSION_BUS_ADDRESS"] != second.env["DBUS_SESSION_BUS_ADDRESS"]
        service = "chorus-bot/technical/isolation-check"

        assert _keyring(first.env, service, "written-in-first") == "written-in-first"
        assert _keyring(second.env, service) == "None"
        assert _keyring(second.env, service, "written-in-second") == "written-in-second"
        assert _keyring(first.env, service) == "written-in-first"
    finally:
        daemons = [first.daemon_pid, second.daemon_pid]
        first.stop()
        second.stop()

    assert all(pid and not alive(pid) for pid in daemons)
    assert not first.folder.exists() and not second.folder.exists()
    assert first.bus.returncode is not None and second.bus.returncode is not None
