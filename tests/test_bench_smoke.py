"""The benchmark still runs and still writes a well-formed table. Behaviour only: no timing is
asserted (the numbers belong to docs/benchmarks.md, not to the test suite)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.harness import END, START, least_squares, write_results

REPO = Path(__file__).resolve().parent.parent


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_quickest_run_writes_a_table_with_every_measure(tmp_path):
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# Benchmarks\n\nAnalysis kept.\n\n{START}\nold\n{END}\n\nTail kept.\n")
    quickest = ["--quick", "--counts", "1,2", "--help-runs", "1", "--output", str(output)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *quickest],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = output.read_text(encoding="utf-8")
    assert "Analysis kept." in text and "Tail kept." in text and "\nold\n" not in text
    block = text.split(START, 1)[1].split(END, 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    assert _cells(lines[0]) == ["Measure", "chorus-bot", "floor", "ratio", "target", "verdict"]
    rows = {_cells(line)[0]: _cells(line) for line in lines[2:]}
    assert all(len(cells) == 6 for cells in rows.values())
    names = list(rows)
    for expected in (
        "`check`, 1 structure",
        "`status`, 1 structure(s)",
        "`status`, 2 structure(s)",
        "`status` marginal cost per structure",
        "`status` linearity",
        "`chorus-bot --help` vs `python -c pass`",
        "Peak RSS of the Python process, `check`",
        "Fixed sleeps in bot/ and flows/",
    ):
        assert any(name.startswith(expected) for name in names), (expected, names)
    for cells in rows.values():
        if cells[3]:
            float(cells[3])  # every ratio is a number
        assert cells[5] in ("", "OK", "MISSED")
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


def test_least_squares_slope_and_r2():
    fit = least_squares([(1, 2.5), (10, 7.0), (50, 27.0), (200, 102.0)])
    assert round(fit.slope, 6) == 0.5 and round(fit.intercept, 6) == 2.0
    assert round(fit.r2, 6) == 1.0
    bent = least_squares([(1, 1.0), (10, 10.0), (50, 100.0), (200, 1000.0)])
    assert bent.r2 < 0.99
