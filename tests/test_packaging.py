"""The wheel holds what `pip install .` / `pipx install .` / `uv tool install .` install:
the `bot` and `flows` packages and the `chorus-bot` console script, and nothing of tests."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_installs_a_working_chorus_bot_command(tmp_path: Path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("chorus_bot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "chorus-bot = bot.cli:main" in archive.read(entry_points).decode()
    assert "bot/cli.py" in names and "flows/pages/structure.py" in names
    assert "bot/locale/fr.po" in names  # the French interface reads it at run time
    assert not any(name.startswith(("tests/", "fixtures/", "bench/")) for name in names)

    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), wheel],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import bot, flows; print(bot.__file__, flows.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(path.startswith(str(target)) for path in where.stdout.split())
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import bot.cli, sys; sys.argv=['chorus-bot','--help']; bot.cli.main()",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "reset" in done.stdout and "check" in done.stdout
    french = subprocess.run(
        [
            sys.executable,
            "-c",
            "import bot.cli, sys; sys.argv=['chorus-bot','--help']; bot.cli.main()",
        ],
        cwd=tmp_path,
        env={**env, "LC_ALL": "fr_FR.UTF-8"},
        capture_output=True,
        text=True,
    )
    assert french.returncode == 0, french.stderr
    assert french.stdout.startswith("Utilisation : chorus-bot")
