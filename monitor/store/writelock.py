"""Since when every write of this process has failed because the database is locked.

SQLite has one write lock per database file. A connection that keeps it (another process stuck in a
transaction, or a connection of this one left behind: see :mod:`monitor.store.rollback_first`) makes every other
write wait for the busy timeout and fail with "database is locked": the outbox, the heartbeat, the problems, the
polls' commits. Each failure alone looks transient; :class:`WriteLockWatch` remembers when the streak began, so
``/healthz`` can say that writing has been impossible for a while (monitor.storage) instead of leaving it to the
log.

It listens to the engine: a DBAPI error whose text says the database is locked or busy starts the streak (the
first one's time is kept), a write transaction's commit (``writing``: the ``store_write`` execution option) ends
it. Reads commit too but prove nothing about the lock, so they do not count. The app budget's lease on SQLite
runs outside SQLAlchemy (monitor.store.budget_sqlite), so its events do not fire: AppBudget tells the watch
itself (``failed`` and ``written``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import Clock

#: What SQLite says when the lock stayed taken for the whole busy timeout (SQLITE_BUSY / SQLITE_LOCKED).
LOCKED_TEXTS = ("database is locked", "database table is locked", "database is busy")


class WriteLockWatch:
    """The streak of writes refused for a lock on ``engine``'s database, timed by ``clock``."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        #: When the first write of the current streak failed (None: the last write went through, or none failed).
        self.locked_since: datetime | None = None
        #: The last refusal's message.
        self.detail: str = ""

    @classmethod
    def attach(cls, engine: AsyncEngine, clock: Clock) -> WriteLockWatch:
        """A watch that listens to ``engine`` from now on."""
        watch = cls(clock)

        @sa.event.listens_for(engine.sync_engine, "handle_error")
        def on_error(context: sa.engine.ExceptionContext) -> None:
            watch.failed(str(context.original_exception))

        @sa.event.listens_for(engine.sync_engine, "commit")
        def on_commit(conn: sa.Connection) -> None:
            if conn.get_execution_options().get("store_write", False):
                watch.written()

        return watch

    def failed(self, message: str) -> None:
        """A statement failed with ``message``: the streak starts if the database was locked."""
        text = message.strip().splitlines()[0] if message.strip() else ""
        if not any(locked in text.lower() for locked in LOCKED_TEXTS):
            return
        if self.locked_since is None:
            self.locked_since = self._clock.now()
        self.detail = text[:200]

    def written(self) -> None:
        """A write transaction commits: the lock was had, the streak (if any) is over."""
        self.locked_since = None
        self.detail = ""
