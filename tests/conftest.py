"""Shared fixtures: the real mock portal, the real browser, the CLI as a subprocess, and a
scan of every output and artefact for the secrets a run knows."""

from __future__ import annotations

import base64
import html
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest

from bot.browser import CHROMIUM_ARGS, find_browser
from fixtures.mock_portal import MockPortal, PortalOptions
from tests.mailserver import mail_server, make_mail_server  # noqa: F401  (fixtures)
from tests.private_keyring import PrivateKeyring, restarted_if_dead, start_private_keyring

REPO = Path(__file__).resolve().parent.parent
MANAGER = "claire.martin"
MANAGER_PASSWORD = "Portail-Demo-2026!"
SIAGEP = "25900096600020"  # first page of `Mes structures`
PAGE3_SIRET = "93319084500067"  # 12th row: page 3 with 5 rows a page; expires in 20 days
# Every technical password the tests' mock draws holds these: each is escaped by HTML, URLs or
# JSON, so a copy of a secret in any of those encodings is always there to be found.
SCAN_CHARS = "&<>\"'"
# How long a CLI run may take before the test calls it hung: a guard, not a timed assertion.
# Generous, since parallel workers on a loaded 2-core machine made a 14-structure
# `reset --all` take over 120 s.
HANG_GUARD = 600.0


def _browser_executable() -> str | None:
    # Found once per run: pytest-xdist workers inherit the answer instead of each starting
    # Playwright's driver (about a second of CPU) to ask for its Chromium's path.
    known = os.environ.get("CHORUS_TESTS_BROWSER")
    if known is not None:
        return known or None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        found = find_browser(os.environ.get("CHORUS_BOT_BROWSER"), p.chromium.executable_path)
    os.environ["CHORUS_TESTS_BROWSER"] = found or ""
    return found


BROWSER = _browser_executable()


_PRIVATE_KEYRING = pytest.StashKey[PrivateKeyring]()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`-n N`), each worker gets its own D-Bus session and keyring: in one
    shared keyring the workers would delete and overwrite each other's entries."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    private = start_private_keyring()
    os.environ.update(private.env)
    config.stash[_PRIVATE_KEYRING] = private


def pytest_unconfigure(config: pytest.Config) -> None:
    private = config.stash.get(_PRIVATE_KEYRING, None)
    if private is not None:
        private.stop()


@pytest.fixture(autouse=True)
def _worker_keyring_alive(request: pytest.FixtureRequest) -> None:
    """Starts the worker's keyring again if its daemon has died since the last test.

    gnome-keyring-daemon (42.1, Debian 12) died once in a CI run: every later test of that
    worker then failed for want of a keyring. It can be made to die by SIGKILLing one client
    in the middle of a call while other clients talk to it (four processes at once, one in
    two killed: dead within a minute; killed one at a time, or all left to finish: never), as
    the tests that kill the bot at every step may do. The test that was running when it died
    keeps its own result; the restart is reported in the warnings summary, never silent.
    """
    private = request.config.stash.get(_PRIVATE_KEYRING, None)
    revived = restarted_if_dead(private) if private is not None else None
    if revived is None:
        return
    os.environ.update(revived.env)
    request.config.stash[_PRIVATE_KEYRING] = revived
    warnings.warn(
        f"the keyring daemon of worker {os.environ.get('PYTEST_XDIST_WORKER')} had died "
        f"(pid {private.daemon_pid}); restarted before {request.node.nodeid}",
        stacklevel=1,
    )


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
        options.setdefault("password_chars", SCAN_CHARS)
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
    terminals: list[tuple[tuple[str, ...], str]] = field(default_factory=list)

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
        self, *args: str, input: str | None = None, timeout: float = HANG_GUARD, **env: str | None
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
        deadline = time.monotonic() + HANG_GUARD
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
        self.terminals.append((tuple(args), seen))
        return returncode, seen

    def artefacts(self) -> list[tuple[str, str]]:
        """(name, text) of every output and every file the runs left, traces unzipped.

        The rescue folder is left out: it is the one place a password is meant to be.
        """
        found = [(f"stdout of {r.args}", r.stdout) for r in self.runs]
        found += [(f"stderr of {r.args}", r.stderr) for r in self.runs]
        found += [(f"terminal of {args}", seen) for args, seen in self.terminals]
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
        """No secret, in any encoding (see `find_secrets`), in any output or file of the runs."""
        hits = find_secrets(self.artefacts(), secrets)
        assert not hits, f"secrets found in: {hits}"


# --- the secret scan -----------------------------------------------------------------------

_JSON_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_unescape(text: str) -> str:
    """JSON string escapes (`\\u0026`, `\\"`, `\\/`) undone anywhere in a text."""

    def one(match: re.Match) -> str:
        code = match.group(1)
        if code.startswith("u"):
            return chr(int(code[1:], 16))
        return _JSON_ESCAPES.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|[\"\\/bfnrt])", one, text)


# How a copy of a secret may be encoded in a text: each view undoes one encoding; two in a row
# cover e.g. HTML escaped inside JSON (a trace's DOM snapshot) or a URL inside an attribute.
_DECODERS = {
    "HTML entities": html.unescape,
    "URL-encoded": unquote,
    "form-encoded": unquote_plus,
    "JSON-escaped": _json_unescape,
}


def _views(text: str) -> dict[str, str]:
    views = {"raw": text}
    for name, decode in _DECODERS.items():
        first = decode(text)
        if first != text:
            views.setdefault(name, first)
            for name2, decode2 in _DECODERS.items():
                second = decode2(first)
                if second != first:
                    views.setdefault(f"{name2} in {name}", second)
    return views


def base64_forms(secret: str) -> set[str]:
    """The part of a secret's base64 that does not depend on what surrounds it, at each of
    the three alignments a secret can have in a longer encoded text; standard and URL-safe."""
    data = secret.encode("utf-8")
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii").rstrip("=")
        # The first quad mixes the bytes before the secret; the last one, those after it.
        start = 4 if offset else 0
        end = len(encoded) - (4 if (offset + len(data)) % 3 else 0)
        stable = encoded[start:end]
        if len(stable) >= 8:
            forms.add(stable)
            forms.add(stable.replace("+", "-").replace("/", "_"))
    return forms


def find_secrets(artefacts: list[tuple[str, str]], secrets: list[str]) -> list[str]:
    """Where any secret is, and how: raw (also as UTF-8 bytes read as latin-1), HTML-escaped
    (named, decimal or hex entities), URL- or form-encoded, JSON-escaped, or base64."""
    wanted = {secret for secret in secrets if secret}
    mojibake = {secret.encode("utf-8").decode("latin-1") for secret in wanted}
    encoded = {form: secret for secret in wanted for form in base64_forms(secret)}
    hits = []
    for name, text in artefacts:
        for view, decoded in _views(text).items():
            if any(secret in decoded for secret in wanted | mojibake):
                hits.append(f"{name} ({view})")
        if any(form in text for form in encoded):
            hits.append(f"{name} (base64)")
    return hits


def encodings(secret: str) -> dict[str, str]:
    """A secret written in each encoding the scan must see through (for the scan's own test)."""
    data = secret.encode("utf-8")
    return {
        "raw": secret,
        "HTML, named entities": html.escape(secret, quote=True),
        "HTML, decimal entities": "".join(f"&#{ord(c)};" for c in secret),
        "HTML, hex entities": "".join(f"&#x{ord(c):x};" for c in secret),
        "URL-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "JSON-escaped": json.dumps(secret)[1:-1],
        "JSON, \\u escapes": "".join(f"\\u{ord(c):04x}" for c in secret),
        "HTML inside JSON": json.dumps(html.escape(secret))[1:-1],
        "base64": base64.b64encode(data).decode(),
        "base64, shifted by one": base64.b64encode(b"x" + data).decode(),
        "base64, shifted by two": base64.b64encode(b"xy" + data).decode(),
        "base64, URL-safe": base64.urlsafe_b64encode(b"x" + data).decode(),
    }


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR for the CLI, private to the test. Short: Chromium's socket path inside it must
    fit in 108 bytes, which a pytest tmp_path does not leave room for."""
    path = Path(tempfile.mkdtemp(prefix="cb-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def browser_folders(tmpdir: Path) -> list[Path]:
    """The browser folders (profile, temporary files) that runs left in their TMPDIR."""
    return sorted(tmpdir.glob("chorus-bot-*"))


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
