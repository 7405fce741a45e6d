"""The path in use, decided on Chorus Pro's home after login (`--path`, config `path`): the
documented one (flows/gestionnaire_path.py) or `Raccordements` (flows/raccordements_path.py).

bot/jobs.py and bot/batch.py call these; each goes on with the module of the session's path,
with the same callbacks, so that every safety net works on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

from bot.errors import ChorusBotError
from flows import gestionnaire_path, raccordements_path
from flows.entry import _nothing, back_to_chorus_home, enter_chorus_pro
from flows.models import (
    AUTO,
    DOCUMENTED,
    PATHS,
    RACCORDEMENTS,
    ManagerLogin,
    NewPassword,
    ResetOutcome,
    StructuresWalk,
    TechnicalStatus,
)
from flows.readers import OnFailure
from flows.session import PortalSession

__all__ = [
    "AUTO",
    "DOCUMENTED",
    "PATHS",
    "RACCORDEMENTS",
    "ResetOutcome",
    "StructuresWalk",
    "back_to_chorus_home",
    "check_flow",
    "check_structure",
    "each_structure_status",
    "enter_chorus_pro",
    "reset_flow",
    "reset_structure",
]


def _module(session: PortalSession) -> ModuleType:
    return raccordements_path if session.path == RACCORDEMENTS else gestionnaire_path


def check_structure(session: PortalSession, home_url: str, siret: str) -> TechnicalStatus:
    return _module(session).check_structure(session, home_url, siret)


def check_flow(
    session: PortalSession,
    start_url: str,
    manager: ManagerLogin,
    siret: str,
    *,
    on_logged_in: Callable[[], None] = _nothing,
) -> TechnicalStatus:
    """Flow 1: read the technical login and expiry date of one structure. Changes nothing."""
    home_url = enter_chorus_pro(session, start_url, manager, on_logged_in=on_logged_in)
    return check_structure(session, home_url, siret)


def each_structure_status(
    session: PortalSession,
    home_url: str,
    wanted: set[str] | None = None,
    walk: StructuresWalk | None = None,
    *,
    readers: int = 0,
    on_failure: OnFailure | None = None,
) -> Iterator[tuple[str, TechnicalStatus | ChorusBotError]]:
    """`readers` tabs read the documented path's structures at once; the Raccordements form
    is one page that each choice reloads, so that path reads in this tab only."""
    kwargs = {} if on_failure is None else {"on_failure": on_failure}
    if _module(session) is gestionnaire_path:
        return gestionnaire_path.each_structure_status(
            session, home_url, wanted, walk, readers=readers, **kwargs
        )
    return raccordements_path.each_structure_status(session, home_url, wanted, walk, **kwargs)


def reset_structure(
    session: PortalSession,
    home_url: str,
    siret: str,
    *,
    before_reset: Callable[[TechnicalStatus], bool],
    on_password: Callable[[NewPassword, TechnicalStatus], None],
) -> ResetOutcome | TechnicalStatus:
    return _module(session).reset_structure(
        session, home_url, siret, before_reset=before_reset, on_password=on_password
    )


def reset_flow(
    session: PortalSession,
    start_url: str,
    manager: ManagerLogin,
    siret: str,
    *,
    before_reset: Callable[[TechnicalStatus], bool],
    on_password: Callable[[NewPassword, TechnicalStatus], None],
    on_logged_in: Callable[[], None] = _nothing,
) -> ResetOutcome | TechnicalStatus:
    """Flow 2: log in, then `reset_structure` on the path in use."""
    home_url = enter_chorus_pro(session, start_url, manager, on_logged_in=on_logged_in)
    return reset_structure(
        session, home_url, siret, before_reset=before_reset, on_password=on_password
    )
