"""What the flows read from the portal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class StructureRow:
    """One row of `Mes structures`."""

    siret: str
    name: str
    created: str
    type: str
    status: str


@dataclass(frozen=True)
class TechnicalStatus:
    """The technical user of a structure, as its page shows it."""

    siret: str
    login: str
    expires_at: datetime  # aware, Europe/Paris

    def days_left(self, now: datetime | None = None) -> int:
        now = now or datetime.now(PARIS)
        seconds = (self.expires_at - now).total_seconds()
        # Whole days, rounded down: "expires in 0 days" means today, negative means expired.
        return int(seconds // 86400)

    def is_expired(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(PARIS)
        return self.expires_at <= now


@dataclass(frozen=True)
class NewPassword:
    """The password the portal showed once after a reset. Never log or print it."""

    siret: str
    login: str
    password: str

    def __repr__(self) -> str:
        return f"NewPassword(siret={self.siret!r}, login={self.login!r}, password='***')"


@dataclass(frozen=True)
class ManagerLogin:
    """The Gestionnaire principal's portal account. The code sources are asked only if needed.

    - `one_time_code()`: a code from the authenticator (TOTP) secret, else typed on a terminal.
    - `has_totp_secret()`: whether a TOTP secret is stored for this account, for a page that
      lets the user choose the factor (choose the authenticator application when True).
    - `expect_email_code()`: for the code the portal e-mails. Call it right BEFORE the action
      that makes the portal send the mail; it returns the function to call AFTER that action,
      which returns the code (read from the mailbox, or typed on a terminal). Only mail that
      arrives after the first call is used, so a code from an earlier login never is. Either
      call may raise (nothing configured, mailbox unreachable, no mail in time).
    """

    identifiant: str
    password: str
    one_time_code: Callable[[], str] | None = None
    has_totp_secret: Callable[[], bool] | None = None
    expect_email_code: Callable[[], Callable[[], str]] | None = None

    def __repr__(self) -> str:
        return f"ManagerLogin(identifiant={self.identifiant!r}, password='***')"
