"""The private keyring each pytest-xdist worker starts (tests/private_keyring.py): a real,
unlocked Secret Service on its own bus, that sees nothing of another one, and leaves nothing
running once stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.private_keyring import restarted_if_dead, start_private_keyring
from tests.runs import alive

_GET_SET = """
import sys, keyring
service, value = sys.argv[1], sys.argv[2]
if value:
    keyring.set_password(service, "u", value)
print(keyring.get_password(service, "u"))
"""


def _keyring(env: dict[str, str], service: str, value: str = "", check: bool = True):
    done = subprocess.run(
        [sys.executable, "-c", _GET_SET, service, value],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )
    return done.stdout.strip() if check else done


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


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


def test_a_dead_keyring_daemon_fails_the_next_call_at_once_and_is_restarted():
    keyring = start_private_keyring()
    revived = None
    try:
        service = "chorus-bot/technical/revival-check"
        assert _keyring(keyring.env, service, "before") == "before"
        assert restarted_if_dead(keyring) is None
        dead = keyring.daemon_pid
        assert dead is not None
        _kill(dead)

        # No second daemon D-Bus-activated in its place, which would make the call wait
        # 120 s and then fail: the bus says at once that nobody holds the name (60 s bound).
        failed = _keyring(keyring.env, service, check=False)
        assert failed.returncode != 0
        assert "neither running nor activatable" in failed.stderr

        revived = restarted_if_dead(keyring)
        assert revived is not None
        assert revived.daemon_pid != dead and revived.daemon_alive()
        assert not keyring.folder.exists() and keyring.bus.returncode is not None
        assert _keyring(revived.env, service) == "None"
        assert _keyring(revived.env, service, "after") == "after"
    finally:
        keyring.stop()
        if revived is not None:
            revived.stop()
