"""`--all-profiles`: every `[profiles.<name>]` of the config file in turn, each with its own
login and browser, one profile's failure not stopping the next."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from bot import batch, log
from bot.auth import CredentialSource
from bot.batch import StructureResult, worst_of
from bot.config import Settings, build_settings, config_file, profile_names
from bot.errors import ChorusBotError, Interrupted, UsageError
from bot.i18n import T, _

# What one profile does: (its settings, its credentials, SIRET -> profile already handled).
Work = Callable[[Settings, CredentialSource, dict[str, str]], list[StructureResult]]

# They name one account: applied to every profile, they would make them all the same one.
_ONE_ACCOUNT_ENV = ("CHORUS_BOT_USERNAME", "CHORUS_BOT_PASSWORD")


@dataclass
class ProfileRun:
    name: str
    identifiant: str | None
    results: list[StructureResult] = field(default_factory=list)
    error: ChorusBotError | None = None  # the profile as a whole failed (login, browser …)

    @property
    def coverage_error(self) -> ChorusBotError | None:
        """`Mes structures` read only in part (fail closed): the results say so."""
        return getattr(self.results, "coverage_error", None)

    @property
    def exit_code(self) -> int:
        codes = [batch.worst_exit_code(self.results)]
        if self.error is not None:
            codes.append(self.error.exit_code)
        return worst_of(codes)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "profile": self.name,
            "identifiant": self.identifiant,
            "structures": len(self.results),
        }
        if isinstance(self.results, batch.BatchResults):
            data.update(self.results.summary())
        data["exit_code"] = self.exit_code
        if self.error is not None:
            data["error"] = self.error.one_line()
        return data


def worst_exit_code(runs: list[ProfileRun]) -> int:
    return worst_of(run.exit_code for run in runs)


def run_each(options: dict[str, Any], work: Work) -> list[ProfileRun]:
    """Every profile's settings are built (and so checked) before the first browser starts."""
    names = profile_names()
    if not names:
        raise UsageError(
            T("the config file {value} has no [profiles.<name>] table", value=config_file()),
            hint=T("add one per portal account, or run without --all-profiles"),
        )
    for variable in _ONE_ACCOUNT_ENV:
        if os.environ.get(variable):
            raise UsageError(
                T(
                    "{variable} names one account, and --all-profiles runs several",
                    variable=variable,
                ),
                hint=T(
                    "unset {variable}: each profile's identifiant is in the config file and its "
                    "password in the keyring (`chorus-bot credentials set --profile NAME`)",
                    variable=variable,
                ),
            )
    every = {name: build_settings(profile=name, **options) for name in names}
    first = every[names[0]]
    log.configure(verbose=first.verbose, log_file=first.log_file)
    runs: list[ProfileRun] = []
    handled: dict[str, str] = {}
    for name, settings in every.items():
        logger.info(_("profile {}: account {}"), name, settings.identifiant or "?")
        run = ProfileRun(name, settings.identifiant)
        runs.append(run)
        try:
            credentials = CredentialSource(identifiant=settings.identifiant, imap=settings.imap)
            run.results = work(settings, credentials, handled)
        except Interrupted:
            raise  # Ctrl-C or SIGTERM: the user wants everything to stop
        except ChorusBotError as error:
            logger.debug("profile {} failed: {}", name, error.one_line())
            run.error = error
            continue
        for result in run.results:
            other = handled.setdefault(result.siret, name)
            if other != name and result.note is None:
                logger.warning(
                    _("{}: in `Mes structures` of profiles {} and {}"),
                    result.siret,
                    other,
                    name,
                )
    return runs
