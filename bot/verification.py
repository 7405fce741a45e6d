"""Verifying a technical password against the Chorus Pro API: `verify`, `check --verify`, and
the proof that follows a reset. The keyring and the settings meet the PISTE client here."""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from bot import audit, secret_store
from bot.config import Settings
from bot.errors import EXIT_FAILURE, EXIT_OK, ChorusBotError, CredentialsMissing, VerificationFailed
from bot.i18n import T, _
from bot.log import redactor
from bot.piste import Endpoints, PisteClient, Verification
from bot.secret_store import StoredSecret
from bot.siret import parse_siret

_SET_PISTE_HINT = T(
    "store the PISTE application's OAuth client id and secret with "
    "`chorus-bot credentials set --piste`"
)


def client(settings: Settings) -> PisteClient | None:
    """The configured PISTE client, or None when no PISTE credentials are stored."""
    stored = secret_store.get_piste_client()
    if stored is None:
        return None
    endpoints = Endpoints.from_settings(settings)
    from bot import proxy

    return PisteClient(
        endpoints,
        stored.login,
        stored.password,
        timeout=settings.timeout,
        backoff=settings.piste_backoff,
        proxy=proxy.resolve(settings),
        ca_file=settings.ca_file,
    )


def require_client(settings: Settings) -> PisteClient:
    Endpoints.from_settings(settings)  # a bad URL is refused first, credentials or not
    found = client(settings)
    if found is None:
        raise CredentialsMissing(T("no PISTE client credentials are stored"), hint=_SET_PISTE_HINT)
    return found


def check_configured_hosts(settings: Settings) -> None:
    """Before a reset: refuses bad PISTE URLs now rather than after the portal was changed."""
    if secret_store.get_piste_client() is not None:
        Endpoints.from_settings(settings)


def stored_technical(siret: str) -> StoredSecret:
    stored = secret_store.get_technical(siret)
    if stored is None:
        raise CredentialsMissing(
            T("no technical password is stored for {siret}", siret=siret),
            hint=T("run `chorus-bot reset --structure {siret}` first", siret=siret),
        )
    return stored


@dataclass
class PendingVerification:
    """`check --verify`: everything read before the browser starts, the call made after."""

    piste: PisteClient
    stored: StoredSecret

    def run(self) -> Verification:
        with self.piste:
            return self.piste.verify(self.stored.login, self.stored.password)


def prepare(settings: Settings, siret: str) -> PendingVerification:
    Endpoints.from_settings(settings)
    stored = stored_technical(siret)
    return PendingVerification(require_client(settings), stored)


def rejected_error(siret: str, result: Verification, *, after_reset: bool) -> VerificationFailed:
    if not after_reset:
        return VerificationFailed(
            T(
                "the Chorus Pro API rejected the technical password stored for {siret} ({login}): "
                "{reason}",
                siret=siret,
                login=result.login,
                reason=result.reason,
            ),
            step=T("verify"),
            hint=T("the connector cannot use it: check the structure on the portal, or reset it"),
        )
    previous = secret_store.get_previous_technical(siret)
    kept = (
        f"the previous password is kept beside it ({secret_store.previous_service(siret)!r})"
        if previous is not None
        else "no previous password was stored"
    )
    return VerificationFailed(
        T(
            "the reset is done, but the Chorus Pro API rejected the new password of {siret} "
            "({login}): {reason}",
            siret=siret,
            login=result.login,
            reason=result.reason,
        ),
        step=T("verify"),
        hint=T(
            "the new password is in the keyring; {kept}; try `chorus-bot verify --structure "
            "{siret}` again in a few minutes",
            kept=kept,
            siret=siret,
        ),
    )


def verify_structure(settings: Settings, raw_siret: str) -> Verification:
    """`chorus-bot verify`: the stored password of one structure, with an audit line."""
    siret = parse_siret(raw_siret)
    record = audit.AuditRecord(action="verify", structure=siret)
    try:
        with require_client(settings) as piste:
            stored = stored_technical(siret)
            record.technical_login = stored.login
            result = piste.verify(stored.login, stored.password)
        record.outcome = "accepted" if result.accepted else "rejected"
        record.exit_code = EXIT_OK if result.accepted else EXIT_FAILURE
        record.detail = f"verify: {result.reason}"
        return result
    except BaseException as error:
        record.outcome, record.exit_code = "failed", EXIT_FAILURE
        if isinstance(error, ChorusBotError):
            record.exit_code, record.detail = error.exit_code, redactor.redact(error.one_line())
        raise
    finally:
        audit.append(settings.state_dir, record)


def verify_new_password(settings: Settings, siret: str, login: str, password: str) -> str | None:
    """After a reset: the API's word on the new password, or None when PISTE is not set up.

    Raises VerificationFailed when rejected, PisteError when no answer could be had.
    """
    piste = client(settings)
    if piste is None:
        logger.debug("{}: no PISTE credentials stored, the new password is not verified", siret)
        return None
    with piste:
        result = piste.verify(login, password)
    if not result.accepted:
        raise rejected_error(siret, result, after_reset=True)
    logger.info(_("{}: the Chorus Pro API accepts the new password"), siret)
    return "accepted"
