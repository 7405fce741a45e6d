"""Settings: defaults < config file < environment < command-line options. Never a secret."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from bot.errors import ConfigError
from bot.i18n import T
from flows.models import AUTO, PATHS
from flows.texts import DEFAULT_TEXTS, KEYS, Texts

APP_NAME = "chorus-bot"
DEFAULT_PORTAL_URL = "https://portail.dgfip.finances.gouv.fr/"

# What the config file may hold, with its type and default.
_FILE_KEYS: dict[str, tuple[type, Any]] = {
    "identifiant": (str, None),
    "portal_url": (str, DEFAULT_PORTAL_URL),
    "warn_days": (int, 30),
    "within_days": (int, 90),
    "reconcile": (bool, True),
    "browser": (str, None),
    "timeout": (float, 30.0),
    "concurrency": (int, 2),
    # Which way to the technical user: documented, raccordements, or auto (flows/paths.py).
    "path": (str, AUTO),
    "allow_hosts": (list, []),
    "structures": (list, []),
    "piste_env": (str, "production"),
    "piste_api_url": (str, None),
    "piste_oauth_url": (str, None),
    "piste_backoff": (float, 1.0),
    # Hand-over after a reset; checked and converted by _check_handover_keys.
    "post_reset_command": (object, ()),
    "post_reset_timeout": (float, 120.0),
    "mail": (dict, None),
    # Words the bot looks for on the portal, before the documented ones; see parse_texts.
    "texts": (dict, None),
    # [second_factor.imap]; checked and converted by _check_second_factor.
    "second_factor": (dict, None),
    # Network: an HTTP proxy for the browser and PISTE; a TLS-inspecting proxy's CA for PISTE.
    "proxy": (str, None),
    "no_proxy": (list, []),
    "ca_file": (str, None),
}
# `[profiles.<name>]` tables take the top-level keys above; a profile inherits what it does not
# set, and a table (e.g. [mail]) key by key.
PROFILES = "profiles"
PISTE_ENVS = ("production", "sandbox")
MAX_CONCURRENCY = 4  # reader tabs at most: the portal is a public service, treated politely
_ENV_KEYS = {
    "identifiant": "CHORUS_BOT_USERNAME",
    "portal_url": "CHORUS_BOT_PORTAL_URL",
    "browser": "CHORUS_BOT_BROWSER",
    "post_reset_command": "CHORUS_BOT_POST_RESET_COMMAND",
}


def _dirs(dirs: platformdirs.PlatformDirs | None) -> platformdirs.PlatformDirs:
    # appauthor=False: on Windows %LOCALAPPDATA%\chorus-bot, not chorus-bot\chorus-bot.
    return dirs or platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def config_file(dirs: platformdirs.PlatformDirs | None = None) -> Path:
    """`dirs`: another platform's folders (tests); by default this machine's."""
    override = os.environ.get("CHORUS_BOT_CONFIG")
    return Path(override) if override else Path(_dirs(dirs).user_config_dir) / "config.toml"


def state_dir(dirs: platformdirs.PlatformDirs | None = None) -> Path:
    override = os.environ.get("CHORUS_BOT_STATE_DIR")
    return Path(override) if override else Path(_dirs(dirs).user_state_dir)


@dataclass(frozen=True)
class Settings:
    portal_url: str = DEFAULT_PORTAL_URL
    identifiant: str | None = None
    warn_days: int = 30
    within_days: int = 90
    # After a reset whose new password was lost: read the expiry again, and reset once more.
    reconcile: bool = True
    browser: str | None = None
    timeout: float = 30.0
    concurrency: int = 2  # tabs reading structures at once (status, check of several)
    path: str = AUTO  # documented, raccordements, or auto
    allow_hosts: tuple[str, ...] = ()
    structures: tuple[str, ...] = ()
    post_reset_command: tuple[str, ...] = ()  # argv, run without a shell
    post_reset_timeout: float = 120.0
    mail: MailSettings | None = None
    texts: Texts = DEFAULT_TEXTS
    imap: ImapSettings | None = None  # [second_factor.imap]: the e-mailed code, unattended
    piste_env: str = "production"
    piste_api_url: str | None = None
    piste_oauth_url: str | None = None
    piste_backoff: float = 1.0  # seconds before the 2nd PISTE try; doubled before each next
    proxy: ProxySettings | None = None
    no_proxy: tuple[str, ...] = ()
    ca_file: str | None = None
    profile: str | None = None  # the `[profiles.<name>]` merged over the top level
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


@dataclass(frozen=True)
class ConfigFile:
    """The config file, checked: its top level and its `[profiles.<name>]` tables, raw."""

    path: Path
    top: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def layer(self, profile: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
        """The file's values for `profile` (None: the top level alone), converted, and the
        source of each: `file` or `profile:<name>`; a table's keys as `<table>.<key>`."""
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        layers = [(self.top, "file")]
        if profile is not None:
            if profile not in self.profiles:
                known = ", ".join(self.profiles) or "none"
                raise ConfigError(
                    T(
                        "config file {path}: no profile {profile!r}",
                        path=self.path,
                        profile=profile,
                    ),
                    hint=T("profiles in the file: {known}", known=known),
                )
            layers.append((self.profiles[profile], f"profile:{profile}"))
        for table, source in layers:
            _merge(values, table, source, sources)
        try:
            _check_handover_keys(self.path, values)
            if "texts" in values:
                values["texts"] = parse_texts(self.path, values["texts"])
            _check_second_factor(self.path, values)
        except ConfigError as error:
            if profile is None:
                raise
            raise ConfigError(
                T(
                    "{message} (in profile {profile!r}, merged over the top level)",
                    message=error.message,
                    profile=profile,
                ),
                hint=error.hint,
            ) from None
        return values, sources


def _merge(
    values: dict[str, Any],
    table: dict[str, Any],
    source: str,
    sources: dict[str, str],
    prefix: str = "",
) -> None:
    """Tables are merged key by key, at every depth: a profile's [mail] may set only its
    recipients, its [second_factor.imap] only its user."""
    for key, value in table.items():
        if isinstance(value, dict):
            merged = dict(values.get(key) or {}) if isinstance(values.get(key), dict) else {}
            _merge(merged, value, source, sources, f"{prefix}{key}.")
            value = merged
        values[key], sources[f"{prefix}{key}"] = value, source


def load_config(path: Path | None = None) -> ConfigFile:
    """Reads and checks the whole file, every profile included, or raises ConfigError."""
    path = path or config_file()
    if not path.exists():
        return ConfigFile(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(
            T("cannot read config file {path}: {error}", path=path, error=error),
            hint=T("fix or remove it"),
        ) from None
    profiles = data.pop(PROFILES, {})
    _check_table(path, data, _FILE_KEYS)
    if not isinstance(profiles, dict) or not all(isinstance(t, dict) for t in profiles.values()):
        raise ConfigError(
            T("config file {path}: profiles must be tables [profiles.<name>]", path=path),
            hint=T('e.g. [profiles.mairie] then identifiant = "..." on the next line'),
        )
    for name, table in profiles.items():
        _check_table(path, table, _FILE_KEYS, section=f"{PROFILES}.{name}")
    config = ConfigFile(path, data, profiles)
    for name in [None, *profiles]:
        config.layer(name)  # a bad merged value is reported now, whichever profile runs
    _check_no_shared_structure(config)
    return config


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    """The top level of the config file, checked and converted."""
    return load_config(path).layer()[0]


def _check_no_shared_structure(config: ConfigFile) -> None:
    """Two profiles listing one SIRET would reset it twice, with two accounts."""
    claimed: dict[str, str] = {}
    for name in config.profiles:
        structures = config.layer(name)[0].get("structures") or []
        for raw in structures:
            siret = re.sub(r"[\s\u00a0.\-]", "", str(raw))
            if siret in claimed and claimed[siret] != name:
                raise ConfigError(
                    T(
                        "config file {path}: structure {siret} is claimed by profiles {value!r} "
                        "and {name!r}",
                        path=config.path,
                        siret=siret,
                        value=claimed[siret],
                        name=name,
                    ),
                    hint=T(
                        "list each SIRET in one profile only (a profile without `structures` "
                        "inherits the top level's; set structures = [] for none)"
                    ),
                )
            claimed.setdefault(siret, name)


def profile_names(path: Path | None = None) -> list[str]:
    return list(load_config(path).profiles)


def build_settings(profile: str | None = None, **options: Any) -> Settings:
    """Merges the layers; an option of None means "not given on the command line".

    defaults < environment proxy variables < file < profile < environment < options.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, (_, default) in _FILE_KEYS.items():
        values[key], sources[key] = default, "default"
    for key, (value, source) in _proxy_from_environment().items():
        values[key], sources[key] = value, source
    file_values, file_sources = load_config().layer(profile or None)
    values.update(file_values)
    sources.update(file_sources)
    for key, env_name in _ENV_KEYS.items():
        if os.environ.get(env_name):
            values[key], sources[key] = os.environ[env_name], "env"
    for key, value in options.items():
        if value is None or (key == "allow_hosts" and not value):
            continue
        if key == "allow_hosts":
            value = [*values.get("allow_hosts", []), *value]
        values[key], sources[key] = value, "option"
    values["imap"] = values.pop("second_factor")
    sources["imap"] = sources.pop("second_factor")
    values["allow_hosts"] = tuple(values.get("allow_hosts") or ())
    values["texts"] = values.get("texts") or DEFAULT_TEXTS
    values["structures"] = tuple(str(siret) for siret in values.get("structures") or ())
    values["no_proxy"] = tuple(str(host) for host in values.get("no_proxy") or ())
    values["proxy"] = parse_proxy(values["proxy"], sources["proxy"])
    values["post_reset_command"] = parse_command(
        values["post_reset_command"], "CHORUS_BOT_POST_RESET_COMMAND"
    )
    if values["post_reset_timeout"] <= 0:
        raise ConfigError(T("post_reset_timeout must be a positive number of seconds"))
    if values["timeout"] <= 0:
        raise ConfigError(T("--timeout must be a positive number of seconds"))
    if not 1 <= values["concurrency"] <= MAX_CONCURRENCY:
        raise ConfigError(
            T(
                "concurrency must be between 1 and {value}, not {value2}",
                value=MAX_CONCURRENCY,
                value2=values["concurrency"],
            ),
            hint=T("more tabs would not be polite to the portal; use --concurrency 1 to 4"),
        )
    if values["path"] not in PATHS:
        raise ConfigError(
            T(
                "path (--path, or `path` in the config file) must be one of {value}, "
                "not {value2!r}",
                value=", ".join(PATHS),
                value2=values["path"],
            ),
            hint=T(
                "documented: Activités du gestionnaire; raccordements: Raccordements, "
                "Compte technique; auto (the default): the documented one when the portal "
                "has it"
            ),
        )
    if values["piste_env"] not in PISTE_ENVS:
        raise ConfigError(
            T(
                "piste_env must be one of {value}, not {value2!r}",
                value=", ".join(PISTE_ENVS),
                value2=values["piste_env"],
            )
        )
    if values["piste_backoff"] < 0:
        raise ConfigError(T("piste_backoff must be zero or a positive number of seconds"))
    if values["ca_file"] and not Path(values["ca_file"]).expanduser().is_file():
        raise ConfigError(
            T("ca_file {value!r} is not a file", value=values["ca_file"]),
            hint=T("give the PEM file of the proxy's certificate authority"),
        )
    return Settings(**values, profile=profile or None, sources=sources)


# Proxy ---------------------------------------------------------------------------------------

# As curl and pip read them: the lower-case form first, the portal and PISTE being https.
_PROXY_ENV = ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")
_NO_PROXY_ENV = ("no_proxy", "NO_PROXY")
PROXY_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class ProxySettings:
    """Where the proxy is. Its password comes from the keyring, or from the environment
    variable that named the proxy (as curl accepts it there); never from a file or option."""

    server: str  # scheme://host:port, nothing else
    username: str | None = None
    env_password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        scheme, _, rest = self.server.partition("://")
        return f"{scheme}://{user}{rest}"


def _proxy_from_environment() -> dict[str, tuple[Any, str]]:
    found: dict[str, tuple[Any, str]] = {}
    for name in _PROXY_ENV:
        if os.environ.get(name, "").strip():
            found["proxy"] = (os.environ[name].strip(), f"env {name}")
            break
    for name in _NO_PROXY_ENV:
        if os.environ.get(name, "").strip():
            hosts = [h.strip() for h in os.environ[name].split(",") if h.strip()]
            found["no_proxy"] = (hosts, f"env {name}")
            break
    return found


def parse_proxy(value: Any, source: str) -> ProxySettings | None:
    """`proxy` as given; an empty string turns an environment proxy off."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    from urllib.parse import unquote, urlsplit

    if "://" not in text:
        text = "http://" + text  # as curl does
    where = {"option": "--proxy", "file": T("proxy in the config file")}.get(
        source, T("proxy ({source})", source=source)
    )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError(
            T("{where} is not a valid URL", where=where), hint=T("e.g. http://proxy:3128")
        ) from None
    if parts.password is not None and not source.startswith("env"):
        # Never echo the URL: it holds the password.
        raise ConfigError(
            T(
                "{where} holds a password, which would be visible to every user of this machine "
                "(command line) or in a file",
                where=where,
            ),
            hint=T(
                "give the URL without it (http://user@proxy:3128) and store the password with "
                "`chorus-bot credentials set --proxy`"
            ),
        )
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        raise ConfigError(
            T("{where} must be an http:// or https:// proxy URL with a host", where=where),
            hint=T("e.g. http://proxy.example.fr:3128"),
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    server = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password:
        from bot.log import redactor

        redactor.add(password)
    return ProxySettings(server=server, username=username, env_password=password)


# Hand-over: the [mail] table and post_reset_command ----------------------------------------

# key: (type, default). The SMTP password is never here: it is in the keyring (chorus-bot/smtp).
_MAIL_KEYS: dict[str, tuple[type, Any]] = {
    "host": (str, None),
    "port": (int, None),
    "starttls": (bool, True),
    "ssl": (bool, False),
    "user": (str, None),
    "sender": (str, None),
    "recipients": (list, []),
    "include_password": (bool, False),
    "cafile": (str, None),
    "timeout": (float, 30.0),
}


@dataclass(frozen=True)
class MailSettings:
    """The optional hand-over e-mail sent after a successful reset."""

    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    user: str | None = None
    include_password: bool = False
    cafile: str | None = None  # a private CA for the relay's certificate
    timeout: float = 30.0
    given: frozenset[str] = frozenset()  # the keys the file set, for `config show`


_TYPE_WORDS = {
    str: T("a string"),
    int: T("an integer"),
    float: T("a number"),
    bool: T("true or false"),
    list: T("a list"),
    dict: T("a table"),
}


def _check_table(
    path: Path, table: dict[str, Any], keys: dict[str, tuple[type, Any]], section: str = ""
) -> None:
    """Unknown keys and wrong types, for the top level and for `[section]` alike."""
    where = (
        T("config file {path}: [{section}]", path=path, section=section)
        if section
        else T("config file {path}:", path=path)
    )
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise ConfigError(
            T("{where} has unknown key(s): {value}", where=where, value=", ".join(unknown)),
            hint=T("known keys: {value}", value=", ".join(keys)),
        )
    prefix = f"{section}." if section else ""
    for key, value in table.items():
        expected, _ = keys[key]
        # `object` keys take several forms and are checked by their own parser.
        if expected is not object and not _is_type(value, expected):
            raise ConfigError(
                T(
                    "config file {path}: {prefix}{key} must be {value}",
                    path=path,
                    prefix=prefix,
                    key=key,
                    value=_TYPE_WORDS[expected],
                ),
                hint=T("fix the value"),
            )


def _is_type(value: Any, expected: type) -> bool:
    # TOML booleans are Python ints: `port = true` must not pass as a number.
    if expected in (int, float) and isinstance(value, bool):
        return False
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


def parse_mail(path: Path, table: dict[str, Any]) -> MailSettings:
    _check_table(path, table, _MAIL_KEYS, section="mail")
    values = {key: table.get(key, default) for key, (_, default) in _MAIL_KEYS.items()}
    for required in ("host", "sender", "recipients"):
        if not values[required]:
            raise ConfigError(
                T("config file {path}: [mail] needs {required}", path=path, required=required),
                hint=T("set host, sender and recipients, or remove the [mail] table"),
            )
    recipients = values["recipients"]
    if not all(isinstance(r, str) and "@" in r for r in recipients):
        raise ConfigError(
            T("config file {path}: mail.recipients must be a list of e-mail addresses", path=path),
            hint=T('e.g. recipients = ["dsi@example.fr"]'),
        )
    if values["ssl"] and values["starttls"]:
        raise ConfigError(
            T("config file {path}: mail.ssl and mail.starttls cannot both be true", path=path),
            hint=T("ssl = true for port 465 (TLS from the start), starttls = true for 587"),
        )
    if values["port"] is None:
        values["port"] = 465 if values["ssl"] else 587 if values["starttls"] else 25
    return MailSettings(
        **{**values, "recipients": tuple(recipients), "timeout": float(values["timeout"])},
        given=frozenset(table),
    )


def parse_texts(path: Path, table: dict[str, Any]) -> Texts:
    """`[texts]`: each key a text the bot looks for, each value a string or a list of them."""
    overrides: dict[str, tuple[str, ...]] = {}
    for key, value in table.items():
        if key not in KEYS:
            raise ConfigError(
                T("config file {path}: [texts] has an unknown key: {key}", path=path, key=key),
                hint=T("known keys: {value}", value=", ".join(KEYS)),
            )
        words = [value] if isinstance(value, str) else value
        if (
            not isinstance(words, list)
            or not words
            or not all(isinstance(w, str) and w.strip() for w in words)
        ):
            raise ConfigError(
                T(
                    "config file {path}: texts.{key} must be a non-empty string or a list of them",
                    path=path,
                    key=key,
                ),
                hint=T('e.g. {key} = "the text the portal now shows"', key=key),
            )
        overrides[key] = tuple(w.strip() for w in words)
    return Texts(overrides)


def parse_command(value: Any, origin: str) -> tuple[str, ...]:
    """A list of strings is the argv; a string is split like a shell would, but never run
    through one (no pipes, no expansion)."""
    import shlex

    if isinstance(value, tuple):
        return value
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError as error:
            raise ConfigError(
                T(
                    "{origin}: post_reset_command cannot be split ({error})",
                    origin=origin,
                    error=error,
                ),
                hint=T("fix the quotes"),
            ) from None
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return tuple(value)
    raise ConfigError(
        T("{origin}: post_reset_command must be a list of strings (or one string)", origin=origin),
        hint=T('e.g. post_reset_command = ["/usr/local/bin/push-to-erp", "--quiet"]'),
    )


def _check_handover_keys(path: Path, data: dict[str, Any]) -> None:
    """Converts in place, so that build_settings gets ready values."""
    if "mail" in data:
        data["mail"] = parse_mail(path, data["mail"])
    if "post_reset_command" in data:
        data["post_reset_command"] = parse_command(
            data["post_reset_command"], f"config file {path}"
        )


# Second factor: [second_factor.imap], the mailbox the portal sends its codes to ------------

# key: (type, default). The IMAP password is never here: it is in the keyring (chorus-bot/imap).
_SECOND_FACTOR_KEYS: dict[str, tuple[type, Any]] = {"imap": (dict, None)}
_IMAP_KEYS: dict[str, tuple[type, Any]] = {
    "host": (str, None),
    "port": (int, None),
    "tls": (str, "ssl"),
    "user": (str, None),
    "folder": (str, "INBOX"),
    "sender": (str, None),
    "subject": (str, None),
    "timeout": (float, 120.0),
    "cafile": (str, None),
}
IMAP_TLS_MODES = ("ssl", "starttls", "none")
_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class ImapSettings:
    """The manager's mailbox, read for the code the portal e-mails (unattended runs)."""

    host: str
    user: str
    sender: str  # glob on the From address, e.g. "*@chorus-pro.gouv.fr"
    port: int = 993
    tls: str = "ssl"  # ssl (993), starttls (143), none (loopback only)
    folder: str = "INBOX"
    subject: str | None = None  # glob on the Subject, optional
    timeout: float = 120.0  # seconds to wait for the mail
    cafile: str | None = None  # a private CA for the server's certificate
    given: frozenset[str] = frozenset()  # the keys the file set, for `config show`

    @property
    def mailbox(self) -> str:
        """Names the mailbox in messages: user, server and folder, never a secret."""
        return f"{self.user} on {self.host}:{self.port} ({self.folder})"


def parse_imap(path: Path, table: dict[str, Any]) -> ImapSettings:
    section = "second_factor.imap"
    _check_table(path, table, _IMAP_KEYS, section=section)
    values = {key: table.get(key, default) for key, (_, default) in _IMAP_KEYS.items()}
    for required in ("host", "user", "sender"):
        if not values[required]:
            raise ConfigError(
                T(
                    "config file {path}: [{section}] needs {required}",
                    path=path,
                    section=section,
                    required=required,
                ),
                hint=T(
                    'set host, user and sender (a pattern such as "*@chorus-pro.gouv.fr"), '
                    "or remove the [{section}] table",
                    section=section,
                ),
            )
    if values["tls"] not in IMAP_TLS_MODES:
        raise ConfigError(
            T(
                "config file {path}: {section}.tls must be one of {value}, not {value2!r}",
                path=path,
                section=section,
                value=", ".join(IMAP_TLS_MODES),
                value2=values["tls"],
            ),
            hint=T("ssl for port 993, starttls for 143"),
        )
    if values["tls"] == "none" and values["host"] not in _LOOPBACK_HOSTS:
        # The password would cross the network in clear, like a portal over plain http.
        raise ConfigError(
            T(
                'config file {path}: {section}.tls = "none" is allowed only on loopback, '
                "not on {value}",
                path=path,
                section=section,
                value=values["host"],
            ),
            hint=T('use tls = "ssl" (port 993) or "starttls" (port 143)'),
        )
    if values["timeout"] <= 0:
        raise ConfigError(
            T(
                "config file {path}: {section}.timeout must be a positive number of seconds",
                path=path,
                section=section,
            ),
            hint=T("e.g. timeout = 120"),
        )
    if values["port"] is None:
        values["port"] = 993 if values["tls"] == "ssl" else 143
    return ImapSettings(**{**values, "timeout": float(values["timeout"])}, given=frozenset(table))


def _check_second_factor(path: Path, data: dict[str, Any]) -> None:
    """Converts in place: `second_factor` becomes the ImapSettings (or None)."""
    if "second_factor" not in data:
        return
    table = data["second_factor"]
    _check_table(path, table, _SECOND_FACTOR_KEYS, section="second_factor")
    data["second_factor"] = parse_imap(path, table["imap"]) if "imap" in table else None
