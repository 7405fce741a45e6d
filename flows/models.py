"""What the flows read from the portal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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


# `--path` / config `path`: the way to the technical user's password. `auto`: the documented
# one when Chorus Pro's home offers `Activités du gestionnaire`, else `Raccordements`.
DOCUMENTED = "documented"
RACCORDEMENTS = "raccordements"
AUTO = "auto"
PATHS = (DOCUMENTED, RACCORDEMENTS, AUTO)

# Where an expiry date was read (`check --json`'s `expiry_source`).
STRUCTURE_PAGE = "structure page"
RACCORDEMENTS_FORM = "raccordements"


@dataclass(frozen=True)
class TechnicalStatus:
    """The technical user of a structure, as the portal shows it.

    `expires_at` is None only on the Raccordements path of a portal that shows the date
    nowhere: `check` then fails, and only `reset --force` goes on.
    """

    siret: str
    login: str
    expires_at: datetime | None  # aware, Europe/Paris
    expiry_source: str | None = STRUCTURE_PAGE

    def days_left(self, now: datetime | None = None) -> int:
        now = now or datetime.now(PARIS)
        seconds = (self._known_expiry() - now).total_seconds()
        # Whole days, rounded down: "expires in 0 days" means today, negative means expired.
        return int(seconds // 86400)

    def is_expired(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(PARIS)
        return self._known_expiry() <= now

    def _known_expiry(self) -> datetime:
        if self.expires_at is None:
            raise ValueError(f"the expiry of {self.login} is not known")
        return self.expires_at


@dataclass(frozen=True)
class ResetOutcome:
    before: TechnicalStatus
    after: TechnicalStatus


@dataclass
class StructuresWalk:
    """What a walk through the structures list saw: the structures read, the total announced."""

    seen: set[str] = field(default_factory=set)
    announced: int | None = None  # when the pager shows one, e.g. `(14 ligne(s))`
    where: str = "Mes structures"  # the list walked, for messages

    def note_announced(self, count: int | None) -> None:
        if count is not None:
            self.announced = max(count, self.announced or 0)


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
