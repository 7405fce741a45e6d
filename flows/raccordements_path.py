"""The `Raccordements` path of today's Chorus Pro: `Raccordements` → `Compte technique` → the
request form (`Type de demande` = `Réinitialisation du mot de passe d'un compte technique`,
`Choisir la structure`, `Compte technique`) → the new password, framed in red → `Soumettre`.

The portal generates the password and shows it BEFORE `Soumettre`, which alone puts it in
force. So a reset reads it, hands it to `on_password` (stored in the keyring, or rescued to a
file) and only then submits; a read (`check`, `status`) never submits.

The expiry date: where the form does not show it, the structure page of the documented path
gives it when the portal has that path (read there first when it does: it needs no new
password on screen). Otherwise it is unknown (TechnicalStatus.expires_at None): `check` says
so plainly, and `reset --force` still resets.

The same flows and callbacks as flows/gestionnaire_path.py, so that bot/jobs.py and
bot/batch.py keep their safety nets whichever path is in use.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from bot.errors import (
    ChorusBotError,
    ExpiryNotShown,
    NoTechnicalUser,
    PasswordNotShown,
    PasswordRescued,
    PortalError,
    StructureNotFound,
)
from bot.i18n import N_, T, _
from flows import gestionnaire_path
from flows.entry import POLL_MS, back_to_chorus_home
from flows.models import (
    RACCORDEMENTS_FORM,
    NewPassword,
    ResetOutcome,
    StructureRow,
    StructuresWalk,
    TechnicalStatus,
)
from flows.pages.chorus_home import ChorusHomePage
from flows.pages.raccordements import RaccordementsPage, TechnicalAccountForm
from flows.readers import OnFailure
from flows.session import PortalSession

# What the form must show before the flow goes on.
_STRUCTURES = "structures"  # the reset request chosen, the structures offered
_ACCOUNTS = "accounts"  # and the structure chosen, its technical accounts offered
_REVEALED = "revealed"  # and the account chosen: the new password (and maybe the expiry)

WHERE = N_("Choisir la structure")  # the list this path walks, for messages


def _form(session: PortalSession) -> str:
    d = session.texts.describe
    return T(
        "the form {value} ({value2}, {value3}, {value4})",
        value=d("technical_account_app"),
        value2=d("request_type"),
        value3=d("choose_structure"),
        value4=d("technical_account"),
    )


def open_form(session: PortalSession, home_url: str) -> TechnicalAccountForm:
    """Home → `Raccordements` → `Compte technique`: a fresh request form."""
    texts = session.texts
    back_to_chorus_home(session, home_url)
    with session.step(
        N_("Raccordements"), T("the menu entry {value}", value=texts.describe("raccordements"))
    ):
        ChorusHomePage(session.page, texts).open_raccordements()
        session.settle()
        raccordements = RaccordementsPage(session.page, texts)
        raccordements.wait_until_shown()
    with session.step(N_("Compte technique"), _form(session)):
        raccordements.open_technical_account()
        session.settle()
        form = TechnicalAccountForm(session.page, texts)
        form.wait_until_shown()
        return form


def _navigating(error: PlaywrightError) -> bool:
    """The page was replaced while being read (a POST-back form reloads after a choice)."""
    return "context was destroyed" in str(error) or "navigat" in str(error).lower()


def fill_form(
    session: PortalSession,
    form: TechnicalAccountForm,
    siret: str | None,
    login: str | None = None,
    *,
    until: str = _ACCOUNTS,
) -> list[str]:
    """Brings the form to the reset request, this structure and (with `login`) that account.

    The portal may answer each choice in place (a script) or by reloading the page (a JSF
    POST-back), and a reload may drop a choice made while it was on its way: every choice is
    checked again at each look until the page shows what was asked. Returns the technical
    logins offered for the structure (empty for `until=_STRUCTURES`).
    """
    deadline = time.monotonic() + session.timeout_ms / 1000
    while True:
        try:
            done = _fill_once(session, form, siret, login, until)
            if done is not None:
                return done
        except PlaywrightError as error:
            if isinstance(error, PlaywrightTimeoutError) or not _navigating(error):
                raise
        if session.last_status is not None and session.last_status >= 500:
            session.settle()  # raises: the server error is the news, not a timeout
        try:
            form.revealed.or_(form.no_technical_account.union).first.wait_for(timeout=POLL_MS)
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise


def _fill_once(
    session: PortalSession,
    form: TechnicalAccountForm,
    siret: str | None,
    login: str | None,
    until: str,
) -> list[str] | None:
    """One look at the form: a choice made (None), an answer, or an error."""
    d = session.texts.describe
    if not form.request_type.present():
        return None
    if not form.request_type_chosen():
        if not form.choose_request_type() and form.request_type.choices():
            raise PortalError(
                T(
                    "the list {value} offers no {value2}",
                    value=d("request_type"),
                    value2=d("request_type_reset"),
                ),
                hint=T("if the portal renamed it, set it in the config file's [texts]"),
            )
        return None
    if not form.structure.present() or not form.structure.choices():
        return None
    if until == _STRUCTURES or siret is None:
        return []
    if not form.structure_chosen(siret):
        if not form.offers_structure(siret):
            raise StructureNotFound(
                T(
                    "structure {siret} is not offered in {value} ({count} structure(s) offered)",
                    siret=siret,
                    value=d("choose_structure"),
                    count=len(form.structures()),
                ),
                hint=T("check the SIRET, and that this manager account manages the structure"),
            )
        form.choose_structure(siret)
        return None
    if form.has_no_technical_account():
        raise NoTechnicalUser(
            T(
                "structure {siret} has no technical account ({value})",
                siret=siret,
                value=d("no_technical_account"),
            ),
            hint=T(
                "a connector needs one to use the API: create it in Chorus Pro "
                "(Raccordements, Compte technique), then run again"
            ),
        )
    logins = form.technical_logins() if form.account.present() else []
    if not logins:
        return None
    if until == _ACCOUNTS:
        return logins
    assert login is not None
    if not form.account_chosen(login):
        if login not in logins:
            raise PortalError(
                T(
                    "the list {value} of structure {siret} does not offer {login} (it offers "
                    "{logins})",
                    value=d("technical_account"),
                    siret=siret,
                    login=login,
                    logins=", ".join(logins),
                ),
                hint=T(
                    "the technical account read elsewhere is not the one this form resets: "
                    "reset it by hand on the portal"
                ),
            )
        form.choose_account(login)
        return None
    return logins if form.is_revealed() else None


def read_status(session: PortalSession, home_url: str, siret: str) -> TechnicalStatus:
    """The technical login from the form, and the expiry where the portal shows it (None when
    nowhere). Never submits: the old password stays in force."""
    texts = session.texts
    form = open_form(session, home_url)
    with session.step(
        N_("Compte technique"),
        T(
            "structure {siret} in {value}, then {value2}",
            siret=siret,
            value=texts.describe("choose_structure"),
            value2=texts.describe("technical_account"),
        ),
    ):
        logins = fill_form(session, form, siret)
    if len(logins) > 1:
        logger.info(
            _("{}: {} technical accounts ({}); the first is the one read"),
            siret,
            len(logins),
            ", ".join(logins),
        )
    return _with_expiry(session, home_url, siret, form, logins)


def _with_expiry(
    session: PortalSession,
    home_url: str,
    siret: str,
    form: TechnicalAccountForm,
    logins: list[str],
) -> TechnicalStatus:
    if session.documented_available:
        # The structure page shows it without any new password being put on screen.
        status = gestionnaire_path.check_structure(session, home_url, siret)
        if status.login in logins:
            return status
        logger.warning(
            _("{}: the structure page names {}, the Raccordements form {}: the form's is kept"),
            siret,
            status.login,
            logins[0],
        )
        return dataclasses.replace(status, login=logins[0])
    login = logins[0]
    texts = session.texts
    # Only once the account is chosen may the form show the expiry. The portal then shows a
    # new password too; it takes effect only on `Soumettre`, which a read never clicks.
    with (
        session.step(
            N_("Compte technique"),
            T("the line {value} for {login}", value=texts.describe("expiry"), login=login),
        ),
        session.secret_on_screen(form.read_password),
    ):
        fill_form(session, form, siret, login, until=_REVEALED)
        expires_at = form.expiry()
    # Leaving the form drops the request, and no page a failure saves shows its password.
    back_to_chorus_home(session, home_url)
    logger.debug(
        "{}: technical user {}, expiry {}",
        siret,
        login,
        f"{expires_at:%d/%m/%Y %H:%M}" if expires_at else "not shown",
    )
    return TechnicalStatus(
        siret=siret,
        login=login,
        expires_at=expires_at,
        expiry_source=RACCORDEMENTS_FORM if expires_at else None,
    )


def expiry_not_shown(session: PortalSession, status: TechnicalStatus) -> ExpiryNotShown:
    return ExpiryNotShown(
        T(
            "the portal does not show when the password of {login} expires: not on the "
            "Raccordements form, and Chorus Pro has no {value} to read it on the structure page",
            login=status.login,
            value=session.texts.describe("manager_activities"),
        ),
        step=N_("Compte technique"),
        hint=T(
            "`check` cannot tell when it expires; `chorus-bot reset --structure {siret} --force` "
            "still resets it",
            siret=status.siret,
        ),
        status=status,
    )


def check_structure(session: PortalSession, home_url: str, siret: str) -> TechnicalStatus:
    """Flow 1 on this path: the status, which must include the expiry."""
    status = read_status(session, home_url, siret)
    if status.expires_at is None:
        raise expiry_not_shown(session, status)
    return status


def list_structures(session: PortalSession, home_url: str) -> list[StructureRow]:
    """Every structure `Choisir la structure` offers (SIRET and name)."""
    form = open_form(session, home_url)
    with session.step(
        N_("Compte technique"),
        T("the list {value}", value=session.texts.describe("choose_structure")),
    ):
        fill_form(session, form, None, until=_STRUCTURES)
        return form.structures()


def each_structure_status(
    session: PortalSession,
    home_url: str,
    wanted: set[str] | None = None,
    walk: StructuresWalk | None = None,
    *,
    on_failure: OnFailure | None = None,
) -> Iterator[tuple[str, TechnicalStatus | ChorusBotError]]:
    """Every structure of `Choisir la structure` (or the `wanted` ones), each read in turn.

    A structure whose expiry the portal does not show yields ExpiryNotShown, which carries
    what was read (`status`): `reset --all --force` resets it anyway.
    """
    walk = walk if walk is not None else StructuresWalk()
    walk.where = WHERE
    rows = list_structures(session, home_url)
    walk.seen.update(row.siret for row in rows)
    remaining = set(wanted) if wanted is not None else None
    for row in rows:
        if remaining is not None and row.siret not in remaining:
            continue
        outcome = _status_or_error(session, home_url, row.siret)
        if (
            on_failure is not None
            and isinstance(outcome, ChorusBotError)
            and not isinstance(outcome, ExpiryNotShown)  # what the portal shows, not a failure
        ):
            on_failure(session, row.siret, outcome)
        yield row.siret, outcome
        if remaining is not None:
            remaining.discard(row.siret)
    for siret in sorted(remaining or ()):
        yield (
            siret,
            StructureNotFound(
                T(
                    "structure {siret} is not offered in {value} ({count} structure(s) offered)",
                    siret=siret,
                    value=session.texts.describe("choose_structure"),
                    count=len(walk.seen),
                ),
                step=N_("Compte technique"),
                hint=T("check the SIRET, and that this manager account manages the structure"),
            ),
        )


def _status_or_error(
    session: PortalSession, home_url: str, siret: str
) -> TechnicalStatus | ChorusBotError:
    try:
        status = read_status(session, home_url, siret)
    except ChorusBotError as error:
        if error.ends_run:
            raise
        return error
    return status if status.expires_at is not None else expiry_not_shown(session, status)


def reset_structure(
    session: PortalSession,
    home_url: str,
    siret: str,
    *,
    before_reset: Callable[[TechnicalStatus], bool],
    on_password: Callable[[NewPassword, TechnicalStatus], None],
) -> ResetOutcome | TechnicalStatus:
    """Reads the status, then on a fresh form: the new password read, handed to `on_password`
    (stored or rescued), and only then `Soumettre`; then the expiry read again.

    `before_reset` decides whether to go on (False: stop with the status alone); it sees the
    status before any password it would keep is on screen. `on_password` must keep the
    password safe: if it fails otherwise than by rescuing it, nothing is submitted.
    """
    before = read_status(session, home_url, siret)
    if not before_reset(before):
        return before
    form = open_form(session, home_url)
    texts = session.texts
    with (
        session.step(
            N_("Compte technique"),
            T("the {value} for {login}", value=texts.describe("new_password"), login=before.login),
        ),
        session.secret_on_screen(form.read_password),
    ):
        fill_form(session, form, siret, before.login, until=_REVEALED)
    new_password = _read_new_password(session, form, before)
    rescued: PasswordRescued | None = None
    try:
        on_password(new_password, before)
    except PasswordRescued as error:
        rescued = error  # in a rescue file: safe, so it may be put in force
    except ChorusBotError as error:
        nothing = T("nothing was submitted, so the old password still works")
        error.hint = T("{hint}; {kept}", hint=error.hint, kept=nothing) if error.hint else nothing
        raise
    submit(session, form, siret)
    if rescued is not None:
        raise rescued
    after = _read_after(session, home_url, siret)
    return ResetOutcome(before=before, after=after)


def _read_new_password(
    session: PortalSession, form: TechnicalAccountForm, before: TechnicalStatus
) -> NewPassword:
    texts = session.texts
    nothing_changed = T(
        "nothing was submitted ({value}), so nothing changed and the old password still works; "
        "if the portal renamed the line, set new_password in the config file's [texts]",
        value=texts.describe("submit_request"),
    )
    with session.step(
        N_("new password"),
        T(
            "the {value} shown before {value2}",
            value=texts.describe("new_password"),
            value2=texts.describe("submit_request"),
        ),
    ):
        password = form.read_password()
        if not password:
            raise PasswordNotShown(
                T("the form shows no readable new password"), hint=nothing_changed
            )
        if not _looks_generated(password):
            # A word of a sentence, not what the portal generates: submitting would put in
            # force a password nobody has. The value itself is never repeated.
            raise PasswordNotShown(
                T(
                    "what follows {value} does not look like a generated password (8 "
                    "characters or more, no spaces, three kinds of characters among capitals, "
                    "small letters, digits and symbols)",
                    value=texts.describe("new_password"),
                ),
                hint=nothing_changed,
            )
        return NewPassword(siret=before.siret, login=before.login, password=password)


def _looks_generated(password: str) -> bool:
    kinds = [
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return len(password) >= 8 and not any(c.isspace() for c in password) and sum(kinds) >= 3


def submit(session: PortalSession, form: TechnicalAccountForm, siret: str) -> None:
    """`Soumettre`, then the portal's `Votre demande a été prise en compte`."""
    texts = session.texts
    with (
        _may_be_in_force(siret),
        session.step(
            N_("Soumettre"),
            T(
                "{value} after {value2}",
                value=texts.describe("request_done"),
                value2=texts.describe("submit_request"),
            ),
        ),
    ):
        session.last_status = None  # only the answer to this click counts
        form.submit()
        _wait_for_answer(session, form)
        if not form.is_done():
            detail = form.error_text()
            raise PortalError(
                T(
                    "the portal did not confirm the request after {value} ({detail})",
                    value=texts.describe("submit_request"),
                    detail=detail,
                )
                if detail
                else T(
                    "the portal did not confirm the request after {value}",
                    value=texts.describe("submit_request"),
                )
            )


def _wait_for_answer(session: PortalSession, form: TechnicalAccountForm) -> None:
    deadline = time.monotonic() + session.timeout_ms / 1000
    while True:
        try:
            form.done.union.or_(form.see.alert()).first.wait_for(timeout=POLL_MS)
            return
        except PlaywrightTimeoutError:
            if session.last_status is not None and session.last_status >= 500:
                session.settle()  # raises: the server error is the news, not a timeout
            if time.monotonic() > deadline:
                raise


@contextmanager
def _may_be_in_force(siret: str) -> Iterator[None]:
    """`Soumettre` sent but not answered: the new password may or may not be in force. It was
    kept before the click, and the keyring keeps the old one as `previous`: both are there."""
    try:
        yield
    except ChorusBotError as error:
        error.new_password_may_be_in_force = True  # type: ignore[attr-defined]
        error.hint = T(
            "`Soumettre` got no clear answer, so the new password may or may not be in force; "
            "the old and the new one are both kept: run `chorus-bot check --structure {siret}` "
            "(if the expiry moved, the new one is in force, otherwise the old one still works) "
            "or `chorus-bot verify --structure {siret}`",
            siret=siret,
        )
        raise


def _read_after(session: PortalSession, home_url: str, siret: str) -> TechnicalStatus:
    """The expiry after `Soumettre`: on the structure page, else on a fresh form."""
    if session.documented_available:
        return gestionnaire_path.check_structure(session, home_url, siret)
    return read_status(session, home_url, siret)
