"""The last resort when the keyring fails after a reset: a file only the user can read.

The portal shows a new password once; losing it locks the connector out. A rescue file is
the only place other than the keyring where chorus-bot ever writes a password.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flows.models import NewPassword


@dataclass(frozen=True)
class RescueFile:
    path: Path
    siret: str
    login: str
    password: str

    def __repr__(self) -> str:
        return f"RescueFile(path={str(self.path)!r}, siret={self.siret!r}, password='***')"


def rescue_dir(state_dir: Path) -> Path:
    return state_dir / "rescue"


def write_rescue(state_dir: Path, new: NewPassword) -> Path:
    folder = rescue_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / f"{new.siret}-{datetime.now():%Y%m%d-%H%M%S-%f}.json"
    payload = {
        "siret": new.siret,
        "login": new.login,
        "password": new.password,
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    # Created 0600 from the start: never a moment where others could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def list_rescues(state_dir: Path) -> list[RescueFile]:
    folder = rescue_dir(state_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found.append(RescueFile(path, data["siret"], data["login"], data["password"]))
    return found
