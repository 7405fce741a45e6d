"""The pieces of `make demo` and `make test` (issue 13, item 4): their output carries what the
command says, not the noise of the daemons they start."""

from __future__ import annotations

import subprocess

from tests.conftest import REPO


def test_with_keyring_keeps_the_commands_stderr_and_exit_code_but_not_the_bus_daemons():
    # Asking for the accessibility bus, as Chromium does, makes the session bus daemon log
    # the activation on its stderr (and, unprivileged in a container, that it cannot raise
    # its fd limit, when it starts).
    inner = (
        "dbus-send --session --print-reply --dest=org.a11y.Bus /org/a11y/bus "
        "org.a11y.Bus.GetAddress >/dev/null 2>&1 || true; "
        "echo 'said on stderr' >&2; echo 'said on stdout'; exit 7"
    )
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "with-keyring.sh"), "bash", "-c", inner],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 7
    assert done.stdout == "said on stdout\n"
    assert done.stderr == "said on stderr\n"
