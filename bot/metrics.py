"""The metrics file of `--prometheus`, in the text format node_exporter's textfile collector
reads (`--collector.textfile.directory`): expiry per structure, and how the last run ended."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from loguru import logger

from bot.exports import Expiry, RunOutcome
from bot.i18n import _
from flows.models import PARIS, TechnicalStatus

EXPIRY = "chorus_bot_technical_password_expiry_timestamp_seconds"
DAYS_LEFT = "chorus_bot_technical_password_days_left"
LAST_RUN = "chorus_bot_last_run_timestamp_seconds"
LAST_EXIT_CODE = "chorus_bot_last_run_exit_code"

_HELP = {
    EXPIRY: "When the structure's Chorus Pro technical password expires (Unix time).",
    DAYS_LEFT: "Whole days left before the technical password expires when the file was "
    "written; negative once expired.",
    LAST_RUN: "When chorus-bot last ran and wrote this file (Unix time).",
    LAST_EXIT_CODE: "Exit code of that run: 0 OK, 3 expires soon, 4 expired, 1 failure, "
    "2 bad usage or configuration (see contrib/MONITORING.md).",
}
_EXPIRY_LINE = re.compile(
    rf'^{EXPIRY}{{siret="(?P<siret>\d{{14}})",login="(?P<login>(?:[^"\\]|\\.)*)"}} '
    r"(?P<value>\S+)$"
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def previous_expiries(path: Path) -> dict[str, Expiry]:
    """What the file says now, by SIRET, so that a failed read does not erase it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        logger.warning(_("--prometheus {}: the previous file cannot be read ({})"), path, error)
        return {}
    found: dict[str, Expiry] = {}
    for line in text.splitlines():
        match = _EXPIRY_LINE.match(line)
        if not match:
            continue
        try:
            moment = datetime.fromtimestamp(float(match["value"]), PARIS)
        except (ValueError, OverflowError, OSError):
            continue
        found[match["siret"]] = Expiry(match["siret"], _unescape(match["login"]), moment)
    return found


def render(
    outcome: RunOutcome,
    previous: dict[str, Expiry],
    exit_code: int,
    now: datetime | None = None,
) -> bytes:
    now = now or datetime.now(PARIS)
    entries = dict(outcome.read)
    for siret, expiry in previous.items():
        if outcome.keeps(siret):
            entries.setdefault(siret, expiry)
    expiry_lines, days_lines = [], []
    for siret in sorted(entries):
        expiry = entries[siret]
        labels = f'{{siret="{siret}",login="{_escape(expiry.login)}"}}'
        expiry_lines.append(f"{EXPIRY}{labels} {int(expiry.expires_at.timestamp())}")
        # Recomputed now, also for a kept entry: days_left is never stale.
        days = TechnicalStatus(siret, expiry.login, expiry.expires_at).days_left(now)
        days_lines.append(f"{DAYS_LEFT}{labels} {days}")
    lines: list[str] = []
    for name, samples in (
        (EXPIRY, expiry_lines),
        (DAYS_LEFT, days_lines),
        (LAST_RUN, [f"{LAST_RUN} {now.timestamp():.3f}"]),
        (LAST_EXIT_CODE, [f"{LAST_EXIT_CODE} {exit_code}"]),
    ):
        lines += [f"# HELP {name} {_HELP[name]}", f"# TYPE {name} gauge", *samples]
    return ("\n".join(lines) + "\n").encode("utf-8")
