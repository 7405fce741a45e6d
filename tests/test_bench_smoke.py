"""The benchmark still runs and still writes a well-formed table. Behaviour only: no timing is
asserted (the numbers belong to docs/benchmarks.md, not to the test suite)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bench.harness import END, START, run_timed, write_results

REPO = Path(__file__).resolve().parent.parent


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_quickest_run_writes_a_table_with_every_measure(tmp_path):
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# Benchmarks\n\nAnalysis kept.\n\n{START}\nold\n{END}\n\nTail kept.\n")
    # One structure, one level: the smallest run that still draws every kind of row, on both
    # skins (modern and jsf2017).
    quickest = ["--quick", "--counts", "1", "--levels", "1", "--assets", "4"]
    quickest += ["--help-runs", "1", "--output", str(output)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *quickest],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,  # a guard against a hung browser, not a timing assertion
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = output.read_text(encoding="utf-8")
    assert "Analysis kept." in text and "Tail kept." in text and "\nold\n" not in text
    block = text.split(START, 1)[1].split(END, 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    assert _cells(lines[0]) == ["Measure", "chorus-bot", "reference", "ratio", "target", "verdict"]
    main = lines[: next(i for i, line in enumerate(lines) if line.startswith("| Structures"))]
    rows = {_cells(line)[0]: _cells(line) for line in main[2:]}
    assert all(len(cells) == 6 for cells in rows.values())
    names = list(rows)
    for expected in (
        "`check`, 1 structure",
        "`status`, 1 structures, no delay, --concurrency 1 vs serial floor",
        "`status`, 1 structures, no delay, --concurrency 1 vs limit at 1",
        "`check`, 1 structure, jsf2017 skin",
        "`status` per structure, 1 structures, no delay, jsf2017, --concurrency 1 vs serial floor",
        "`check` of a structure with no technical user (exit 1) vs one with, modern skin",
        "`check` of a structure with no technical user (exit 1) vs one with, jsf2017 skin",
        "`chorus-bot --help` vs `python -c pass`",
        "Peak RSS of the Python process, `check`",
        "Peak memory, bot + Playwright + Chromium (PSS), `status` over 1, --concurrency 1",
        "Peak memory, serial floor + Chromium (PSS)",
        "Fixed sleeps in bot/ and flows/",
        "CPU time (user + system, whole tree), `check`, modern skin",
        "CPU time (user + system, whole tree), `check`, jsf2017 skin",
    ):
        assert any(name.startswith(expected) for name in names), (expected, names)
    for cells in rows.values():
        if cells[3]:
            float(cells[3])  # every ratio is a number
    for name, cells in rows.items():
        if name.startswith("CPU time"):
            assert float(cells[1].removesuffix(" s")) > 0 and float(cells[2].removesuffix(" s")) > 0
        assert cells[5] in ("", "OK", "MISSED")
    # The status table: one row per configuration, every side and ratio a number.
    matrix = [_cells(line) for line in lines[len(main) :]]
    assert matrix[0][:2] == ["Structures", "Delay"] and "limit 1" in matrix[0]
    assert len(matrix) == 3 and matrix[2][:2] == ["1", "0 ms"]
    for cell in matrix[2][2:-1]:
        float(cell.removesuffix(" s"))
    for key in ("CPU", "Cores", "RAM", "OS", "Python", "Playwright", "Browser", "Date"):
        assert re.search(rf"^- {key}: \S", block, re.MULTILINE), key
    # The table is printed too, for `make bench` on a terminal.
    assert "| Measure |" in done.stdout


def test_results_replace_only_the_marked_block(tmp_path):
    path = tmp_path / "b.md"
    write_results(path, "first")
    assert START in path.read_text() and "first" in path.read_text()
    path.write_text(path.read_text() + "\n## Analysis\nhand-written\n")
    write_results(path, "second")
    text = path.read_text()
    assert "second" in text and "first" not in text and "hand-written" in text


def test_cpu_time_counts_the_grandchildren():
    # Python starts a child that burns the CPU: as the bot's Chromium is the driver's child.
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}])"
    run = run_timed([sys.executable, "-c", parent], dict(os.environ))
    assert run.cpu_seconds >= 0.4
