"""chorus-bot against a bare-Playwright floor (bench/floor.py), on the mock portal, side by side.

Both sides run as subprocesses (interpreter start-up counts on both), launch the same browser
executable with the same flags, and visit the same pages; their runs alternate so that load
from other processes falls on both alike. Each figure is a median of several runs.

Measured:
- `chorus-bot check --structure 25900096600020` against the floor's `check`;
- `chorus-bot status` over 1, 10, 50 and 200 structures against the floor's `status`: totals,
  the marginal cost per structure (least-squares slope of time against count) and R²;
- `chorus-bot --help` against `python -c pass`;
- the peak resident memory (VmHWM) of each Python process, sampled from /proc: the Python
  process only, not the Playwright driver nor Chromium.

Results are printed and written to docs/benchmarks.md between the two `bench:results` markers;
the rest of that file (the analysis) is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FLOOR = Path(__file__).with_name("floor.py")
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
CHECK_SIRET = "25900096600020"
MANAGER, MANAGER_PASSWORD = "claire.martin", "Portail-Demo-2026!"
TARGET_RATIO = 1.2
TARGET_HELP_S = 0.3
TARGET_R2 = 0.99
_SIRET_LINE = re.compile(r"^\d{14}\b", re.MULTILINE)
_SLEEPS = re.compile(r"\btime\.sleep\(|\bwait_for_timeout\(|^\s*sleep\(")


@dataclass
class Run:
    seconds: float
    peak_kb: int
    stdout: str


@dataclass
class Series:
    """Runs of one command; medians are what the table shows."""

    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def peak_kb(self) -> int:
        return max(run.peak_kb for run in self.runs)


@dataclass
class Fit:
    slope: float
    intercept: float
    r2: float


def least_squares(points: list[tuple[float, float]]) -> Fit:
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx if sxx else 0.0
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for _, y in points)
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in points)
    return Fit(slope, intercept, 1.0 - residual / total if total else 1.0)


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def run_timed(command: list[str], env: dict[str, str], ok_codes=(0,), timeout=900.0) -> Run:
    """Wall time from spawn to exit, and the process's own peak RSS (VmHWM, a high-water mark,
    so the last sample before exit holds the peak)."""
    peak = [0]
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )

    def sample() -> None:
        while process.poll() is None:
            value = _vm_hwm_kb(process.pid)
            if value:
                peak[0] = max(peak[0], value)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate(timeout=timeout)
    seconds = time.perf_counter() - start
    sampler.join()
    if process.returncode not in ok_codes:
        raise RuntimeError(
            f"{' '.join(command)} exited {process.returncode}:\n{stdout[-2000:]}\n{stderr[-2000:]}"
        )
    return Run(seconds, peak[0], stdout)


# --- the browser, the portal, the environments ---------------------------------------------


def resolve_browser() -> str:
    """The executable the bot would launch, so that both sides launch the very same one."""
    from playwright.sync_api import sync_playwright

    from bot.browser import find_browser

    with sync_playwright() as playwright:
        bundled = playwright.chromium.executable_path
    found = find_browser(os.environ.get("CHORUS_BOT_BROWSER"), bundled)
    return found or bundled


def _seed_with(count: int, folder: Path) -> tuple[Path | None, int]:
    """A seed whose first account has exactly `count` structures: (seed file, extra count)."""
    from fixtures.mock_portal.state import DEFAULT_SEED

    data = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
    structures = data["accounts"][0]["structures"]
    if count >= len(structures):
        return None, count - len(structures)
    data["accounts"][0]["structures"] = structures[:count]
    path = folder / f"seed-{count}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path, 0


@contextmanager
def portal_with(count: int, folder: Path) -> Iterator[str]:
    from fixtures.mock_portal import MockPortal, PortalOptions

    seed, extra = _seed_with(count, folder)
    with MockPortal(PortalOptions(seed=seed, extra_structures=extra)) as portal:
        assert len(portal.state.structures_for(MANAGER)) == count
        yield portal.url


class Sides:
    """The command lines and environments of the bot and of the floor."""

    def __init__(self, browser: str, folder: Path, floor_page_size: str = "default") -> None:
        from bot.browser import CHROMIUM_ARGS

        self.folder = folder
        script = Path(sys.executable).with_name("chorus-bot")
        self.bot = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
        self.floor = [sys.executable, str(FLOOR)]
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHORUS_BOT_", "BENCH_"))}
        clean["PYTHONPATH"] = str(REPO)
        # Bytecode cached as in any normal install, for both sides alike, outside the checkout:
        # with PYTHONDONTWRITEBYTECODE=1 the bot would recompile its ~30 modules at every run.
        clean.pop("PYTHONDONTWRITEBYTECODE", None)
        clean["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        self.base = clean
        self.browser = browser
        self.chromium_args = json.dumps(CHROMIUM_ARGS)
        self.floor_page_size = floor_page_size
        self._runs = 0

    def bot_env(self, url: str) -> dict[str, str]:
        # A fresh state folder per run: no audit log or lock carried from one run to the next.
        self._runs += 1
        state = self.folder / f"state-{self._runs}"
        return {
            **self.base,
            "CHORUS_BOT_USERNAME": MANAGER,
            "CHORUS_BOT_PASSWORD": MANAGER_PASSWORD,
            "CHORUS_BOT_PORTAL_URL": url,
            "CHORUS_BOT_BROWSER": self.browser,
            "CHORUS_BOT_STATE_DIR": str(state),
            "CHORUS_BOT_CONFIG": str(self.folder / "no-config.toml"),
        }

    def floor_env(self, url: str) -> dict[str, str]:
        return {
            **self.base,
            "BENCH_PORTAL_URL": url,
            "BENCH_USERNAME": MANAGER,
            "BENCH_PASSWORD": MANAGER_PASSWORD,
            "BENCH_BROWSER": self.browser,
            "BENCH_ARGS": self.chromium_args,
            "BENCH_PAGE_SIZE": self.floor_page_size,
        }


# --- the measures --------------------------------------------------------------------------


def _expect_read(run: Run, count: int, what: str) -> None:
    if f"read {count}" not in run.stdout:
        raise RuntimeError(f"{what}: the floor did not read {count} structure(s):\n{run.stdout}")


def measure_check(
    sides: Sides, runs: int, folder: Path, warm_up: bool = True
) -> tuple[Series, Series]:
    bot, floor = Series(), Series()
    with portal_with(14, folder) as url:
        if warm_up:  # not counted: bytecode and disk caches, as where the bot runs daily
            run_timed([*sides.bot, "check", "--structure", CHECK_SIRET], sides.bot_env(url))
            run_timed([*sides.floor, "check", CHECK_SIRET], sides.floor_env(url))
        for _ in range(runs):
            run = run_timed([*sides.bot, "check", "--structure", CHECK_SIRET], sides.bot_env(url))
            if CHECK_SIRET not in run.stdout:
                raise RuntimeError(f"check printed no status:\n{run.stdout}")
            bot.runs.append(run)
            run = run_timed([*sides.floor, "check", CHECK_SIRET], sides.floor_env(url))
            _expect_read(run, 1, "check")
            floor.runs.append(run)
    return bot, floor


def measure_status(
    sides: Sides, counts: list[int], runs: int, folder: Path
) -> dict[int, tuple[Series, Series]]:
    results: dict[int, tuple[Series, Series]] = {}
    for count in counts:
        bot, floor = Series(), Series()
        with portal_with(count, folder) as url:
            for _ in range(runs):
                # 3 and 4: a structure expiring soon or expired is a result, not a failure.
                run = run_timed([*sides.bot, "status"], sides.bot_env(url), ok_codes=(0, 3, 4))
                listed = len(_SIRET_LINE.findall(run.stdout))
                if listed != count:
                    raise RuntimeError(f"status listed {listed} of {count}:\n{run.stdout}")
                bot.runs.append(run)
                run = run_timed([*sides.floor, "status"], sides.floor_env(url))
                _expect_read(run, count, f"status over {count}")
                floor.runs.append(run)
        results[count] = (bot, floor)
    return results


def measure_help(sides: Sides, runs: int) -> tuple[Series, Series]:
    bot, bare = Series(), Series()
    run_timed([*sides.bot, "--help"], sides.base)  # warm-up: fills the bytecode cache
    for _ in range(runs):
        bot.runs.append(run_timed([*sides.bot, "--help"], sides.base))
        bare.runs.append(run_timed([sys.executable, "-c", "pass"], sides.base))
    return bot, bare


def fixed_sleeps() -> list[str]:
    found = []
    for folder in ("bot", "flows"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if _SLEEPS.search(code):
                    found.append(f"{path.relative_to(REPO)}:{number}")
    return found


# --- the machine ---------------------------------------------------------------------------


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return "unknown"


def machine(browser: str) -> dict[str, str]:
    mem_kb = _first("/proc/meminfo", "MemTotal").split()[0]
    try:
        chromium = subprocess.run(
            [browser, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except OSError:
        chromium = "unknown"
    return {
        "CPU": _first("/proc/cpuinfo", "model name"),
        "Cores": str(os.cpu_count()),
        "RAM": f"{int(mem_kb) / 1024 / 1024:.1f} GiB" if mem_kb.isdigit() else "unknown",
        "OS": f"{_first('/etc/os-release', 'PRETTY_NAME=').strip(chr(34))}, "
        f"Linux {platform.release()}",
        "Python": platform.python_version(),
        "Playwright": metadata.version("playwright"),
        "Browser": f"{chromium} ({browser})",
    }


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- the table -----------------------------------------------------------------------------


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def _verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


@dataclass
class Report:
    rows: list[tuple[str, str, str, str, str, str]]
    verdicts: dict[str, bool]


def build_report(
    check: tuple[Series, Series],
    status: dict[int, tuple[Series, Series]],
    help_: tuple[Series, Series],
    sleeps: list[str],
    runs: dict[str, int],
) -> Report:
    rows: list[tuple[str, str, str, str, str, str]] = []
    verdicts: dict[str, bool] = {}
    bot, floor = check
    ratio = bot.seconds / floor.seconds
    verdicts["check"] = ratio <= TARGET_RATIO
    rows.append(
        (
            f"`check`, 1 structure (median of {runs['check']})",
            _s(bot.seconds),
            _s(floor.seconds),
            f"{ratio:.2f}",
            f"≤ {TARGET_RATIO}",
            _verdict(verdicts["check"]),
        )
    )
    counts = sorted(status)
    for count in counts:
        bot, floor = status[count]
        rows.append(
            (
                f"`status`, {count} structure(s) (median of {runs['status']})",
                _s(bot.seconds),
                _s(floor.seconds),
                f"{bot.seconds / floor.seconds:.2f}",
                "",
                "",
            )
        )
    if len(counts) >= 2:
        fits = [least_squares([(c, status[c][side].seconds) for c in counts]) for side in (0, 1)]
        ratio = fits[0].slope / fits[1].slope if fits[1].slope > 0 else float("inf")
        verdicts["status slope"] = ratio <= TARGET_RATIO
        rows.append(
            (
                "`status` marginal cost per structure (least-squares slope)",
                _ms(fits[0].slope),
                _ms(fits[1].slope),
                f"{ratio:.2f}",
                f"≤ {TARGET_RATIO}",
                _verdict(verdicts["status slope"]),
            )
        )
        verdicts["status linear"] = fits[0].r2 >= TARGET_R2
        rows.append(
            (
                "`status` linearity: R² of that fit",
                f"{fits[0].r2:.4f}",
                f"{fits[1].r2:.4f}",
                "",
                f"≥ {TARGET_R2}",
                _verdict(verdicts["status linear"]),
            )
        )
        low, high = counts[0], counts[-1]
        middle = counts[-2] if len(counts) >= 3 else high
        cells = []
        for side in (0, 1):
            at = {c: status[c][side].seconds for c in counts}
            per_middle = (at[middle] - at[low]) / (middle - low)
            per_high = (at[high] - at[low]) / (high - low)
            cells.append(f"{_ms(per_middle)} / {_ms(per_high)}")
        rows.append(
            (
                f"`status` cost per structure, {low}→{middle} / {low}→{high}",
                cells[0],
                cells[1],
                "",
                "",
                "",
            )
        )
    bot, bare = help_
    verdicts["--help"] = bot.seconds <= TARGET_HELP_S
    rows.append(
        (
            f"`chorus-bot --help` vs `python -c pass` (median of {runs['help']})",
            _s(bot.seconds),
            _s(bare.seconds),
            f"{bot.seconds / bare.seconds:.1f}",
            f"≤ {TARGET_HELP_S} s",
            _verdict(verdicts["--help"]),
        )
    )
    rows.append(
        (
            "Peak RSS of the Python process, `check`",
            _mb(check[0].peak_kb),
            _mb(check[1].peak_kb),
            f"{check[0].peak_kb / check[1].peak_kb:.2f}",
            "",
            "",
        )
    )
    if counts:
        bot, floor = status[counts[-1]]
        rows.append(
            (
                f"Peak RSS of the Python process, `status` over {counts[-1]}",
                _mb(bot.peak_kb),
                _mb(floor.peak_kb),
                f"{bot.peak_kb / floor.peak_kb:.2f}",
                "",
                "",
            )
        )
    verdicts["no fixed sleeps"] = not sleeps
    rows.append(
        (
            "Fixed sleeps in bot/ and flows/",
            ", ".join(sleeps) or "none",
            "",
            "",
            "none",
            _verdict(not sleeps),
        )
    )
    return Report(rows, verdicts)


def render(report: Report, info: dict[str, str], notes: list[str]) -> str:
    header = ("Measure", "chorus-bot", "floor", "ratio", "target", "verdict")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in report.rows]
    lines.append("")
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += [f"- {note}" for note in notes]
    return "\n".join(lines)


_SKELETON = """# Benchmarks

`make bench` (or `.venv/bin/python -m bench`) measures chorus-bot against a bare-Playwright
floor (`bench/floor.py`) on the mock portal, on loopback. See `bench/harness.py` for the method.

{start}
{end}
"""


def write_results(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if START not in text or END not in text:
        text = _SKELETON.format(start=START, end=END)
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{before}{START}\n{block}\n{END}{after}", encoding="utf-8")


# --- entry point ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 run each, counts 1 and 3")
    parser.add_argument("--check-runs", type=int, help="runs of check per side (default 5)")
    parser.add_argument("--status-runs", type=int, help="runs of status per count (default 3)")
    parser.add_argument("--help-runs", type=int, help="runs of --help (default 10)")
    parser.add_argument(
        "--counts", help="structure counts for status, comma-separated (default 1,10,50,200)"
    )
    parser.add_argument(
        "--floor-page-size",
        choices=("max", "default"),
        default="default",
        help="the floor's `lignes par page`: the portal's default (what the bot keeps) or max",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="markdown file")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    quick = args.quick
    args.check_runs = args.check_runs or (1 if quick else 5)
    args.status_runs = args.status_runs or (1 if quick else 3)
    args.help_runs = args.help_runs or (3 if quick else 10)
    raw = args.counts or ("1,3" if quick else "1,10,50,200")
    args.counts = sorted({int(value) for value in raw.split(",") if value.strip()})
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = load_average()
    started = datetime.now().astimezone()
    browser = resolve_browser()
    folder = Path(tempfile.mkdtemp(prefix="chorus-bench-"))
    try:
        sides = Sides(browser, folder, args.floor_page_size)
        print(f"bench: browser {browser}; load average {load_before}", file=sys.stderr)
        help_ = measure_help(sides, args.help_runs)
        print("bench: --help done", file=sys.stderr)
        check = measure_check(sides, args.check_runs, folder, warm_up=not args.quick)
        print("bench: check done", file=sys.stderr)
        status = measure_status(sides, args.counts, args.status_runs, folder)
        print("bench: status done", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    runs = {"check": args.check_runs, "status": args.status_runs, "help": args.help_runs}
    report = build_report(check, status, help_, fixed_sleeps(), runs)
    info = machine(browser)
    notes = [
        f"Date: {started:%Y-%m-%d %H:%M %Z}" + (" (quick mode)" if args.quick else ""),
        f"Load average (1, 5, 15 min) before: {load_before}; after: {load_average()} "
        f"(on {os.cpu_count()} cores; other work on the machine adds noise to both sides)",
        "Memory: VmHWM of the Python process from /proc, sampled every 10 ms; not the "
        "Playwright driver (node) nor Chromium",
        "Both sides run with a bytecode cache (PYTHONPYCACHEPREFIX in the bench's temporary "
        "folder, PYTHONDONTWRITEBYTECODE unset), after one uncounted warm-up run each"
        + (" (no warm-up in quick mode)" if args.quick else ""),
    ]
    block = render(report, info, notes)
    print(block)
    if not args.no_write:
        write_results(args.output, block)
        print(f"bench: written to {args.output}", file=sys.stderr)
    return 0
