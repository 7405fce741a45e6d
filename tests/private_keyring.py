"""A private D-Bus session bus with a throwaway, unlocked GNOME keyring, for one pytest-xdist
worker.

`make test` runs pytest inside scripts/with-keyring.sh, which gives the whole run ONE keyring.
Parallel workers sharing it would clobber each other's `chorus-bot/...` items (every test that
uses the keyring clears them before and after), so each worker starts its own bus and keyring
here, the same way the script does (see its comments for why each step is needed), and points
its own process, and so every CLI it starts, at them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1

# The session bus of Debian's session.conf, without its service directories: nothing is
# D-Bus-activated. If the keyring daemon dies, a call fails at once (python-keyring: "neither
# running nor activatable") instead of the bus spawning a second daemon, which never came up
# in CI, and making every call wait 120 s for it.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def _die_with_parent() -> None:
    # The bus must not outlive a worker that crashed: the keyring daemon exits with its bus.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class PrivateKeyring:
    folder: Path
    bus: subprocess.Popen
    daemon_pid: int | None
    env: dict[str, str]

    def daemon_alive(self) -> bool:
        return self.daemon_pid is not None and _alive(self.daemon_pid)

    def stop(self) -> None:
        if self.daemon_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.daemon_pid, signal.SIGTERM)
            # Not our child (it forked): wait until it is gone so it cannot write into the
            # folder while it is removed.
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and _alive(self.daemon_pid):
                time.sleep(0.05)
        self.bus.terminate()
        try:
            self.bus.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.bus.kill()
            self.bus.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def start_private_keyring() -> PrivateKeyring:
    """Starts the bus and the keyring; returns them with the variables that lead to them."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found (run scripts/ensure-keyring-deps.sh)")
    folder = Path(tempfile.mkdtemp(prefix="chorus-keyring-"))
    data, run = folder / "data", folder / "run"
    data.mkdir()
    run.mkdir(mode=0o700)
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "GNOME_KEYRING_PID")
    }
    config = folder / "bus.conf"
    config.write_text(_BUS_CONFIG)
    with open(folder / "bus.log", "wb") as log:
        bus = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=base,
            preexec_fn=_die_with_parent,
        )
    assert bus.stdout is not None
    address = bus.stdout.readline().decode().strip()
    bus.stdout.close()
    if not address:
        bus.wait(timeout=5)
        raise RuntimeError(f"dbus-daemon did not start: {(folder / 'bus.log').read_text()}")
    daemon_env = {
        **base,
        "DBUS_SESSION_BUS_ADDRESS": address,
        "XDG_DATA_HOME": str(data),
        "XDG_RUNTIME_DIR": str(run),
    }
    keyring = PrivateKeyring(folder, bus, None, {})
    try:
        # --unlock creates the "login" keyring (the default collection), unlocked, with the
        # password read on stdin; --start then registers it on this bus (scripts/with-keyring.sh).
        subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets"],
            input=secrets.token_hex(16).encode(),
            env=daemon_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            timeout=30,
        )
        started = subprocess.run(
            ["gnome-keyring-daemon", "--start", "--components=secrets"],
            env=daemon_env,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        exported = dict(line.split("=", 1) for line in started.stdout.splitlines() if "=" in line)
        keyring.daemon_pid = _secret_service_pid(address)
        keyring.env = {
            "DBUS_SESSION_BUS_ADDRESS": address,
            "XDG_DATA_HOME": str(data),
            "GNOME_KEYRING_CONTROL": exported.get("GNOME_KEYRING_CONTROL", str(run / "keyring")),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
        }
    except BaseException:
        keyring.stop()
        raise
    return keyring


def restarted_if_dead(keyring: PrivateKeyring) -> PrivateKeyring | None:
    """A new keyring in place of one whose daemon has died (its bus and folder removed), or
    None while the daemon runs. The new one starts empty: what the old one held is lost."""
    if keyring.daemon_alive():
        return None
    keyring.stop()
    return start_private_keyring()


def _secret_service_pid(address: str) -> int:
    """The keyring daemon's PID, from the bus, once its default collection is there unlocked."""
    from jeepney import DBusAddress, Properties, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(address) as connection:
        bus = DBusAddress(
            "/org/freedesktop/DBus",
            bus_name="org.freedesktop.DBus",
            interface="org.freedesktop.DBus",
        )
        reply = connection.send_and_get_reply(
            new_method_call(bus, "GetConnectionUnixProcessID", "s", ("org.freedesktop.secrets",))
        )
        (pid,) = reply.body
        default = DBusAddress(
            "/org/freedesktop/secrets/aliases/default",
            bus_name="org.freedesktop.secrets",
            interface="org.freedesktop.Secret.Collection",
        )
        reply = connection.send_and_get_reply(Properties(default).get("Locked"))
        ((_signature, locked),) = reply.body
        if locked:
            raise RuntimeError("the private keyring's default collection is locked")
    return int(pid)
