"""`--ics FILE` and `--prometheus FILE`: the expiry dates where people already look.

Both files are rewritten whole after each run, atomically, so that a calendar server or
node_exporter never reads half a file. A failed read never removes what is known: a structure
that could not be read keeps its previous event and series, and a run that failed altogether
leaves the calendar as it was and still records its exit code in the metrics (so that an
alert sees the failure). `status` and `check --all` see every structure, so what they do not
list any more disappears; `check --structure` updates its structures and keeps the others.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from loguru import logger

from bot.errors import EXIT_FAILURE, EXIT_INTERRUPTED, ExportError, UsageError
from bot.i18n import T, _


@dataclass(frozen=True)
class Expiry:
    """A structure's technical password, as one run read it."""

    siret: str
    login: str
    expires_at: datetime  # aware, Europe/Paris


@dataclass(frozen=True)
class RunOutcome:
    """What the run learnt, sorted for the exports."""

    read: dict[str, Expiry]  # the structures read, with a technical user and an expiry
    without_expiry: set[str]  # read, but without a technical user (or an expiry): no entry
    failed: set[str]  # could not be read: what was known of them is kept
    complete: bool  # every structure of `Mes structures` was listed (status, --all)

    def keeps(self, siret: str) -> bool:
        """Whether the previous file's entry for this structure stays in the new one."""
        if siret in self.read or siret in self.without_expiry:
            return False
        return siret in self.failed or not self.complete


def outcome_of(results: Iterable, *, complete: bool) -> RunOutcome:
    """Sorts batch.StructureResult's: read, without technical user, failed."""
    read: dict[str, Expiry] = {}
    without: set[str] = set()
    failed: set[str] = set()
    for result in results:
        if result.error is not None:
            failed.add(result.siret)
            continue
        status = result.check.status if result.check is not None else None
        if result.no_technical_user or status is None or not status.login:
            without.add(result.siret)
        else:
            read[result.siret] = Expiry(result.siret, status.login, status.expires_at)
    return RunOutcome(read, without, failed, complete)


def check_destination(path: Path, option: str) -> Path:
    """Before any browser starts: the folder must exist, and the path must not be one."""
    path = path.expanduser()
    if path.is_dir():
        raise UsageError(
            T("{option} {path} is a folder", option=option, path=path), hint=T("give a file name")
        )
    if not path.parent.is_dir():
        raise UsageError(
            T("{option}: the folder {parent} does not exist", option=option, parent=path.parent),
            hint=T("create it first"),
        )
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """A temporary file in the same folder, then os.replace: readers see the old file or the
    new one, never a partial one. The name does not end in .prom or .ics, so node_exporter
    and calendar servers ignore it while it is written."""
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        # Calendars and metrics are read by other users (a web server, node_exporter):
        # the permissions a plain new file would get.
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def exit_code_of(error: BaseException | None) -> int:
    """The exit code the process is about to end with."""
    if error is None:
        return 0
    # typer.Exit (click's Exit) and ChorusBotError both carry `exit_code`; SystemExit `code`.
    code = getattr(error, "exit_code", None)
    if code is None and isinstance(error, SystemExit):
        code = error.code if isinstance(error.code, int) else EXIT_FAILURE
    if code is None:
        code = EXIT_INTERRUPTED if isinstance(error, KeyboardInterrupt) else EXIT_FAILURE
    return int(code)


class Exports:
    """Wraps a command: `done(results)` once read; the files are written on the way out.

    Entered before the settings are built, so that even a bad configuration is recorded in
    the metrics: the scheduler would fail the same way next time, and someone must know.
    """

    def __init__(self, *, ics: Path | None = None, prometheus: Path | None = None) -> None:
        self.ics = check_destination(ics, "--ics") if ics else None
        self.prometheus = check_destination(prometheus, "--prometheus") if prometheus else None
        if self.prometheus and self.prometheus.suffix != ".prom":
            logger.warning(
                _("--prometheus {}: node_exporter's textfile collector reads only *.prom files"),
                self.prometheus,
            )
        self.outcome: RunOutcome | None = None
        self.warn_days = 30

    def done(self, results: Iterable, *, complete: bool, warn_days: int) -> None:
        self.outcome = outcome_of(results, complete=complete)
        self.warn_days = warn_days

    def __enter__(self) -> Exports:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        run_code = code = exit_code_of(error)
        failure: ExportError | None = None
        if self.ics and self.outcome is not None:
            try:
                self._write_calendar(self.outcome)
            except ExportError as problem:
                failure, code = problem, EXIT_FAILURE
        if self.prometheus:
            outcome = self.outcome or outcome_of([], complete=False)
            try:
                self._write_metrics(outcome, code)
            except ExportError as problem:
                if failure is None:
                    failure = problem
        if failure is not None:
            if run_code not in (0, 3, 4):
                # The run's own error is the one to report; this one is only logged.
                logger.error("{}", failure.one_line(localized=True))
                return
            raise failure from None

    def _write_calendar(self, outcome: RunOutcome) -> None:
        from bot import calendar_file

        assert self.ics is not None
        try:
            previous = calendar_file.previous_events(self.ics)
            data = calendar_file.render(outcome, previous, warn_days=self.warn_days)
            write_atomically(self.ics, data)
        except OSError as error:
            raise ExportError(
                T(
                    "cannot write the calendar {ics} ({value})",
                    ics=self.ics,
                    value=error.strerror or error,
                ),
                step=T("calendar"),
                hint=T("check the folder's permissions and free space"),
            ) from None
        logger.info(_("calendar written to {}"), self.ics)

    def _write_metrics(self, outcome: RunOutcome, exit_code: int) -> None:
        from bot import metrics

        assert self.prometheus is not None
        try:
            previous = metrics.previous_expiries(self.prometheus)
            write_atomically(self.prometheus, metrics.render(outcome, previous, exit_code))
        except OSError as error:
            raise ExportError(
                T(
                    "cannot write the metrics file {prometheus} ({value})",
                    prometheus=self.prometheus,
                    value=error.strerror or error,
                ),
                step=T("metrics"),
                hint=T("check the folder's permissions and free space"),
            ) from None
        logger.info(_("metrics written to {}"), self.prometheus)
