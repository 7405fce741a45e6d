"""chorus-bot against bare-Playwright references on the mock portal, side by side.

Every side runs as a subprocess (interpreter start-up counts on all), launches the same browser
executable and visits the same portal; their runs alternate so that load from other processes
falls on all alike. Each figure is a median of the runs.

Measured:
- `chorus-bot check --structure 25900096600020` against the floor's `check` (bench/floor.py);
- `chorus-bot status` over 50 and 200 structures, with no delay and with 150 ms per response
  and assets of a realistic weight (the mock's `delay_ms` and `assets`), at --concurrency 1 and
  at the default, against the serial floor (bare Playwright that opens each structure and goes
  back, as the bot did before issue 12) and against the limit (bench/limit.py: bare Playwright
  reading the same structures by direct navigation, at the same concurrency);
- on the `jsf2017` skin too (issue 9: nested layout tables, `role=grid`, icon-only POST-back
  buttons, role-less paginator spans): `check` against the floor's `check`, and `status` at the
  default concurrency against the serial floor, per structure (bench/floor.py knows that
  skin's markup: a baseline, not the bot);
- a structure with no technical user: `check` on it (exit 1, one line) against `check` on a
  structure of the same account that has one, on each skin: about one page, not a timeout;
- `chorus-bot --help` against `python -c pass`;
- memory: the peak resident memory (VmHWM) of the Python process, and the peak of the sum of
  the PSS of the whole process tree (Python, the Playwright driver, Chromium), sampled.

Results are printed and written to docs/benchmarks.md between the two `bench:results` markers;
the rest of that file (the analysis) is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
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
LIMIT = Path(__file__).with_name("limit.py")
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
CHECK_SIRET = "25900096600020"
MANAGER, MANAGER_PASSWORD = "claire.martin", "Portail-Demo-2026!"
# The seed's second account: one structure with a technical user, two without.
OTHER_MANAGER, OTHER_PASSWORD = "paul.durand", "Autre-Compte-2026!"
WITH_TECH_SIRET, NO_TECH_SIRET = "60161055300088", "31852476600157"
SKINS = ("modern", "jsf2017")
TARGET_RATIO = 1.2
TARGET_HELP_S = 0.3
# Issue 12, at 200 structures, at the default concurrency: against the serial floor with and
# without the 150 ms delay, and against the limit at the same concurrency.
TARGET_FLOOR_DELAY = 0.35
TARGET_FLOOR_NO_DELAY = 0.6
TARGET_LIMIT = 1.2
DEFAULT_LEVEL = 2  # bot.config's default concurrency
_SIRET_LINE = re.compile(r"^\d{14}\b", re.MULTILINE)
_SLEEPS = re.compile(r"\btime\.sleep\(|\bwait_for_timeout\(|^\s*sleep\(")


@dataclass
class Run:
    seconds: float
    peak_kb: int  # VmHWM of the process itself
    stdout: str
    tree_kb: int = 0  # peak of the memory (PSS) of the process and all its descendants
    stderr: str = ""
    cpu_seconds: float = 0.0  # user + system, the process and every descendant it reaped


@dataclass
class Series:
    """Runs of one command; medians are what the table shows."""

    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(run.cpu_seconds for run in self.runs)

    @property
    def peak_kb(self) -> int:
        return max(run.peak_kb for run in self.runs)

    @property
    def tree_kb(self) -> int:
        return max(run.tree_kb for run in self.runs)


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _memory_kb(pid: int) -> int:
    """Proportional set size (PSS): each page shared by n processes counts 1/n in each, so the
    sum over a tree is what the tree really holds. RSS where /proc has no smaps_rollup."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        return pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return 0


def _tree_kb(root: int) -> int:
    """Memory of `root` and all its descendants (Playwright's driver, Chromium, its children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _memory_kb(pid)
        todo += children.get(pid, [])
    return total


def run_timed(
    command: list[str], env: dict[str, str], ok_codes=(0,), timeout=3600.0, tree: bool = False
) -> Run:
    """Wall time from spawn to exit, the process's own peak RSS (VmHWM, a high-water mark, so
    the last sample before exit holds the peak), and with `tree` the peak memory (PSS) of its
    whole tree, sampled every 100 ms."""
    peak = [0]
    tree_peak = [0]
    # One command at a time: what the children used meanwhile is this command's tree (Python,
    # Playwright's driver, Chromium: each reaped by its parent before it exits).
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
        ticks = 0
        while process.poll() is None:
            value = _vm_hwm_kb(process.pid)
            if value:
                peak[0] = max(peak[0], value)
            if tree and ticks % 10 == 0:
                tree_peak[0] = max(tree_peak[0], _tree_kb(process.pid))
            ticks += 1
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate(timeout=timeout)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.join()
    if process.returncode not in ok_codes:
        raise RuntimeError(
            f"{' '.join(command)} exited {process.returncode}:\n{stdout[-2000:]}\n{stderr[-2000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, peak[0], stdout, tree_peak[0], stderr, cpu)


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
def portal_with(
    count: int, folder: Path, delay_ms: int = 0, assets: int = 0, skin: str = "modern"
) -> Iterator[str]:
    from fixtures.mock_portal import MockPortal, PortalOptions

    seed, extra = _seed_with(count, folder)
    options = PortalOptions(
        seed=seed, extra_structures=extra, delay_ms=delay_ms, assets=assets, skin=skin
    )
    with MockPortal(options) as portal:
        assert len(portal.state.structures_for(MANAGER)) == count
        yield portal.url


class Sides:
    """The command lines and environments of the bot and of the floor."""

    def __init__(self, browser: str, folder: Path, floor_page_size: str = "default") -> None:
        from bot.browser import CHROMIUM_ARGS, LEAN_ARGS

        self.folder = folder
        script = Path(sys.executable).with_name("chorus-bot")
        self.bot = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
        self.floor = [sys.executable, str(FLOOR)]
        self.limit = [sys.executable, str(LIMIT)]
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHORUS_BOT_", "BENCH_"))}
        clean["PYTHONPATH"] = str(REPO)
        # Bytecode cached as in any normal install, for both sides alike, outside the checkout:
        # with PYTHONDONTWRITEBYTECODE=1 the bot would recompile its ~30 modules at every run.
        clean.pop("PYTHONDONTWRITEBYTECODE", None)
        clean["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        self.base = clean
        self.browser = browser
        self.chromium_args = json.dumps(CHROMIUM_ARGS)
        # The limit skips images and fonts as the bot does: only the bot's logic differs.
        self.lean_args = json.dumps([*CHROMIUM_ARGS, *LEAN_ARGS])
        self.floor_page_size = floor_page_size
        self._runs = 0

    def bot_env(
        self, url: str, who: tuple[str, str] = (MANAGER, MANAGER_PASSWORD)
    ) -> dict[str, str]:
        # A fresh state folder per run: no audit log or lock carried from one run to the next.
        self._runs += 1
        state = self.folder / f"state-{self._runs}"
        return {
            **self.base,
            "CHORUS_BOT_USERNAME": who[0],
            "CHORUS_BOT_PASSWORD": who[1],
            "CHORUS_BOT_PORTAL_URL": url,
            "CHORUS_BOT_BROWSER": self.browser,
            "CHORUS_BOT_STATE_DIR": str(state),
            "CHORUS_BOT_CONFIG": str(self.folder / "no-config.toml"),
        }

    def floor_env(self, url: str, skin: str = "modern") -> dict[str, str]:
        return {
            **self.base,
            "BENCH_SKIN": skin,
            "BENCH_PORTAL_URL": url,
            "BENCH_USERNAME": MANAGER,
            "BENCH_PASSWORD": MANAGER_PASSWORD,
            "BENCH_BROWSER": self.browser,
            "BENCH_ARGS": self.chromium_args,
            "BENCH_PAGE_SIZE": self.floor_page_size,
        }

    def limit_env(self, url: str) -> dict[str, str]:
        return {**self.floor_env(url), "BENCH_ARGS": self.lean_args}

    def status(self, side: str, url: str, skin: str = "modern") -> tuple[list[str], dict[str, str]]:
        """Command and environment of one side of the status matrix: `floor`, `bot N`,
        `limit N` (N tabs reading structures)."""
        if side == "floor":
            return [*self.floor, "status"], self.floor_env(url, skin)
        kind, level = side.split()
        if kind == "bot":
            return [*self.bot, "status", "--concurrency", level], self.bot_env(url)
        return [*self.limit, "status", level], self.limit_env(url)


# --- the measures --------------------------------------------------------------------------


def _expect_read(run: Run, count: int, what: str) -> None:
    if f"read {count}" not in run.stdout:
        raise RuntimeError(f"{what}: the floor did not read {count} structure(s):\n{run.stdout}")


def measure_check(
    sides: Sides, runs: int, folder: Path, warm_up: bool = True, skin: str = "modern"
) -> tuple[Series, Series]:
    bot, floor = Series(), Series()
    with portal_with(14, folder, skin=skin) as url:
        if warm_up:  # not counted: bytecode and disk caches, as where the bot runs daily
            run_timed([*sides.bot, "check", "--structure", CHECK_SIRET], sides.bot_env(url))
            run_timed([*sides.floor, "check", CHECK_SIRET], sides.floor_env(url, skin))
        for _ in range(runs):
            run = run_timed([*sides.bot, "check", "--structure", CHECK_SIRET], sides.bot_env(url))
            if CHECK_SIRET not in run.stdout:
                raise RuntimeError(f"check printed no status:\n{run.stdout}")
            bot.runs.append(run)
            run = run_timed([*sides.floor, "check", CHECK_SIRET], sides.floor_env(url, skin))
            _expect_read(run, 1, f"check, {skin}")
            floor.runs.append(run)
    return bot, floor


def measure_no_technical_user(
    sides: Sides, runs: int, folder: Path, skin: str = "modern"
) -> tuple[Series, Series]:
    """`check` on a structure with no technical user (exit 1, one line saying so) and on one of
    the same account that has one: the same pages, so about the same time, if the absence is
    known from the page as shown rather than after the timeout."""
    without, with_ = Series(), Series()
    who = (OTHER_MANAGER, OTHER_PASSWORD)
    with portal_with(14, folder, skin=skin) as url:
        for _ in range(runs):
            command = [*sides.bot, "check", "--structure", NO_TECH_SIRET]
            run = run_timed(command, sides.bot_env(url, who), ok_codes=(1,))
            said = run.stderr + run.stdout
            if "technical user" not in said and "utilisateur technique" not in said:
                raise RuntimeError(f"check of {NO_TECH_SIRET} said:\n{run.stderr[-2000:]}")
            without.runs.append(run)
            command = [*sides.bot, "check", "--structure", WITH_TECH_SIRET]
            run = run_timed(command, sides.bot_env(url, who), ok_codes=(0, 3, 4))
            if WITH_TECH_SIRET not in run.stdout:
                raise RuntimeError(f"check printed no status:\n{run.stdout}")
            with_.runs.append(run)
    return without, with_


@dataclass(frozen=True)
class Config:
    count: int
    delay_ms: int
    skin: str = "modern"

    def label(self) -> str:
        delay = f"{self.delay_ms} ms" if self.delay_ms else "no delay"
        skin = "" if self.skin == "modern" else f", {self.skin}"
        return f"{self.count} structures, {delay}{skin}"


def status_sides(levels: list[int]) -> list[str]:
    return ["floor", *(f"{kind} {level}" for level in levels for kind in ("bot", "limit"))]


def measure_status(
    sides: Sides,
    configs: list[Config],
    levels: list[int],
    runs: int,
    folder: Path,
    assets: int,
    progress=lambda message: None,
    names: list[str] | None = None,
) -> dict[Config, dict[str, Series]]:
    results: dict[Config, dict[str, Series]] = {}
    for config in configs:
        series = {side: Series() for side in names or status_sides(levels)}
        with portal_with(config.count, folder, config.delay_ms, assets, config.skin) as url:
            for _ in range(runs):
                for side in series:
                    command, env = sides.status(side, url, config.skin)
                    # 3 and 4: a structure expiring soon or expired is a result, not a failure.
                    run = run_timed(command, env, ok_codes=(0, 3, 4), tree=True)
                    if side.startswith("bot"):
                        listed = len(_SIRET_LINE.findall(run.stdout))
                        if listed != config.count:
                            raise RuntimeError(f"{side} listed {listed} of {config.count}")
                    else:
                        _expect_read(run, config.count, f"{side}, {config.label()}")
                    series[side].runs.append(run)
                    progress(f"{config.label()}: {side} {run.seconds:.1f} s")
        results[config] = series
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
class SkinResults:
    """What is measured on one markup skin besides the main matrix (issue 9)."""

    check: tuple[Series, Series] | None = None  # bot, floor
    status: tuple[Config, str, Series, Series] | None = None  # config, bot side, bot, floor
    no_tech: tuple[Series, Series] | None = None  # without, with a technical user


def _skin_rows(
    skins: dict[str, SkinResults], runs: dict[str, int], verdicts: dict[str, bool]
) -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for skin, results in skins.items():
        if results.check is not None:
            bot, floor = results.check
            ratio = bot.seconds / floor.seconds
            verdicts[f"check {skin}"] = ratio <= TARGET_RATIO
            rows.append(
                _row(
                    f"`check`, 1 structure, {skin} skin (median of {runs['check']})",
                    _s(bot.seconds),
                    _s(floor.seconds),
                    ratio,
                    f"≤ {TARGET_RATIO}",
                    verdicts[f"check {skin}"],
                )
            )
        if results.status is not None:
            config, side, bot, floor = results.status
            each_bot, each_floor = bot.seconds / config.count, floor.seconds / config.count
            ratio = each_bot / each_floor
            verdicts[f"status {skin}"] = ratio <= TARGET_RATIO
            rows.append(
                _row(
                    f"`status` per structure, {config.label()}, --concurrency "
                    f"{side.split()[1]} vs serial floor",
                    _ms(each_bot),
                    _ms(each_floor),
                    ratio,
                    f"≤ {TARGET_RATIO}",
                    verdicts[f"status {skin}"],
                )
            )
        if results.no_tech is not None:
            without, with_ = results.no_tech
            ratio = without.seconds / with_.seconds
            verdicts[f"no technical user {skin}"] = ratio <= TARGET_RATIO
            rows.append(
                _row(
                    f"`check` of a structure with no technical user (exit 1) vs one with, "
                    f"{skin} skin (median of {len(without.runs)}; timeout 30 s)",
                    _s(without.seconds),
                    _s(with_.seconds),
                    ratio,
                    f"≤ {TARGET_RATIO}",
                    verdicts[f"no technical user {skin}"],
                )
            )
    return rows


@dataclass
class Report:
    rows: list[tuple[str, str, str, str, str, str]]
    verdicts: dict[str, bool]
    matrix: list[str] = field(default_factory=list)  # the status table, markdown lines


def _row(
    measure: str, bot: str, reference: str, ratio: float | None, target: str = "", ok=None
) -> tuple[str, str, str, str, str, str]:
    return (
        measure,
        bot,
        reference,
        "" if ratio is None else f"{ratio:.2f}",
        target,
        "" if ok is None else _verdict(ok),
    )


def _status_rows(
    status: dict[Config, dict[str, Series]], levels: list[int], verdicts: dict[str, bool]
) -> list[tuple[str, str, str, str, str, str]]:
    """The issue's targets, at the largest count, at the default concurrency (or the
    highest measured), and the cost per structure between the two largest counts."""
    rows = []
    if not status:
        return rows
    level = DEFAULT_LEVEL if DEFAULT_LEVEL in levels else max(levels)
    top = max(config.count for config in status)
    for config in sorted(status, key=lambda c: (c.delay_ms, c.count)):
        if config.count != top:
            continue
        series = status[config]
        bot, floor, limit = series[f"bot {level}"], series["floor"], series[f"limit {level}"]
        where = f"`status`, {config.label()}, --concurrency {level}"
        target = TARGET_FLOOR_DELAY if config.delay_ms else TARGET_FLOOR_NO_DELAY
        judged = top >= 200  # the targets are set at 200 structures
        ratio = bot.seconds / floor.seconds
        ok = ratio <= target if judged else None
        if ok is not None:
            verdicts[f"{config.label()} vs floor"] = ok
        rows.append(
            _row(
                f"{where} vs serial floor",
                _s(bot.seconds),
                _s(floor.seconds),
                ratio,
                f"≤ {target}" if judged else "",
                ok,
            )
        )
        ratio = bot.seconds / limit.seconds
        ok = ratio <= TARGET_LIMIT if judged and config.delay_ms else None
        if ok is not None:
            verdicts[f"{config.label()} vs limit"] = ok
        rows.append(
            _row(
                f"{where} vs limit at {level}",
                _s(bot.seconds),
                _s(limit.seconds),
                ratio,
                f"≤ {TARGET_LIMIT}" if ok is not None else "",
                ok,
            )
        )
    counts = sorted({config.count for config in status})
    if len(counts) >= 2:
        low, high = counts[-2], counts[-1]
        for delay in sorted({config.delay_ms for config in status}):
            at = {c.count: status[c] for c in status if c.delay_ms == delay}
            if low not in at or high not in at:
                continue

            bot, floor = (
                (at[high][side].seconds - at[low][side].seconds) / (high - low)
                for side in (f"bot {level}", "floor")
            )
            rows.append(
                _row(
                    f"`status` cost per structure {low}→{high}, "
                    f"{Config(high, delay).label().split(', ')[1]}, --concurrency {level} "
                    "vs serial floor",
                    _ms(bot),
                    _ms(floor),
                    bot / floor if floor > 0 else None,
                )
            )
    return rows


def _memory_rows(
    status: dict[Config, dict[str, Series]], levels: list[int]
) -> list[tuple[str, str, str, str, str, str]]:
    """Peak memory of each concurrency level, over the largest run: bot against limit."""
    if not status:
        return []
    config = max(status, key=lambda c: (c.count, c.delay_ms))
    series = status[config]
    rows = []
    for level in levels:
        bot, limit = series[f"bot {level}"], series[f"limit {level}"]
        rows.append(
            _row(
                f"Peak memory, bot + Playwright + Chromium (PSS), `status` over "
                f"{config.count}, --concurrency {level} vs limit",
                _mb(bot.tree_kb),
                _mb(limit.tree_kb),
                bot.tree_kb / limit.tree_kb if limit.tree_kb else None,
            )
        )
    floor = series["floor"]
    rows.append(
        _row(
            f"Peak memory, serial floor + Chromium (PSS), `status` over {config.count}",
            "",
            _mb(floor.tree_kb),
            None,
        )
    )
    return rows


def _matrix(
    status: dict[Config, dict[str, Series]], levels: list[int], loads: dict[Config, str]
) -> list[str]:
    """Every status run: seconds (median), and the ratios the targets are about."""
    if not status:
        return []
    sides = status_sides(levels)
    header = ["Structures", "Delay", *(f"{side}" for side in sides)]
    header += [f"bot {level} / floor" for level in levels]
    header += [f"bot {level} / limit {level}" for level in levels]
    header += ["load (1 min) before"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for config in sorted(status, key=lambda c: (c.delay_ms, c.count)):
        series = status[config]
        cells = [str(config.count), f"{config.delay_ms} ms"]
        cells += [_s(series[side].seconds) for side in sides]
        cells += [f"{series[f'bot {n}'].seconds / series['floor'].seconds:.2f}" for n in levels]
        cells += [
            f"{series[f'bot {n}'].seconds / series[f'limit {n}'].seconds:.2f}" for n in levels
        ]
        cells.append(loads.get(config, ""))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _cpu_rows(
    check: tuple[Series, Series], skins: dict[str, SkinResults], runs: dict[str, int]
) -> list[tuple[str, str, str, str, str, str]]:
    """CPU time of `check`'s whole process tree: on a shared 2-core machine it moves less with
    the neighbours' load than the wall time the targets are set on, so it tells a real change
    from noise. No target of its own."""
    pairs = [("modern", check)]
    pairs += [(skin, res.check) for skin, res in skins.items() if res.check and skin != "modern"]
    rows = []
    for skin, (bot, floor) in pairs:
        if floor.cpu_seconds > 0:
            rows.append(
                _row(
                    f"CPU time (user + system, whole tree), `check`, {skin} skin "
                    f"(median of {runs['check']})",
                    _s(bot.cpu_seconds),
                    _s(floor.cpu_seconds),
                    bot.cpu_seconds / floor.cpu_seconds,
                )
            )
    return rows


def build_report(
    check: tuple[Series, Series],
    status: dict[Config, dict[str, Series]],
    help_: tuple[Series, Series],
    sleeps: list[str],
    runs: dict[str, int],
    levels: list[int] | None = None,
    loads: dict[Config, str] | None = None,
    skins: dict[str, SkinResults] | None = None,
) -> Report:
    levels = levels or [1, DEFAULT_LEVEL]
    verdicts: dict[str, bool] = {}
    bot, floor = check
    ratio = bot.seconds / floor.seconds
    verdicts["check"] = ratio <= TARGET_RATIO
    rows = [
        _row(
            f"`check`, 1 structure (median of {runs['check']})",
            _s(bot.seconds),
            _s(floor.seconds),
            ratio,
            f"≤ {TARGET_RATIO}",
            verdicts["check"],
        )
    ]
    rows += _status_rows(status, levels, verdicts)
    rows += _skin_rows(skins or {}, runs, verdicts)
    rows += _cpu_rows(check, skins or {}, runs)
    bot, bare = help_
    verdicts["--help"] = bot.seconds <= TARGET_HELP_S
    rows.append(
        _row(
            f"`chorus-bot --help` vs `python -c pass` (median of {runs['help']})",
            _s(bot.seconds),
            _s(bare.seconds),
            None,
            f"≤ {TARGET_HELP_S} s",
            verdicts["--help"],
        )
    )
    rows.append(
        _row(
            "Peak RSS of the Python process, `check`",
            _mb(check[0].peak_kb),
            _mb(check[1].peak_kb),
            check[0].peak_kb / check[1].peak_kb,
        )
    )
    rows += _memory_rows(status, levels)
    verdicts["no fixed sleeps"] = not sleeps
    rows.append(
        _row(
            "Fixed sleeps in bot/ and flows/",
            ", ".join(sleeps) or "none",
            "",
            None,
            "none",
            not sleeps,
        )
    )
    return Report(rows, verdicts, _matrix(status, levels, loads or {}))


def render(report: Report, info: dict[str, str], notes: list[str]) -> str:
    header = ("Measure", "chorus-bot", "reference", "ratio", "target", "verdict")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in report.rows]
    if report.matrix:
        lines += ["", "`status`, every run (seconds, median; `floor` is the serial floor):", ""]
        lines += report.matrix
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


def _ints(raw: str) -> list[int]:
    return sorted({int(value) for value in raw.split(",") if value.strip()})


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="1 run each, 2 structures, no delay, few assets"
    )
    parser.add_argument("--check-runs", type=int, help="runs of check per side (default 9)")
    parser.add_argument("--status-runs", type=int, help="runs of each status side (default 1)")
    parser.add_argument("--help-runs", type=int, help="runs of --help (default 10)")
    parser.add_argument("--counts", help="structure counts for status (default 50,200)")
    parser.add_argument("--delays", help="server delays per response, ms (default 0,150)")
    parser.add_argument(
        "--levels", help=f"--concurrency levels of bot and limit (default 1,{DEFAULT_LEVEL})"
    )
    parser.add_argument(
        "--assets", type=int, help="static files referenced by each page (default 30)"
    )
    parser.add_argument(
        "--floor-page-size",
        choices=("max", "default"),
        default="default",
        help="the floor's `lignes par page`: the portal's default or the largest",
    )
    parser.add_argument(
        "--jsf-count", type=int, help="structures of the jsf2017 status run (default 50)"
    )
    parser.add_argument(
        "--no-tech-runs", type=int, help="runs of the no-technical-user check (default 3)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="markdown file")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    quick = args.quick
    args.check_runs = args.check_runs or (1 if quick else 9)
    args.status_runs = args.status_runs or 1
    args.help_runs = args.help_runs or (3 if quick else 10)
    args.counts = _ints(args.counts or ("2" if quick else "50,200"))
    args.delays = _ints(args.delays or ("0" if quick else "0,150"))
    args.levels = _ints(args.levels or f"1,{DEFAULT_LEVEL}")
    args.assets = args.assets if args.assets is not None else (6 if quick else 30)
    args.jsf_count = args.jsf_count or (args.counts[0] if quick else 50)
    args.no_tech_runs = args.no_tech_runs or (1 if quick else 3)
    if not all(1 <= level <= 4 for level in args.levels):
        parser.error("--levels must be between 1 and 4")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = load_average()
    started = datetime.now().astimezone()
    browser = resolve_browser()
    folder = Path(tempfile.mkdtemp(prefix="chorus-bench-"))
    configs = [Config(count, delay) for delay in args.delays for count in args.counts]
    loads: dict[Config, str] = {}

    def say(message: str) -> None:
        print(f"bench: {message} (load {load_average()})", file=sys.stderr)

    try:
        sides = Sides(browser, folder, args.floor_page_size)
        say(f"browser {browser}")
        help_ = measure_help(sides, args.help_runs)
        say("--help done")
        check = measure_check(sides, args.check_runs, folder, warm_up=not args.quick)
        say("check done")
        skins = {skin: SkinResults() for skin in SKINS}
        skins["jsf2017"].check = measure_check(
            sides, args.check_runs, folder, warm_up=not args.quick, skin="jsf2017"
        )
        say("check jsf2017 done")
        for skin in SKINS:
            skins[skin].no_tech = measure_no_technical_user(sides, args.no_tech_runs, folder, skin)
        say("no technical user done")
        level = DEFAULT_LEVEL if DEFAULT_LEVEL in args.levels else max(args.levels)
        jsf = Config(args.jsf_count, 0, "jsf2017")
        side = f"bot {level}"
        # No limit here: bench/limit.py follows links and GET forms, not JSF post-backs.
        jsf_status = measure_status(
            sides,
            [jsf],
            args.levels,
            args.status_runs,
            folder,
            args.assets,
            say,
            names=["floor", side],
        )[jsf]
        skins["jsf2017"].status = (jsf, side, jsf_status[side], jsf_status["floor"])
        say("status jsf2017 done")
        status: dict[Config, dict[str, Series]] = {}
        for config in configs:
            loads[config] = load_average().split()[0]
            status.update(
                measure_status(
                    sides, [config], args.levels, args.status_runs, folder, args.assets, say
                )
            )
        say("status done")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    runs = {"check": args.check_runs, "status": args.status_runs, "help": args.help_runs}
    report = build_report(check, status, help_, fixed_sleeps(), runs, args.levels, loads, skins)
    info = machine(browser)
    notes = [
        f"Date: {started:%Y-%m-%d %H:%M %Z}" + (" (quick mode)" if args.quick else ""),
        f"Load average (1, 5, 15 min) before: {load_before}; after: {load_average()} "
        f"(on {os.cpu_count()} cores; other work on the machine adds noise to every side)",
        f"`status` runs: {args.status_runs} per side and configuration, sides alternating; "
        f"the mock serves {args.assets} static files per page (see fixtures/mock_portal/"
        "assets.py), asked again at every page load (304); the jsf2017 `status` run too",
        "Memory: VmHWM of the Python process from /proc, sampled every 10 ms; and the peak of "
        "the sum of PSS over the whole process tree (Python, Playwright's driver, Chromium; a "
        "page shared by n processes counts 1/n in each), sampled every 100 ms",
        "All sides run with a bytecode cache (PYTHONPYCACHEPREFIX in the bench's temporary "
        "folder, PYTHONDONTWRITEBYTECODE unset), after one uncounted warm-up run each of check"
        + (" (no warm-up in quick mode)" if args.quick else ""),
    ]
    block = render(report, info, notes)
    print(block)
    if not args.no_write:
        write_results(args.output, block)
        print(f"bench: written to {args.output}", file=sys.stderr)
    return 0
