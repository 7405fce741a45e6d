"""Many structures in one browser session, with one login: `status`, and `check`/`reset`
with `--structure` given several times, `--all`, or the config file's `structures`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    EXIT_RESCUED,
    EXIT_USAGE,
    ChorusBotError,
    ExpiryNotShown,
    NoTechnicalUser,
    StructuresNotRead,
    UsageError,
)
from bot.hosts import check_portal_url
from bot.i18n import T, _
from bot.jobs import (
    CheckReport,
    ResetReport,
    StructureLock,
    record_failure,
    reset_in_session,
)
from bot.siret import parse_siret
from flows.models import ManagerLogin, StructuresWalk
from flows.paths import each_structure_status, enter_chorus_pro

if TYPE_CHECKING:
    from flows.session import PortalSession

NO_TECHNICAL_USER = "no-technical-user"

# Called after each structure: (SIRET, structures done, total or None while unknown).
Progress = Callable[[str, int, int | None], None]

# Which exit code wins when structures end differently: a lost or unverified password beats
# a failure, which beats an expired password, which beats one expiring soon.
_SEVERITY = [
    EXIT_OK,
    EXIT_EXPIRES_SOON,
    EXIT_EXPIRED,
    EXIT_HANDOVER_FAILED,
    EXIT_USAGE,
    EXIT_FAILURE,
    EXIT_RESCUED,
]


def _no_progress(siret: str, done: int, total: int | None) -> None:
    return None


@dataclass
class StructureResult:
    siret: str
    check: CheckReport | None = None
    reset: ResetReport | None = None
    error: ChorusBotError | None = None
    # A structure with no API access: normal, nothing to read or reset, not a failure.
    no_technical_user: bool = False

    @property
    def state(self) -> str | None:
        return NO_TECHNICAL_USER if self.no_technical_user else None

    profile: str | None = None  # the `[profiles.<name>]` whose account read it
    note: str | None = None

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return self.error.exit_code
        if self.check is not None:
            return self.check.exit_code
        if self.reset is not None:
            return self.reset.exit_code  # 6 when the hand-over failed
        return EXIT_OK

    def as_dict(self) -> dict:
        data: dict = {"structure": self.siret, "exit_code": self.exit_code}
        if self.no_technical_user:
            data["state"] = NO_TECHNICAL_USER
        if self.profile is not None:
            data["profile"] = self.profile
        if self.check is not None:
            data.update(self.check.as_dict())
        if self.reset is not None:
            data["action"] = self.reset.action
            data["technical_login"] = self.reset.before.login
            data["expires_before"] = _iso(self.reset.before.expires_at)
            if self.reset.after is not None:
                data["expires_after"] = _iso(self.reset.after.expires_at)
        if self.error is not None:
            data["error"] = self.error.one_line()
        if self.note is not None:
            data["note"] = self.note
        return data


def _iso(moment) -> str | None:
    """None where the portal shows no date (the Raccordements path, see TechnicalStatus)."""
    return moment.isoformat() if moment is not None else None


class BatchResults(list[StructureResult]):
    """The structures of a run, and whether `Mes structures` was read whole (fail closed)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.structures_seen: int | None = None  # None: only given structures were looked for
        self.structures_announced: int | None = None
        self.coverage_error: ChorusBotError | None = None

    def summary(self) -> dict:
        data: dict = {}
        if self.structures_seen is not None:
            data["structures_seen"] = self.structures_seen
        if self.structures_announced is not None:
            data["structures_announced"] = self.structures_announced
        if self.coverage_error is not None:
            data["error"] = self.coverage_error.one_line()
        return data


def _covered(walk: StructuresWalk, settings: Settings, results: BatchResults, action: str) -> None:
    """Fail closed: "every structure" means at least one, and all those the page announces.

    Reading none raises (nothing else can be trusted); reading fewer than announced is kept
    on the results, so that what was read is still reported, and the exit code is 1.
    """
    results.structures_seen = len(walk.seen)
    results.structures_announced = walk.announced
    header = settings.texts.describe("structures_header")
    record = audit.AuditRecord(
        action=action,
        outcome="structures-read",
        detail=f"seen {len(walk.seen)}, announced {walk.announced}",
    )
    if not walk.seen:
        error = StructuresNotRead(
            T(
                "no structure read in `Mes structures` (looked for a table with the header "
                "{header})",
                header=header,
            )
            if walk.where == "Mes structures"
            else T(
                "no structure read in `{where}` (looked for the list {value})",
                where=walk.where,
                value=settings.texts.describe("choose_structure"),
            ),
            step=T(walk.where),
            hint=T(
                "a manager always has at least one structure, so the page has changed or did "
                "not load: see candidates.txt and the screenshot in the run folder, and set the "
                "header in the config file's [texts] if it was renamed"
            ),
        )
        record.outcome, record.exit_code = "failed", error.exit_code
        audit.append(settings.state_dir, record)
        raise error
    if walk.announced is not None and len(walk.seen) < walk.announced:
        results.coverage_error = StructuresNotRead(
            T(
                "read {count} structure(s) but the page announces {announced}",
                count=len(walk.seen),
                announced=walk.announced,
            ),
            step=T("Mes structures"),
            hint=T(
                "the pager or the table changed: the missing structures were not checked; "
                "run again, and look at the run folder"
            ),
        )
        record.outcome, record.exit_code = "incomplete", EXIT_FAILURE
    audit.append(settings.state_dir, record)


def _diagnosis(run: BrowserRun) -> Callable[[PortalSession, str, ChorusBotError], None]:
    """Keeps what the failing tab shows, in a sub-folder per structure, before it moves on."""

    def save(session: PortalSession, siret: str, error: ChorusBotError) -> None:
        if not isinstance(error, NoTechnicalUser):  # a normal state, not a failure
            run.save_diagnosis(error, name=siret, session=session)

    return save


def worst_exit_code(results: list[StructureResult]) -> int:
    codes = [result.exit_code for result in results]
    if getattr(results, "coverage_error", None) is not None:
        codes.append(EXIT_FAILURE)
    return worst_of(codes)


def worst_of(codes: Iterable[int]) -> int:
    return max(
        [*codes] or [EXIT_OK], key=lambda code: _SEVERITY.index(code) if code in _SEVERITY else 99
    )


def resolve_targets(
    settings: Settings, raw_sirets: list[str], all_structures: bool
) -> list[str] | None:
    """The SIRETs to work on, checked before any browser starts; None means every one."""
    if all_structures and raw_sirets:
        raise UsageError(
            T("--all and --structure exclude each other"), hint=T("give one or the other")
        )
    if all_structures:
        return None
    raw = raw_sirets or list(settings.structures)
    if not raw:
        raise UsageError(
            T("no structure given"),
            hint=T("use --structure SIRET (repeatable), --all, or `structures` in the config file"),
        )
    sirets: list[str] = []
    for value in raw:
        siret = parse_siret(value)
        if siret not in sirets:
            sirets.append(siret)
    return sirets


def _check_record(siret: str, outcome, settings: Settings, action: str) -> StructureResult:
    record = audit.AuditRecord(action=action, structure=siret)
    if isinstance(outcome, NoTechnicalUser):
        record.outcome, record.exit_code = NO_TECHNICAL_USER, EXIT_OK
        result = StructureResult(siret, no_technical_user=True)
    elif isinstance(outcome, ChorusBotError):
        record_failure(record, outcome)
        result = StructureResult(siret, error=outcome)
    else:
        report = CheckReport(status=outcome, warn_days=settings.warn_days)
        record.technical_login = outcome.login
        record.expiry_before = outcome.expires_at.isoformat()
        record.outcome, record.exit_code = report.state, report.exit_code
        result = StructureResult(siret, check=report)
    audit.append(settings.state_dir, record)
    return result


def check_many(
    settings: Settings,
    targets: list[str] | None,
    credentials: CredentialSource,
    *,
    action: str = "check",
    progress: Progress = _no_progress,
    readers: int | None = None,
) -> list[StructureResult]:
    """Reads each structure's expiry. Changes nothing on the portal.

    `readers` tabs read the structure pages at once (default: `concurrency`); 0 reads them in
    the list's own tab, clicking and coming back, as `reset` does.
    """
    check_portal_url(settings.portal_url, settings.allow_hosts)
    manager = credentials.manager_login()
    results = BatchResults()
    total = len(targets) if targets is not None else None
    # Read-only: a trace only with --trace, as for a single check.
    label = f"{settings.profile}-{action}-many" if settings.profile else f"{action}-many"
    with BrowserRun(settings, label, record_trace=settings.trace) as run:
        home_url = enter_chorus_pro(
            run.session, settings.portal_url, manager, on_logged_in=run.start_trace
        )
        wanted = set(targets) if targets is not None else None
        walk = StructuresWalk()
        for siret, outcome in each_structure_status(
            run.session,
            home_url,
            wanted,
            walk,
            readers=settings.concurrency if readers is None else readers,
            on_failure=_diagnosis(run),
        ):
            results.append(_check_record(siret, outcome, settings, action))
            progress(siret, len(results), total)
        if targets is None:
            _covered(walk, settings, results, action)
    if targets is not None:
        order = {siret: index for index, siret in enumerate(targets)}
        results.sort(key=lambda result: order.get(result.siret, len(order)))
    return _with_profile(results, settings)


def _with_profile(results: BatchResults, settings: Settings) -> BatchResults:
    for result in results:
        result.profile = settings.profile
    return results


def status(
    settings: Settings, credentials: CredentialSource, *, progress: Progress = _no_progress
) -> list[StructureResult]:
    """Every structure of `Mes structures`, soonest expiry first."""
    results = check_many(settings, None, credentials, action="status", progress=progress)
    ordered = sorted(
        results,
        key=lambda r: (r.check is None, r.check.days_left if r.check else 0, r.siret),
    )
    results[:] = ordered  # keeps what the walk saw
    return results


def reset_many(
    settings: Settings,
    targets: list[str] | None,
    credentials: CredentialSource,
    *,
    force: bool = False,
    progress: Progress = _no_progress,
    handled: Mapping[str, str] | None = None,
) -> list[StructureResult]:
    """Resets each structure due within `within_days` (all with `force`), one login for all.

    `handled`: SIRETs another profile already dealt with in this run (SIRET -> profile);
    `--all` leaves them alone, so that two accounts seeing one structure never both reset it.
    """
    check_portal_url(settings.portal_url, settings.allow_hosts)
    secret_store.probe()
    verification.check_configured_hosts(settings)  # before any reset, not after the first
    manager = credentials.manager_login()
    results = BatchResults()
    label = f"{settings.profile}-reset-many" if settings.profile else "reset-many"
    with BrowserRun(settings, label) as run:
        run.home_url = enter_chorus_pro(
            run.session, settings.portal_url, manager, on_logged_in=run.start_trace
        )
        if targets is None:
            targets = _due_structures(run, run.home_url, settings, force, results, handled or {})
        total = len(results) + len(targets)
        for siret in targets:
            results.append(_reset_one(run, settings, manager, siret, force=force))
            progress(siret, len(results), total)
    return _with_profile(results, settings)


def _due_structures(
    run: BrowserRun,
    home_url: str,
    settings: Settings,
    force: bool,
    results: BatchResults,
    handled: Mapping[str, str],
) -> list[str]:
    """`--all`: one walk through `Mes structures` finds those that need a reset.

    Reading no structure stops here, before any reset.
    """
    due: list[str] = []
    walk = StructuresWalk()
    # One tab, as for the resets themselves: `reset` is about secrets, not speed.
    for siret, outcome in each_structure_status(
        run.session, home_url, None, walk, readers=0, on_failure=_diagnosis(run)
    ):
        if isinstance(outcome, ExpiryNotShown) and force and outcome.status is not None:
            due.append(siret)  # the portal shows no date: --force resets it anyway
        elif isinstance(outcome, ChorusBotError):  # no technical user: skipped
            results.append(_check_record(siret, outcome, settings, "reset"))
        elif siret in handled:
            note = T("already handled by profile {profile} in this run", profile=handled[siret])
            logger.warning(_("{}: also seen by another profile: {}; not reset again"), siret, note)
            results.append(_skipped(siret, outcome, settings, note))
        elif force or outcome.days_left() <= settings.within_days:
            due.append(siret)
        else:
            results.append(_skipped(siret, outcome, settings))
    _covered(walk, settings, results, "reset")
    return due


def _skipped(siret: str, outcome, settings: Settings, note: str | None = None) -> StructureResult:
    record = audit.AuditRecord(
        action="reset",
        structure=siret,
        technical_login=outcome.login,
        expiry_before=outcome.expires_at.isoformat(),
        outcome="skipped",
        exit_code=EXIT_OK,
        detail=note,
    )
    audit.append(settings.state_dir, record)
    report = ResetReport(siret, action="skipped", before=outcome)
    return StructureResult(siret, reset=report, note=note)


def _reset_one(
    run: BrowserRun, settings: Settings, manager: ManagerLogin, siret: str, *, force: bool
) -> StructureResult:
    record = audit.AuditRecord(action="reset", structure=siret)
    try:
        with StructureLock(settings, siret):
            report = reset_in_session(run, settings, manager, siret, record, force=force)
        return StructureResult(siret, reset=report)
    except ChorusBotError as error:
        record_failure(record, error)
        if error.ends_run:
            # Without a browser, or once told to stop, no other structure can be done.
            raise
        run.save_diagnosis(error, name=siret)
        return StructureResult(siret, error=error)
    finally:
        audit.append(settings.state_dir, record)
