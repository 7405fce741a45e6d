"""Structure pages read in a few tabs at once, each going straight to its page.

The tab that walks `Mes structures` hands each row's target (a URL, or the row's form to post
again) to this pool. Each reader tab starts its navigation without waiting (see
`PortalSession.go`), so that while Python reads one tab the browser is loading the others:
the Playwright sync API drives every tab from this one thread, and the waiting happens in
the browser, on the network, where it overlaps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from loguru import logger

from bot.errors import ChorusBotError, NoTechnicalUser
from bot.i18n import N_, T
from flows.models import TechnicalStatus
from flows.perceive import Target
from flows.session import Arrival, PortalSession

Outcome = TechnicalStatus | ChorusBotError
# Reads the page a reader tab has just arrived at: (tab, SIRET, the navigation) -> outcome.
ReadPage = Callable[[PortalSession, str, Arrival], Outcome]
# Keeps what a failing tab shows (screenshot, page), before the tab moves on.
OnFailure = Callable[[PortalSession, str, ChorusBotError], None]


@dataclass(frozen=True)
class Job:
    siret: str
    target: Target
    page_number: int  # the page of `Mes structures` the target was read on
    retry: bool = False  # a second try, after a failed post


@dataclass
class _Reader:
    session: PortalSession
    job: Job | None = None
    arrival: Arrival | None = None
    failed_start: ChorusBotError | None = None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class ReaderPool:
    """Up to `size` reader tabs (the caller's politeness limit), opened when first needed."""

    def __init__(
        self,
        opener: PortalSession,
        size: int,
        *,
        home_url: str,
        read: ReadPage,
        on_failure: OnFailure,
    ) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one reader tab")
        self._opener = opener
        self._size = size
        self._home_url = home_url
        self._read = read
        self._on_failure = on_failure
        self._readers: list[_Reader] = []
        self._queue: deque[Job] = deque()
        self._busy: deque[_Reader] = deque()  # in the order they started
        self.failed_posts: list[tuple[Job, ChorusBotError]] = []

    # -- feeding ----------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        self._queue.append(job)
        self._start_idle()

    def holds_posts(self) -> bool:
        """Whether a posted form is waiting or under way (its page's view state may expire)."""
        jobs = [*self._queue, *(reader.job for reader in self._busy if reader.job)]
        return any(job.target.method == "post" for job in jobs)

    def _start_idle(self) -> None:
        while self._queue:
            reader = self._idle_reader()
            if reader is None:
                return
            self._start(reader, self._queue.popleft())

    def _idle_reader(self) -> _Reader | None:
        for reader in self._readers:
            if reader.job is None:
                return reader
        if len(self._readers) < self._size:
            with self._opener.step(N_("reader tab"), T("a new tab of the browser")):
                reader = _Reader(self._opener.new_tab())
            self._readers.append(reader)
            return reader
        return None

    def _start(self, reader: _Reader, job: Job) -> None:
        reader.job, reader.arrival, reader.failed_start = job, None, None
        session = reader.session
        try:
            with session.step(
                N_("structure page"), T("the page of structure {siret}", siret=job.siret)
            ):
                if job.target.method == "post" and _origin(session.url) != _origin(job.target.url):
                    # A form posted from a blank tab carries no SameSite cookie, so the session
                    # would be lost: the tab first shows a page of the portal, once.
                    session.page.goto(self._home_url, wait_until="commit")
                reader.arrival = session.go(job.target)
        except ChorusBotError as error:
            if error.ends_run:
                raise
            reader.failed_start = error
        self._busy.append(reader)

    # -- harvesting -------------------------------------------------------------------

    def ready(self) -> Iterator[tuple[str, Outcome]]:
        """The structures whose tab has arrived, without waiting for the others."""
        while True:
            done = next((r for r in self._busy if r.arrival is None or r.arrival.is_done()), None)
            if done is None:
                return
            self._busy.remove(done)
            yield from self._finish(done)

    def drain(self) -> Iterator[tuple[str, Outcome]]:
        """Every structure handed over, waiting for each tab in turn."""
        while self._busy:
            yield from self._finish(self._busy.popleft())

    def _finish(self, reader: _Reader) -> Iterator[tuple[str, Outcome]]:
        job = reader.job
        assert job is not None
        if reader.failed_start is not None:
            outcome: Outcome = reader.failed_start
        else:
            assert reader.arrival is not None
            outcome = self._read(reader.session, job.siret, reader.arrival)
        if isinstance(outcome, ChorusBotError) and self._retry_later(job, outcome):
            reader.job = None
            self._start_idle()
            return
        if isinstance(outcome, ChorusBotError):
            self._on_failure(reader.session, job.siret, outcome)
        reader.job = None
        self._start_idle()
        yield job.siret, outcome

    def _retry_later(self, job: Job, error: ChorusBotError) -> bool:
        """A posted form whose page's view the portal forgot (JSF keeps a few) may work again
        from the list shown anew: the walking tab retries it once, at the end."""
        if job.target.method != "post" or job.retry or isinstance(error, NoTechnicalUser):
            return False
        logger.debug("{}: the posted form failed ({}); retried at the end", job.siret, error)
        self.failed_posts.append((job, error))
        return True

    def close(self) -> None:
        for reader in self._readers:
            if reader.arrival is not None:
                reader.arrival.cancel()
            reader.session.close()
        self._readers.clear()
        self._busy.clear()
