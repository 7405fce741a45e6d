"""Checks shared by the failure, safety and input tests: the error line, the run folder,
the keyring entries, the audit trail and the browser processes a run leaves behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keyring

from fixtures.mock_portal import MockPortal
from tests.conftest import HANG_GUARD, Cli, CliResult


def error_line(result: CliResult) -> str:
    """The one error line: exactly one, and nothing else on stderr says `error`."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("chorus-bot: error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return lines[0]


def run_folder(result: CliResult) -> Path:
    """The run folder the CLI printed; it must exist."""
    found = re.findall(r"^chorus-bot: diagnosis saved in (.+)$", result.stderr, re.MULTILINE)
    assert len(found) == 1, result.stderr
    path = Path(found[0])
    assert path.is_dir(), path
    assert (path.stat().st_mode & 0o777) == 0o700
    return path


def assert_diagnosis(
    result: CliResult,
    *,
    step: str,
    trace: bool,
    page: bool = True,
    url_prefix: str = "http://127.0.0.1",
) -> dict:
    """failure.json names the step and URL; screenshot, page and (after login) trace exist."""
    folder = run_folder(result)
    failure = json.loads((folder / "failure.json").read_text(encoding="utf-8"))
    assert failure["step"] == step, failure
    # One line, and the same line the user saw.
    assert "\n" not in failure["error"]
    assert f"chorus-bot: error: {failure['error']}" == error_line(result)
    assert failure["url"].startswith(url_prefix), failure
    names = {path.name for path in folder.iterdir()}
    if page:
        assert {"screenshot.png", "page.html"} <= names, names
        html = (folder / "page.html").read_text(encoding="utf-8")
        assert not re.search(r"<input\b[^>]*\svalue\s*=", html, re.IGNORECASE)
    assert ("trace.zip" in names) == trace, names
    return failure


def no_run_folder(state_dir: Path) -> bool:
    runs = state_dir / "runs"
    return not runs.exists() or not any(runs.iterdir())


def technical(siret: str) -> tuple[str, str] | None:
    credential = keyring.get_credential(f"chorus-bot/technical/{siret}", None)
    return (credential.username, credential.password) if credential else None


def previous(siret: str) -> tuple[str, str] | None:
    credential = keyring.get_credential(f"chorus-bot/technical/{siret}/previous", None)
    return (credential.username, credential.password) if credential else None


def store_technical(siret: str, login: str, password: str) -> None:
    """What a previous run (or the admin) left in the keyring: the connector's password."""
    keyring.set_password(f"chorus-bot/technical/{siret}", login, password)


def history(state_dir: Path) -> list[dict]:
    path = state_dir / "history.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def start_cli(cli: Cli, *args: str, **env: str) -> subprocess.Popen:
    """`chorus-bot` started, not waited for: a test acts on it while it runs."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**cli.base_env(), **env},
        cwd=cli.home,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def finish_cli(cli: Cli, process: subprocess.Popen, args: tuple[str, ...]) -> CliResult:
    stdout, stderr = process.communicate(timeout=HANG_GUARD)
    result = CliResult(args, process.returncode, stdout, stderr)
    cli.runs.append(result)
    return result


def record_drawn(portal: MockPortal) -> list[str]:
    """Every password the portal draws from now on, lost ones included, for the secret scan."""
    drawn: list[str] = []
    original = portal.state.apply_password  # every reset goes through it, whatever the path

    def apply_password(rec, password: str, move_expiry: bool = True) -> str:
        drawn.append(password)
        return original(rec, password, move_expiry)

    portal.state.apply_password = apply_password
    return drawn


def wait_until(condition: Callable[[], bool], what: str, deadline_s: float = 60) -> None:
    """Polls a condition the test itself cannot be notified of (another process's progress)."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc (no psutil in the environment)."""
    found: set[int] = set()
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def browser_processes(pid: int) -> set[int]:
    return {child for child in descendants(pid) if "chrom" in command_line(child).lower()}


def kill(pids: set[int]) -> None:
    for child in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, 9)
