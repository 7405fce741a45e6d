"""The keyring contract that connectors rely on (documented in the README).

- technical user: service `chorus-bot/technical/<SIRET>`, username = technical login,
  password = technical password; the one before the last reset under `…/<SIRET>/previous`.
- portal manager: service `chorus-bot/portal`, username = identifiant; one entry per
  identifiant when the config file has profiles (one account each), else just one.
- PISTE application: service `chorus-bot/piste`, username = OAuth client id,
  password = client secret (to verify technical passwords against the Chorus Pro API).
- SMTP relay (hand-over e-mail): service `chorus-bot/smtp`, username = `[mail] user`.
- the manager's mailbox (e-mailed second-factor code): service `chorus-bot/imap`,
  username = `[second_factor.imap] user`.
- HTTP proxy: service `chorus-bot/proxy`, username = proxy user.

Each technical service holds one entry, so `keyring.get_credential(service, None)` finds it
by SIRET alone.
keyring's own configuration (PYTHON_KEYRING_BACKEND, keyringrc.cfg) chooses the backend.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.errors import KeyringError
from bot.i18n import T
from bot.log import redactor

if TYPE_CHECKING:
    from keyring.credentials import Credential


class _Keyring:
    """The `keyring` module, imported on first use: `check` with credentials from the
    environment, and `--help`, never touch the keyring and skip its import (~0.15 s)."""

    def __getattr__(self, name: str) -> Any:
        import keyring
        import keyring.errors

        return getattr(keyring, name)


keyring = _Keyring()

PORTAL_SERVICE = "chorus-bot/portal"
PROBE_SERVICE = "chorus-bot/probe"
TOTP_SERVICE = "chorus-bot/totp"
PISTE_SERVICE = "chorus-bot/piste"
SMTP_SERVICE = "chorus-bot/smtp"
IMAP_SERVICE = "chorus-bot/imap"
PROXY_SERVICE = "chorus-bot/proxy"


def technical_service(siret: str) -> str:
    return f"chorus-bot/technical/{siret}"


def previous_service(siret: str) -> str:
    return f"chorus-bot/technical/{siret}/previous"


_NO_BACKEND_HINT = T(
    "install and unlock a keyring: on Linux the Secret Service (gnome-keyring or KeePassXC) "
    "with dbus; or choose a backend with PYTHON_KEYRING_BACKEND (see `keyring --help`)"
)


def _has_backend() -> bool:
    from keyring.backends import chainer, fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return False
    return not (isinstance(backend, chainer.ChainerBackend) and not backend.backends)


@contextmanager
def _keyring_step(action: str) -> Iterator[None]:
    if not _has_backend():
        raise KeyringError(
            T("no usable keyring backend to {action}", action=action), hint=_NO_BACKEND_HINT
        )
    try:
        yield
    except keyring.errors.NoKeyringError:
        raise KeyringError(
            T("no usable keyring backend to {action}", action=action), hint=_NO_BACKEND_HINT
        ) from None
    except keyring.errors.KeyringLocked:
        raise KeyringError(
            T("the keyring is locked, cannot {action}", action=action),
            hint=T("unlock it and run again"),
        ) from None
    except KeyringError:
        raise
    except Exception as error:  # D-Bus and backend errors come in many classes.
        raise KeyringError(
            T(
                "the keyring failed to {action} ({name__})",
                action=action,
                name__=type(error).__name__,
            ),
            hint=_NO_BACKEND_HINT,
        ) from None


@dataclass(frozen=True)
class StoredSecret:
    login: str
    password: str

    def __repr__(self) -> str:
        return f"StoredSecret(login={self.login!r}, password='***')"


def backend_name() -> str:
    backend = keyring.get_keyring()
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _get(service: str) -> StoredSecret | None:
    with _keyring_step(T("read {service}", service=service)):
        credential: Credential | None = keyring.get_credential(service, None)
    if credential is None or credential.password is None:
        return None
    redactor.add(credential.password)
    return StoredSecret(login=credential.username, password=credential.password)


def _replace(service: str, login: str, password: str) -> None:
    """One entry per service: drop whatever is there under another login first."""
    redactor.add(password)
    existing = _get(service)
    with _keyring_step(T("write {service}", service=service)):
        if existing is not None and existing.login != login:
            keyring.delete_password(service, existing.login)
        keyring.set_password(service, login, password)


def _get_for(service: str, login: str) -> StoredSecret | None:
    """The entry of this username, among several."""
    with _keyring_step(f"read {service}"):
        password = keyring.get_password(service, login)
    if password is None:
        return None
    redactor.add(password)
    return StoredSecret(login=login, password=password)


def _set_for(service: str, login: str, password: str, *, only: bool) -> None:
    """`only`: the service keeps this entry alone; else one entry per username."""
    if only:
        _replace(service, login, password)
        return
    redactor.add(password)
    with _keyring_step(f"write {service}"):
        keyring.set_password(service, login, password)


def _delete(service: str, login: str | None = None) -> bool:
    existing = _get(service) if login is None else _get_for(service, login)
    if existing is None:
        return False
    with _keyring_step(T("delete {service}", service=service)):
        keyring.delete_password(service, existing.login)
    return True


def probe() -> None:
    """Proves the keyring can write, read back and delete, before anything depends on it."""
    value = secrets.token_urlsafe(16)
    # A name of its own: two runs probing at once must not read or delete each other's entry.
    name = f"probe-{secrets.token_hex(8)}"
    with _keyring_step(T("write a probe entry")):
        keyring.set_password(PROBE_SERVICE, name, value)
    with _keyring_step(T("read a probe entry back")):
        read = keyring.get_password(PROBE_SERVICE, name)
    with _keyring_step(T("delete a probe entry")):
        keyring.delete_password(PROBE_SERVICE, name)
    if read != value:
        raise KeyringError(
            T("the keyring returned another value than the one written"), hint=_NO_BACKEND_HINT
        )


# Portal manager ---------------------------------------------------------------------------


def get_manager(identifiant: str | None = None) -> StoredSecret | None:
    """This identifiant's entry; without one, the entry there is (the single-account case)."""
    return _get(PORTAL_SERVICE) if identifiant is None else _get_for(PORTAL_SERVICE, identifiant)


def set_manager(identifiant: str, password: str, *, only: bool = True) -> None:
    """`only=False` with profiles: the other accounts' entries stay."""
    _set_for(PORTAL_SERVICE, identifiant, password, only=only)


def delete_manager(identifiant: str | None = None) -> bool:
    return _delete(PORTAL_SERVICE, identifiant)


# Technical users --------------------------------------------------------------------------


def get_technical(siret: str) -> StoredSecret | None:
    return _get(technical_service(siret))


def get_previous_technical(siret: str) -> StoredSecret | None:
    return _get(previous_service(siret))


def store_new_technical(siret: str, login: str, password: str) -> None:
    """Keeps the current entry as `previous`, stores the new one, reads it back and compares."""
    redactor.add(password)
    current = get_technical(siret)
    if current is not None and current.password != password:
        _replace(previous_service(siret), current.login, current.password)
    _replace(technical_service(siret), login, password)
    stored = get_technical(siret)
    if stored is None or stored.login != login or stored.password != password:
        raise KeyringError(
            T("the keyring did not return the password just stored for {siret}", siret=siret),
            hint=_NO_BACKEND_HINT,
        )


# Second factor ----------------------------------------------------------------------------


def get_totp_secret(identifiant: str | None = None) -> StoredSecret | None:
    return _get(TOTP_SERVICE) if identifiant is None else _get_for(TOTP_SERVICE, identifiant)


def set_totp_secret(identifiant: str, secret: str, *, only: bool = True) -> None:
    _set_for(TOTP_SERVICE, identifiant, secret, only=only)


def delete_totp_secret(identifiant: str | None = None) -> bool:
    return _delete(TOTP_SERVICE, identifiant)


# PISTE application (OAuth client credentials) -----------------------------------------------


def get_piste_client() -> StoredSecret | None:
    return _get(PISTE_SERVICE)


def set_piste_client(client_id: str, client_secret: str) -> None:
    _replace(PISTE_SERVICE, client_id, client_secret)


def delete_piste_client() -> bool:
    return _delete(PISTE_SERVICE)


# SMTP relay for the hand-over e-mail ------------------------------------------------------


def get_smtp_password(user: str) -> str | None:
    """The password of the `[mail] user`; an entry stored for another user does not count."""
    stored = _get(SMTP_SERVICE)
    return stored.password if stored is not None and stored.login == user else None


def set_smtp_password(user: str, password: str) -> None:
    _replace(SMTP_SERVICE, user, password)


# IMAP mailbox where the portal sends its e-mailed codes -----------------------------------


def get_imap_password(user: str) -> str | None:
    """The password of the `[second_factor.imap] user`; another user's entry does not count."""
    stored = _get(IMAP_SERVICE)
    return stored.password if stored is not None and stored.login == user else None


def get_imap_entry() -> StoredSecret | None:
    return _get(IMAP_SERVICE)


def set_imap_password(user: str, password: str) -> None:
    _replace(IMAP_SERVICE, user, password)


def delete_imap_password() -> bool:
    return _delete(IMAP_SERVICE)


# HTTP proxy --------------------------------------------------------------------------------


def get_proxy_password(user: str | None) -> StoredSecret | None:
    """The entry of this proxy user; without a user named, the one entry there is."""
    return _get(PROXY_SERVICE) if user is None else _get_for(PROXY_SERVICE, user)


def set_proxy_password(user: str, password: str) -> None:
    _replace(PROXY_SERVICE, user, password)
