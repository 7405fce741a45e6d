"""What the commands do, once the CLI has parsed them into settings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from loguru import logger

from bot import audit, secret_store, verification
from bot.auth import CredentialSource
from bot.browser import BrowserRun
from bot.config import Settings
from bot.errors import (
    EXIT_EXPIRED,
    EXIT_EXPIRES_SOON,
    EXIT_FAILURE,
    EXIT_HANDOVER_FAILED,
    EXIT_OK,
    AlreadyRunning,
    ChorusBotError,
    ExpiryNotShown,
    HandoverFailed,
    Interrupted,
    KeyringError,
    PasswordLost,
    PasswordRescued,
    PisteError,
    ResetNotConfirmed,
    SessionExpired,
    VerificationFailed,
)
from bot.hosts import check_portal_url
from bot.i18n import N_, T, _
from bot.log import redactor
from bot.piste import Verification
from bot.rescue import write_rescue
from bot.siret import parse_siret
from flows.models import ManagerLogin, NewPassword, ResetOutcome, TechnicalStatus
from flows.paths import check_flow, check_structure, enter_chorus_pro, reset_structure


@dataclass(frozen=True)
class CheckReport:
    status: TechnicalStatus
    warn_days: int
    verification: Verification | None = None  # `check --verify`

    @property
    def days_left(self) -> int:
        return self.status.days_left()

    @property
    def state(self) -> str:
        if self.status.is_expired():
            return "expired"
        return "expires-soon" if self.days_left <= self.warn_days else "ok"

    @property
    def exit_code(self) -> int:
        if self.verification is not None and not self.verification.accepted:
            return EXIT_FAILURE
        return {"expired": EXIT_EXPIRED, "expires-soon": EXIT_EXPIRES_SOON}.get(self.state, EXIT_OK)

    def as_dict(self) -> dict:
        data = {
            "structure": self.status.siret,
            "technical_login": self.status.login,
            "expires_at": self.status.expires_at.isoformat(),
            "days_left": self.days_left,
            "state": self.state,
            # `structure page` (documented path) or `raccordements` (the Raccordements form).
            "expiry_source": self.status.expiry_source,
        }
        if self.verification is not None:
            data["verification"] = self.verification.as_dict()
        return data


@dataclass(frozen=True)
class ResetReport:
    siret: str
    action: str  # "reset", "skipped" (not due yet) or "dry-run"
    before: TechnicalStatus
    after: TechnicalStatus | None = None
    stored_in: str | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # lines the after-reset steps want shown
    # Steps of the hand-over that failed (the reset itself is done): exit code 6.
    handover_failures: list[str] = field(default_factory=list)
    # The error that lost the first reset's password, when a second reset replaced it.
    reconciled: str | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_HANDOVER_FAILED if self.handover_failures else EXIT_OK


def _prepare(settings: Settings, raw_siret: str) -> str:
    siret = parse_siret(raw_siret)
    check_portal_url(settings.portal_url, settings.allow_hosts)
    return siret


def check(
    settings: Settings, raw_siret: str, credentials: CredentialSource, *, verify: bool = False
) -> CheckReport:
    siret = _prepare(settings, raw_siret)
    record = audit.AuditRecord(action="check", structure=siret)
    try:
        # Missing PISTE credentials or a bad PISTE URL are reported before the browser starts.
        pending = verification.prepare(settings, siret) if verify else None
        manager = credentials.manager_login()
        with BrowserRun(settings, f"check-{siret}", record_trace=settings.trace) as run:
            status = check_flow(
                run.session, settings.portal_url, manager, siret, on_logged_in=run.start_trace
            )
        record.technical_login = status.login
        record.expiry_before = status.expires_at.isoformat()
        verified = pending.run() if pending else None
        report = CheckReport(status=status, warn_days=settings.warn_days, verification=verified)
        record.outcome, record.exit_code = report.state, report.exit_code
        if verified is not None:
            record.detail = f"verify: {verified.reason}"
        return report
    except BaseException as error:
        record_failure(record, error)
        raise
    finally:
        audit.append(settings.state_dir, record)


def record_failure(record: audit.AuditRecord, error: BaseException) -> None:
    # "reset-…" outcomes say the portal did reset: an admin reading the history needs that.
    if not record.outcome.startswith("reset-"):
        record.outcome = "failed"
    if isinstance(error, ChorusBotError):
        record.exit_code = error.exit_code
        record.detail = redactor.redact(error.one_line())
    else:
        record.exit_code = 130 if isinstance(error, KeyboardInterrupt) else 1
        record.detail = type(error).__name__


def reset(
    settings: Settings,
    raw_siret: str,
    credentials: CredentialSource,
    *,
    dry_run: bool = False,
    force: bool = False,
) -> ResetReport:
    siret = _prepare(settings, raw_siret)
    record = audit.AuditRecord(action="dry-run" if dry_run else "reset", structure=siret)
    try:
        if not dry_run:
            # Before the portal is touched: a keyring that cannot keep the password is fatal.
            secret_store.probe()
            verification.check_configured_hosts(settings)
        manager = credentials.manager_login()
        if dry_run:
            return _dry_run(settings, siret, manager, record)
        with StructureLock(settings, siret):
            return _reset_locked(settings, siret, manager, record, force=force)
    except BaseException as error:
        record_failure(record, error)
        raise
    finally:
        audit.append(settings.state_dir, record)


def _dry_run(settings, siret, manager, record) -> ResetReport:
    with BrowserRun(settings, f"dry-run-{siret}", record_trace=settings.trace) as run:
        status = check_flow(
            run.session, settings.portal_url, manager, siret, on_logged_in=run.start_trace
        )
    record.technical_login = status.login
    record.expiry_before = status.expires_at.isoformat()
    record.outcome, record.exit_code = "dry-run", EXIT_OK
    return ResetReport(siret=siret, action="dry-run", before=status)


class StructureLock:
    """One reset per structure at a time, across processes."""

    def __init__(self, settings: Settings, siret: str) -> None:
        folder = settings.state_dir / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        # Imported here: only resets lock, and check need not pay for filelock's import.
        from filelock import FileLock

        self.lock = FileLock(folder / f"{siret}.lock", timeout=0)
        self.siret = siret

    def __enter__(self) -> None:
        from filelock import Timeout as LockTimeout

        try:
            self.lock.acquire()
        except LockTimeout:
            raise AlreadyRunning(
                T("another chorus-bot run is resetting structure {siret}", siret=self.siret),
                step=T("lock"),
                hint=T("wait for it to finish; nothing was changed"),
            ) from None

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _reset_locked(settings, siret, manager, record, *, force: bool) -> ResetReport:
    with BrowserRun(settings, f"reset-{siret}") as run:
        run.home_url = enter_chorus_pro(
            run.session, settings.portal_url, manager, on_logged_in=run.start_trace
        )
        return reset_in_session(run, settings, manager, siret, record, force=force)


def reset_in_session(
    run: BrowserRun,
    settings: Settings,
    manager: ManagerLogin,
    siret: str,
    record: audit.AuditRecord,
    *,
    force: bool,
) -> ResetReport:
    """One structure's reset, in a browser already logged in to Chorus Pro."""
    stored: list[NewPassword] = []
    read_before: list[TechnicalStatus] = []

    def before_reset(status: TechnicalStatus) -> bool:
        read_before.append(status)
        record.technical_login = status.login
        if status.expires_at is None:
            # The Raccordements path of a portal that shows the date nowhere.
            if not force:
                raise ExpiryNotShown(
                    T(
                        "the portal does not show when the password of {login} expires, so "
                        "whether a reset is due cannot be told",
                        login=status.login,
                    ),
                    step=N_("Compte technique"),
                    hint=T(
                        "`chorus-bot reset --structure {siret} --force` resets it anyway",
                        siret=siret,
                    ),
                    status=status,
                )
            logger.info(_("{}: expiry not shown by the portal; resetting (--force)"), siret)
            run.stop_trace()
            return True
        record.expiry_before = status.expires_at.isoformat()
        days = status.days_left()
        if not force and days > settings.within_days:
            logger.info(
                _(
                    "{}: expires on {:%d/%m/%Y} ({} days left), more than {} days away: no reset "
                    "(--force resets anyway)"
                ),
                siret,
                status.expires_at,
                days,
                settings.within_days,
            )
            return False
        run.stop_trace()
        return True

    def on_password(new: NewPassword, before: TechnicalStatus) -> None:
        redactor.add(new.password)
        try:
            secret_store.store_new_technical(siret, new.login, new.password)
        except KeyringError as error:
            path = write_rescue(settings.state_dir, new)
            rescued = PasswordRescued(
                T(
                    "the new password could not be stored in the keyring ({message}); it was "
                    "saved to {path}",
                    message=error.message,
                    path=path,
                ),
                step=T("keyring"),
                hint=T("fix the keyring, then run `chorus-bot recover`"),
            )
            rescued.rescue_file = str(path)  # type: ignore[attr-defined]
            raise rescued from None
        stored.append(new)
        logger.info(
            _("{}: new password stored in the keyring ({})"),
            siret,
            secret_store.technical_service(siret),
        )

    lost: ChorusBotError | None = None
    try:
        result = reset_structure(
            run.session, run.home_url, siret, before_reset=before_reset, on_password=on_password
        )
    except ChorusBotError as error:
        if stored and not isinstance(error, PasswordRescued):
            kept = T("the new password IS stored in the keyring")
            if getattr(error, "new_password_may_be_in_force", False):
                # Raccordements: stored before `Soumettre`, whose answer was lost.
                kept = T(
                    "the new password IS stored in the keyring ({service}) and the old one "
                    "under {previous}",
                    service=secret_store.technical_service(siret),
                    previous=secret_store.previous_service(siret),
                )
            error.hint = T("{hint}; {kept}", hint=error.hint, kept=kept) if error.hint else kept
        if not (error.reset_may_have_happened and settings.reconcile and read_before):
            raise
        if isinstance(error, Interrupted):  # the user said stop: no second reset
            raise
        lost = error
        # No page came back for the click (the flow clears the status before it): the portal
        # may still be working on the reset.
        unanswered = run.session is not None and run.session.last_status is None
        try:
            result = _reconcile(
                run, settings, manager, siret, read_before[0], error, on_password, unanswered
            )
        except PasswordLost:
            record.outcome = "reset-lost"  # the portal did reset: the history must say so
            raise
    if isinstance(result, TechnicalStatus):
        record.outcome, record.exit_code = "skipped", EXIT_OK
        return ResetReport(siret=siret, action="skipped", before=result)
    report = _confirm_reset(siret, result, record)
    if lost is not None:
        line = redactor.redact(f"{lost.step}: {lost.message}")
        record.outcome = "reset-reconciled"
        record.detail = f"first reset lost its password ({line}); reset again, stored"
        report = replace(report, reconciled=line)
        report.notes.append(
            f"Reconciled     : the first reset's new password was lost ({line}); "
            "reset once more and stored that one"
        )
    after_reset(settings, stored[-1], report, record)
    return report


def _manual_procedure(siret: str) -> str:
    return (
        "the connector's old password no longer works: once the portal works again run "
        f"`chorus-bot reset --structure {siret} --force`, or reset by hand on the portal "
        "(Mes structures, the structure, `Réinitialiser le mot de passe (utilisateur "
        "technique)`) and give the password shown to the connector"
    )


def _reconcile(
    run: BrowserRun,
    settings: Settings,
    manager: ManagerLogin,
    siret: str,
    before: TechnicalStatus,
    lost: ChorusBotError,
    on_password,
    unanswered: bool,
) -> ResetOutcome:
    """The reset may have happened, but its new password was not captured: did it?

    A fresh page (a new browser if the old one died) reads the expiry again. Unmoved: nothing
    changed, `lost` is raised saying so. Moved: the portal holds a password nobody has, so
    the structure is reset once more, once, and that password is stored as usual.
    """
    logger.warning(
        _("{}: {}; reading the expiry again to know whether the portal reset"),
        siret,
        redactor.redact(f"{lost.step}: {lost.message}"),
    )
    run.save_diagnosis(lost, name=f"{siret}-first-reset")
    lost.run_dir = None  # the run folder printed is the one of the run's outcome
    try:
        now = _read_again(run, settings, manager, siret)
    except Interrupted:
        raise
    except ChorusBotError as error:
        lost.hint = (
            f"the reset may have happened and the expiry could not be read again "
            f"({error.step}: {error.message.rstrip('.')}): run `chorus-bot check --structure "
            f"{siret}`; if the expiry moved, the old password no longer works: reset again "
            f"with `chorus-bot reset --structure {siret} --force`"
        )
        raise lost from None
    lost.ends_run = False  # a browser works again: a run over many structures can go on
    if now.expires_at <= before.expires_at and unanswered:
        lost.hint = (
            f"the expiry has not moved so far ({now.expires_at:%d/%m/%Y %H:%M:%S}), but the "
            "portal never answered the reset and may still carry it out: run `chorus-bot check "
            f"--structure {siret}` in a few minutes; if the expiry moved by then, the old password "
            f"no longer works: reset again with `chorus-bot reset --structure {siret} --force`"
        )
        raise lost from None
    if now.expires_at <= before.expires_at:
        lost.hint = (
            f"the expiry did not move ({now.expires_at:%d/%m/%Y %H:%M:%S}): the portal did not "
            "reset, nothing changed and the old password still works; run the command again "
            "later"
        )
        raise lost from None
    logger.warning(
        _(
            "{}: the expiry moved to {:%d/%m/%Y %H:%M:%S}: the portal did reset; resetting once "
            "more to get a password that is kept"
        ),
        siret,
        now.expires_at,
    )
    try:
        second = reset_structure(
            run.session,
            run.home_url,
            siret,
            before_reset=lambda status: True,
            on_password=on_password,
        )
    except (PasswordRescued, Interrupted):
        raise
    except ChorusBotError as error:
        raise PasswordLost(
            f"the portal reset the password but its new one was lost ({lost.message.rstrip('.')})"
            f", and the second reset failed too ({error.message.rstrip('.')})",
            step=error.step,
            hint=_manual_procedure(siret),
        ) from None
    assert isinstance(second, ResetOutcome)
    # Compared with the expiry before the first reset: both resets may fall in the same second.
    return ResetOutcome(before=before, after=second.after)


def _read_again(
    run: BrowserRun, settings: Settings, manager: ManagerLogin, siret: str
) -> TechnicalStatus:
    """The structure's status in a fresh page, logged in again if the session is gone."""
    if run.fresh_session() or run.home_url is None:
        run.home_url = enter_chorus_pro(run.session, settings.portal_url, manager)
    try:
        return check_structure(run.session, run.home_url, siret)
    except SessionExpired:
        logger.info(_("{}: the portal session ended: logging in again"), siret)
        run.home_url = enter_chorus_pro(run.session, settings.portal_url, manager)
        return check_structure(run.session, run.home_url, siret)


def after_reset(
    settings: Settings, new: NewPassword, report: ResetReport, record: audit.AuditRecord
) -> None:
    """What follows a confirmed reset: prove the new password, then hand it over.

    The password is already in the keyring here. A step that fails must never undo the reset:
    it raises its own error (exit code documented) or adds a warning to `report.warnings`.
    Each step appends its name and outcome to `record.detail` for the audit trail.
    """
    try:
        _verify_new_password(settings, new, report, record)
    except VerificationFailed:
        record.outcome = "reset-rejected-by-api"
        raise  # a password the API refuses is not handed over
    except PisteError as error:
        record.outcome = "reset-unverified"
        # The API could not be asked. The old password no longer works on the portal, so the
        # connector is better off with the new one: hand it over, then report.
        _hand_over(settings, new, report, record)
        error.message = T(
            "the reset is done and the new password stored and handed over, but it could not "
            "be verified: {message}",
            message=error.message,
        )
        error.hint = T(
            "run `chorus-bot verify --structure {siret}` once PISTE answers again",
            siret=new.siret,
        )
        raise
    _hand_over(settings, new, report, record)


def _verify_new_password(
    settings: Settings, new: NewPassword, report: ResetReport, record: audit.AuditRecord
) -> None:
    """When PISTE is set up: the API must accept the new password, or the run exits 1.

    A rejected password is not handed over; the previous one stays in the keyring beside it.
    """
    outcome = verification.verify_new_password(settings, new.siret, new.login, new.password)
    if outcome is not None:
        note = f"verify: {outcome}"
        record.detail = f"{record.detail}; {note}" if record.detail else note
        report.notes.append(T("Verified       : the Chorus Pro API accepts the new password"))


def _hand_over(
    settings: Settings, new: NewPassword, report: ResetReport, record: audit.AuditRecord
) -> None:
    """post_reset_command, then the e-mail, which can then say whether the push worked."""
    from bot import handover

    command_outcome = None
    if settings.post_reset_command:
        try:
            handover.run_post_reset_command(
                settings.post_reset_command, settings.post_reset_timeout, new
            )
            command_outcome = "réussie"
            _note_handover(record, "post_reset_command: ok")
        except HandoverFailed as error:
            command_outcome = f"ÉCHEC ({redactor.redact(error.message)})"
            _handover_failed(report, record, error)
    mail = settings.mail
    if mail is not None and report.after is not None:
        try:
            message = handover.build_message(
                mail,
                new,
                report.after,
                keyring_service=secret_store.technical_service(new.siret),
                command_outcome=command_outcome,
            )
            handover.send_mail(mail, message)
            _note_handover(
                record,
                f"mail: sent to {len(mail.recipients)} recipient(s)"
                + (" WITH the password" if mail.include_password else ""),
            )
        except HandoverFailed as error:
            _handover_failed(report, record, error)


def _note_handover(record: audit.AuditRecord, text: str) -> None:
    record.detail = f"{record.detail}; {text}" if record.detail else text


def _handover_failed(report: ResetReport, record: audit.AuditRecord, error: HandoverFailed) -> None:
    line = redactor.redact(error.one_line(localized=True))
    logger.warning(_("{}: the reset is done, but {}"), report.siret, line)
    report.warnings.append(line)
    report.handover_failures.append(error.step or "hand-over")
    _note_handover(record, f"{error.step}: FAILED ({redactor.redact(error.message)})")
    record.exit_code = EXIT_HANDOVER_FAILED


def _confirm_reset(siret: str, result: ResetOutcome, record) -> ResetReport:
    before, after = result.before.expires_at, result.after.expires_at
    if after is not None:
        record.expiry_after = after.isoformat()
    # Without a date to compare (the portal shows none), the portal's own answer to the
    # request, which the flow waited for, is the confirmation.
    if before is not None and after is not None and after <= before:
        record.outcome = "reset-unconfirmed"
        raise ResetNotConfirmed(
            T(
                "the portal still shows the expiry {expires_at:%d/%m/%Y %H:%M:%S} after the reset",
                expires_at=after,
            ),
            step=T("expiry re-read"),
            hint=T(
                "both passwords are kept in the keyring (current and `previous`): "
                "check on the portal which one works"
            ),
        )
    record.outcome, record.exit_code = "reset", EXIT_OK
    return ResetReport(
        siret=siret,
        action="reset",
        before=result.before,
        after=result.after,
        stored_in=secret_store.technical_service(siret),
    )
