"""Settings: defaults < config file < environment < command-line options. Never a secret."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from bot.errors import ConfigError

APP_NAME = "chorus-bot"
DEFAULT_PORTAL_URL = "https://portail.dgfip.finances.gouv.fr/"

# What the config file may hold, with its type and default.
_FILE_KEYS: dict[str, tuple[type, Any]] = {
    "identifiant": (str, None),
    "portal_url": (str, DEFAULT_PORTAL_URL),
    "warn_days": (int, 30),
    "within_days": (int, 90),
    "browser": (str, None),
    "timeout": (float, 30.0),
    "allow_hosts": (list, []),
}
_ENV_KEYS = {
    "identifiant": "CHORUS_BOT_USERNAME",
    "portal_url": "CHORUS_BOT_PORTAL_URL",
    "browser": "CHORUS_BOT_BROWSER",
}


def config_file() -> Path:
    override = os.environ.get("CHORUS_BOT_CONFIG")
    return Path(override) if override else platformdirs.user_config_path(APP_NAME) / "config.toml"


def state_dir() -> Path:
    override = os.environ.get("CHORUS_BOT_STATE_DIR")
    return Path(override) if override else platformdirs.user_state_path(APP_NAME)


@dataclass(frozen=True)
class Settings:
    portal_url: str = DEFAULT_PORTAL_URL
    identifiant: str | None = None
    warn_days: int = 30
    within_days: int = 90
    browser: str | None = None
    timeout: float = 30.0
    allow_hosts: tuple[str, ...] = ()
    headed: bool = False
    verbose: bool = False
    trace: bool = False
    state_dir: Path = field(default_factory=state_dir)
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def timeout_ms(self) -> float:
        return self.timeout * 1000

    @property
    def log_file(self) -> Path:
        return self.state_dir / "chorus-bot.log"

    @property
    def runs_dir(self) -> Path:
        return self.state_dir / "runs"


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    path = path or config_file()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(
            f"cannot read config file {path}: {error}", hint="fix or remove it"
        ) from None
    unknown = sorted(set(data) - set(_FILE_KEYS))
    if unknown:
        raise ConfigError(
            f"config file {path} has unknown key(s): {', '.join(unknown)}",
            hint=f"known keys: {', '.join(_FILE_KEYS)}",
        )
    for key, value in data.items():
        expected, _ = _FILE_KEYS[key]
        if expected is float and isinstance(value, int):
            continue
        if not isinstance(value, expected):
            raise ConfigError(
                f"config file {path}: {key} must be a {expected.__name__}", hint="fix the value"
            )
    return data


def build_settings(**options: Any) -> Settings:
    """Merges the layers; an option of None means "not given on the command line"."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, (_, default) in _FILE_KEYS.items():
        values[key], sources[key] = default, "default"
    for key, value in read_config_file().items():
        values[key], sources[key] = value, "file"
    for key, env_name in _ENV_KEYS.items():
        if os.environ.get(env_name):
            values[key], sources[key] = os.environ[env_name], "env"
    for key, value in options.items():
        if value is None or (key == "allow_hosts" and not value):
            continue
        if key == "allow_hosts":
            value = [*values.get("allow_hosts", []), *value]
        values[key], sources[key] = value, "option"
    values["allow_hosts"] = tuple(values.get("allow_hosts") or ())
    if values["timeout"] <= 0:
        raise ConfigError("--timeout must be a positive number of seconds")
    return Settings(**values, sources=sources)
