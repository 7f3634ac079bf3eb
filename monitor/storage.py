"""The daemon's watch on its own database: how big it is, how much room its disk has left, and whether it is full.

:class:`StorageWatch` measures (``Store.size``: a stat and a statvfs, or one query on PostgreSQL) at most every
:data:`MEASURE_EVERY` (the daemon asks from its outbox job, so never per request), and learns after every poll
whether the store is full (the ``storage_full`` problem the pollers share). The pure :func:`storage_problem` says
what ``/healthz`` shows: every write has failed for a lock for longer than two intervals (:func:`lock_problem`,
from the store's :class:`~monitor.store.writelock.WriteLockWatch`), the database is full (polls cannot be stored,
so nothing is watched), or its disk has less free space than ``[storage] min_free``. ``/metrics`` gets the numbers
(monitor.metrics ``database_*``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from monitor.bytesize import format_size
from monitor.clock import Clock
from monitor.domain import OpsState
from monitor.durations import format_duration
from monitor.errors import MonitorError
from monitor.store.size import StorageSize
from monitor.store.writelock import WriteLockWatch

log = logging.getLogger(__name__)

#: The database's size and free disk are measured at most this often.
MEASURE_EVERY = timedelta(seconds=60)


def lock_problem(locked_since: datetime | None, detail: str, now: datetime, limit: timedelta) -> str | None:
    """Why writing is a problem (None: it is not): every write since ``locked_since`` failed for a lock
    (``detail``: the last refusal), for longer than ``limit``."""
    if locked_since is None or now - locked_since <= limit:
        return None
    lasted = format_duration(timedelta(seconds=int((now - locked_since).total_seconds())))
    return (
        f"database locked since {locked_since:%Y-%m-%d %H:%M} UTC, every write of this process fails ({detail}) "
        f"for {lasted}: a connection keeps the database's write lock (another process stuck in a "
        "transaction, or one of this process left behind: restart it if this does not clear)"
    )


def storage_problem(
    size: StorageSize | None, full: OpsState | None, min_free: int, locked: str | None = None
) -> str | None:
    """Why the database is a problem now, for ``/healthz`` (None: it is not). ``locked`` is :func:`lock_problem`;
    ``full`` is the open ``storage_full`` problem (None: the last poll stored, or none met a full store);
    ``min_free`` 0 turns the free-space check off. A free space that is unknown (PostgreSQL) is not a problem."""
    if locked is not None:
        return locked
    if full is not None:
        return (
            f"database full since {full.since:%Y-%m-%d %H:%M} UTC, polls are not stored ({full.detail}): free space "
            "on its disk (or raise [storage] max_size); polling resumes by itself"
        )
    if size is not None and size.free_bytes is not None and size.free_bytes < min_free:
        return (
            f"database disk nearly full: {format_size(size.free_bytes)} free, below [storage] min_free "
            f"{format_size(min_free)} (the database is {format_size(size.bytes)})"
        )
    return None


class StorageWatch:
    """The last measurement and the full state of the database; ``measure`` is ``Store.size``. ``write_lock``
    (the store's) tells since when every write failed for a lock, a problem after ``locked_after``."""

    def __init__(
        self,
        measure: Callable[[], Awaitable[StorageSize]],
        *,
        clock: Clock,
        min_free: int,
        every: timedelta = MEASURE_EVERY,
        write_lock: WriteLockWatch | None = None,
        locked_after: timedelta = timedelta(minutes=1),
    ) -> None:
        self._measure = measure
        self._clock = clock
        self.min_free = min_free
        self._every = every
        self._write_lock = write_lock
        self._locked_after = locked_after
        self.size: StorageSize | None = None
        self.full: OpsState | None = None
        self._measured_at: datetime | None = None

    async def refresh(self) -> bool:
        """Measure again if the last measurement is older than ``every``; whether it did. A measurement that fails
        keeps the previous one (logged)."""
        now = self._clock.now()
        if self._measured_at is not None and now - self._measured_at < self._every:
            return False
        self._measured_at = now
        try:
            self.size = await self._measure()
        except (MonitorError, OSError) as exc:
            log.warning("could not measure the database's size: %s", exc)
            return False
        return True

    @property
    def problem(self) -> str | None:
        """:func:`storage_problem` of what is known now."""
        locked = None
        if self._write_lock is not None:
            watch = self._write_lock
            locked = lock_problem(watch.locked_since, watch.detail, self._clock.now(), self._locked_after)
        return storage_problem(self.size, self.full, self.min_free, locked)

    def details(self) -> dict[str, Any]:
        """The ``storage`` part of ``/healthz``."""
        size = self.size
        return {
            "full": self.full is not None,
            "locked_since": None
            if self._write_lock is None or self._write_lock.locked_since is None
            else self._write_lock.locked_since.isoformat(),
            "problem": self.problem,
            "database_bytes": None if size is None else size.bytes,
            "free_bytes": None if size is None else size.free_bytes,
            "min_free_bytes": self.min_free,
        }
