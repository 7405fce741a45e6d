"""Shared fixtures: the real mock portal, the real browser, the CLI as a subprocess, and a
scan of every output and artefact for the secrets a run knows."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.browser import CHROMIUM_ARGS, find_browser
from fixtures.mock_portal import MockPortal, PortalOptions
from tests.mailserver import mail_server, make_mail_server  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parent.parent
MANAGER = "claire.martin"
MANAGER_PASSWORD = "Portail-Demo-2026!"
SIAGEP = "25900096600020"  # first page of `Mes structures`
PAGE3_SIRET = "93319084500067"  # 12th row: page 3 with 5 rows a page; expires in 20 days


def _browser_executable() -> str | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        return find_browser(os.environ.get("CHORUS_BOT_BROWSER"), p.chromium.executable_path)


BROWSER = _browser_executable()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's browser: the same one, with the same flags, as the bot uses."""
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS, "headless": True}
    if BROWSER:
        args["executable_path"] = BROWSER
    return args


@pytest.fixture
def make_portal() -> Iterator:
    started: list[MockPortal] = []

    def start(**options) -> MockPortal:
        portal = MockPortal(PortalOptions(**options)).start()
        started.append(portal)
        return portal

    yield start
    for portal in started:
        portal.stop()


@pytest.fixture
def portal(make_portal) -> MockPortal:
    return make_portal()


_PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "all_proxy")


@dataclass
class CliResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def last_error_line(self) -> str:
        lines = [line for line in self.stderr.splitlines() if line.startswith("chorus-bot:")]
        return lines[0] if lines else ""


@dataclass
class Cli:
    """`chorus-bot` in a subprocess, with its own state and config folders."""

    home: Path
    portal_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    runs: list[CliResult] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def config_file(self) -> Path:
        return self.home / "config.toml"

    def base_env(self) -> dict[str, str]:
        # A proxy of the machine's would now carry the mock's traffic: tests name their own.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CHORUS_BOT_") and k.lower() not in _PROXY_VARIABLES
        }
        env.update(
            CHORUS_BOT_STATE_DIR=str(self.state_dir),
            CHORUS_BOT_CONFIG=str(self.config_file),
            CHORUS_BOT_USERNAME=MANAGER,
            CHORUS_BOT_PASSWORD=MANAGER_PASSWORD,
            PYTHONPATH=str(REPO),
            # English unless a test asks for French: the tests read the English texts.
            LC_ALL="C.UTF-8",
        )
        if BROWSER:
            env["CHORUS_BOT_BROWSER"] = BROWSER
        if self.portal_url:
            env["CHORUS_BOT_PORTAL_URL"] = self.portal_url
        env.update(self.env)
        return {k: v for k, v in env.items() if v is not None}

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120, **env: str | None
    ) -> CliResult:
        full_env = self.base_env()
        for key, value in env.items():
            if value is None:
                full_env.pop(key, None)
            else:
                full_env[key] = value
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=self.home,
        )
        result = CliResult(tuple(args), done.returncode, done.stdout, done.stderr)
        self.runs.append(result)
        return result

    def on_terminal(
        self, *args: str, answers: dict[str, str | Callable[[], str]] | None = None, **env: str
    ) -> tuple[int, str]:
        """`chorus-bot` on a pseudo-terminal, as a person runs it: (exit code, all it showed).

        Each answer is typed once its prompt has shown; a callable answer is computed then.
        """
        pending = dict(answers or {})
        master, slave = pty.openpty()
        child = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**self.base_env(), **env},
            cwd=self.home,
            close_fds=True,
        )
        os.close(slave)
        seen = ""
        # Only so that a broken prompt fails the test instead of hanging it.
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 1)
                if not ready:
                    if child.poll() is not None:
                        break
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                seen += data.decode("utf-8", "replace")
                for prompt in [p for p in pending if p in seen]:
                    answer = pending.pop(prompt)
                    os.write(master, (answer() if callable(answer) else answer).encode())
            returncode = child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            os.close(master)
        return returncode, seen

    def artefacts(self) -> list[tuple[str, str]]:
        """(name, text) of every output and every file the runs left, traces unzipped."""
        found = [(f"stdout of {r.args}", r.stdout) for r in self.runs]
        found += [(f"stderr of {r.args}", r.stderr) for r in self.runs]
        if self.state_dir.exists():
            for path in sorted(self.state_dir.rglob("*")):
                if not path.is_file() or path.parent.name == "rescue":
                    continue
                if path.suffix == ".zip":
                    with zipfile.ZipFile(path) as archive:
                        for member in archive.namelist():
                            data = archive.read(member)
                            found.append((f"{path}:{member}", data.decode("latin-1")))
                else:
                    found.append((str(path), path.read_bytes().decode("latin-1")))
        return found

    def assert_no_secret(self, secrets: list[str]) -> None:
        """No secret, in any form a file may hold it (raw, UTF-8 bytes read as latin-1)."""
        forms = set()
        for secret in secrets:
            if secret:
                forms.add(secret)
                forms.add(secret.encode("utf-8").decode("latin-1"))
        hits = [
            (name, secret) for name, text in self.artefacts() for secret in forms if secret in text
        ]
        assert not hits, f"secrets found in: {[name for name, _ in hits]}"


@pytest.fixture
def cli(tmp_path: Path, portal: MockPortal) -> Cli:
    return Cli(home=tmp_path, portal_url=portal.url)


def portal_secrets(portal: MockPortal) -> list[str]:
    """Every password the portal knows now: the manager's and each technical user's."""
    secrets = [MANAGER_PASSWORD]
    secrets += [record.tech_password for record in portal.state.all_structures]
    return secrets


@pytest.fixture
def real_keyring() -> Iterator[None]:
    """The real Secret Service, in the private D-Bus session that `make test` starts.

    Entries the tests write are removed before and after, so tests do not see each other.
    """
    import keyring

    backend = keyring.get_keyring()
    if "SecretService" not in type(backend).__module__:
        pytest.fail(
            f"the keyring backend is {type(backend).__module__}; run the tests through "
            "`make test` (scripts/with-keyring.sh) so that they use the real Secret Service"
        )
    _clear_chorus_entries()
    yield
    _clear_chorus_entries()


def _clear_chorus_entries() -> None:
    import secretstorage

    connection = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(connection)
    for item in collection.get_all_items():
        if item.get_attributes().get("service", "").startswith("chorus-bot/"):
            item.delete()
    connection.close()
