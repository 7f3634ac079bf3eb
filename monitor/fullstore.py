"""One ``storage_full`` problem for the whole database, whichever advertisers' polls met it.

A full database (or disk) is not an advertiser's problem: every poller shares one :class:`FullStore`, which keeps
the advertisers whose last poll could not be stored. The problem is present while any is, so it is told once
however many advertisers fail, and its recovery is told when the last of them stores a poll again: a small poll
that still fits beside a big one that does not clears nothing. What is told goes through the ``storage`` problem
book (:data:`STORAGE_SUBJECT`), remembered across restarts and told like every operational problem.
"""

from __future__ import annotations

from datetime import datetime

from monitor.domain import OpsKind, OpsState
from monitor.notify.problems import ProblemBook

#: The subject of the database's own problems (``storage_full``): one for every advertiser.
STORAGE_SUBJECT = "storage"


class FullStore:
    """Which advertisers' polls could not be stored because the database is full; ``book`` is the ``storage``
    problem book, which tells what it decides to tell."""

    def __init__(self, book: ProblemBook) -> None:
        self._book = book
        self._failing: set[str] = set()

    @property
    def state(self) -> OpsState | None:
        """The open ``storage_full`` problem (None: the database is not known to be full)."""
        return self._book.state(OpsKind.STORAGE_FULL)

    async def failed(self, advertiser_id: str, now: datetime, detail: str) -> None:
        """A poll of ``advertiser_id`` could not be stored: the database is full (told if due)."""
        self._failing.add(advertiser_id)
        await self._observe(True, now, detail)

    async def stored(self, advertiser_id: str, now: datetime) -> None:
        """A poll of ``advertiser_id`` was stored; the problem clears (recovery told) once no advertiser fails."""
        self._failing.discard(advertiser_id)
        if not self._failing and self._book.is_open(OpsKind.STORAGE_FULL):
            await self._observe(False, now)

    async def _observe(self, full: bool, now: datetime, detail: str = "") -> None:
        await self._book.observe(OpsKind.STORAGE_FULL, full, now, detail=detail)
