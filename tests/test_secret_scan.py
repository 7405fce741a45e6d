"""The secret scan the other tests rely on (issue 11, item 1): it must see a secret in every
encoding and in every place a run can leave one, or their `assert_no_secret` proves nothing."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.mock_portal.state import generate_password
from tests.conftest import SCAN_CHARS, Cli, CliResult, encodings, find_secrets

# Letters around it: an escape only prepended to a first `"` would leave the raw secret whole.
SECRET = f"a{generate_password(required=SCAN_CHARS)}z"


def _places(cli: Cli, text: str) -> dict[str, Callable[[], None]]:
    """Each place the scan must look, as a function leaving `text` there."""
    state = cli.state_dir
    runs = state / "runs" / "20260101-000000-reset-25900096600020"

    def write(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"before {text} after", encoding="utf-8")

    def zipped() -> None:
        runs.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(runs / "trace.zip", "w") as archive:
            archive.writestr("trace.trace", '{"type":"frame-snapshot"}\n')
            archive.writestr("resources/page@1.html", f"<p>{text}</p>")

    return {
        "stdout": lambda: cli.runs.append(CliResult(("reset",), 0, text, "")),
        "stderr": lambda: cli.runs.append(CliResult(("reset",), 1, "", text)),
        "terminal": lambda: cli.terminals.append((("reset",), f"Password : {text}\r\n")),
        "log": lambda: write(state / "chorus-bot.log"),
        "history": lambda: write(state / "history.jsonl"),
        "page.html": lambda: write(runs / "page.html"),
        "failure.json": lambda: write(runs / "failure.json"),
        "trace.zip member": zipped,
    }


def test_the_mock_can_put_escaped_characters_in_every_password():
    drawn = [generate_password(required=SCAN_CHARS) for _ in range(20)]
    assert all(set(SCAN_CHARS) <= set(password) for password in drawn)
    assert len(set(drawn)) == 20  # still random


@pytest.mark.parametrize(
    ("how", "text"), list(encodings(SECRET).items()), ids=list(encodings(SECRET))
)
def test_the_scan_finds_each_encoding(tmp_path, how, text):
    assert (SECRET in text) == (how == "raw")  # the encoding really changed the text
    for place in _places(Cli(home=tmp_path), text):
        cli = Cli(home=tmp_path / place.replace(" ", "-"))
        _places(cli, text)[place]()
        assert find_secrets(cli.artefacts(), [SECRET]), f"{how} not found in {place}"
        with pytest.raises(AssertionError, match="secrets found"):
            cli.assert_no_secret([SECRET])


def test_the_scan_passes_what_holds_no_secret(tmp_path):
    # Every encoding of another password, in every place: nothing to report about SECRET.
    other = generate_password(required=SCAN_CHARS)
    cli = Cli(home=tmp_path)
    for text in encodings(other).values():
        for leave in _places(cli, text).values():
            leave()
    cli.assert_no_secret([SECRET, "Portail-Demo-2026!"])
    assert find_secrets(cli.artefacts(), [other])


def test_the_scan_skips_only_the_rescue_folder(tmp_path):
    cli = Cli(home=tmp_path)
    rescue = cli.state_dir / "rescue" / "25900096600020-x.json"
    rescue.parent.mkdir(parents=True)
    rescue.write_text(f'{{"password": "{SECRET}"}}', encoding="utf-8")
    cli.assert_no_secret([SECRET])
    (cli.state_dir / "rescued-copy.json").write_text(rescue.read_text(), encoding="utf-8")
    with pytest.raises(AssertionError):
        cli.assert_no_secret([SECRET])
