"""One JSON line per run, for the admin who asks "what happened last month?". Never a secret."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass
class AuditRecord:
    action: str
    structure: str | None = None
    technical_login: str | None = None
    expiry_before: str | None = None
    expiry_after: str | None = None
    outcome: str = "unknown"
    exit_code: int | None = None
    detail: str | None = None
    time: str = ""


def history_file(state_dir: Path) -> Path:
    return state_dir / "history.jsonl"


def append(state_dir: Path, record: AuditRecord) -> None:
    record.time = record.time or datetime.now().astimezone().isoformat(timespec="seconds")
    path = history_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(asdict(record), ensure_ascii=False) + "\n")


def read(state_dir: Path) -> list[dict[str, Any]]:
    path = history_file(state_dir)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash must not hide the others
    return records
