"""The database as a preview sees it: opened read-only, never created, never migrated, never leased.

:func:`open_readonly` opens the configured database so that the database itself refuses writes
(:func:`monitor.store.db.create_engine` with ``read_only``). A database that does not exist yet (no SQLite file,
or no tables: never migrated) is previewed *as if empty*: a throw-away SQLite file in a temporary directory,
migrated there and deleted on close, so the seven steps run as on a first poll; the real one stays untouched (not
even created) and :attr:`ReadOnly.note` says so. A database at another schema revision than this version's is
refused (a preview does not migrate: ``once`` or ``run`` does).

:class:`PreviewStore` is a :class:`~monitor.store.repo.Store` whose :meth:`~PreviewStore.poll` takes no lease
and commits nothing: it loads the previous snapshot in one read transaction and hands the pipeline a
:class:`~monitor.store.poll_writer.PollWriter` that is kept (``unwritten``) for the report, never written. So a preview
beside a running ``run`` never blocks it: it reads what ``run`` committed last.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import Clock
from monitor.config import Settings
from monitor.domain import Snapshot, aware
from monitor.store import db, migrate
from monitor.store.errors import SchemaVersionError
from monitor.store.hourly import HourlyHistory
from monitor.store.lease import process_owner, ttl_for
from monitor.store.poll import PollWriter
from monitor.store.repo import Store
from monitor.store.snapshots import load_current


class PreviewStore(Store):
    """A store whose polls read and never write (see the module docstring); ``unwritten`` keeps each poll's
    buffered writes, by advertiser, for the report."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock, retention: timedelta, lease_ttl: timedelta) -> None:
        super().__init__(engine, clock=clock, retention=retention, lease_ttl=lease_ttl, owner=process_owner())
        self.unwritten: dict[str, PollWriter] = {}
        self.hourly = HourlyHistory(engine, writable=False)  # past days fetched for baselines are not kept

    @asynccontextmanager
    async def poll(
        self,
        advertiser_id: str,
        now: datetime,
        *,
        owner: str | None = None,
        ttl: timedelta | None = None,
        fingerprints: bool = False,
    ) -> AsyncIterator[PollWriter]:
        """The previous snapshot and a writer that buffers what the poll would write; no lease, no commit. The
        poll's rows are worked out as a commit would (a first poll is compared only at its commit), so metrics the
        store would refuse fail the preview as they would fail the poll. The snapshot is read whole
        (``fingerprints`` changes nothing here)."""
        aware(now, "poll time")
        async with db.reading(self.engine) as conn:
            previous = await load_current(conn, advertiser_id)
        writer = PollWriter(advertiser_id, 0, now, owner or self.owner, previous, _token="")
        yield writer
        await asyncio.to_thread(writer.changes)
        self.unwritten[advertiser_id] = writer

    async def latest(self, advertiser_id: str) -> Snapshot | None:
        """The newest stored snapshot of the advertiser (None before its first poll)."""
        async with db.reading(self.engine) as conn:
            return await load_current(conn, advertiser_id)


@dataclass
class ReadOnly:
    """The preview's store and what to say about it (``note``: "" when it is the configured database)."""

    store: PreviewStore
    note: str = ""
    _scratch: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    async def close(self) -> None:
        await self.store.close()
        if self._scratch is not None:
            self._scratch.cleanup()


async def open_readonly(settings: Settings, clock: Clock) -> ReadOnly:
    """The configured database, read-only; or an empty stand-in when it does not exist yet (see the module
    docstring). Raises :class:`SchemaVersionError` for a database at another revision, and the store's errors
    when it cannot be reached."""
    storage = settings.storage
    retention, ttl = storage.retention, ttl_for(settings.monitor.poll_deadline)
    url = db.normalize_url(storage.url)
    shown = db_name(url)
    if url.startswith("sqlite") and not _sqlite_file_exists(url):
        return await _empty(f"the database {shown} does not exist yet", clock, retention, ttl)
    engine = db.create_engine(storage.url, read_only=True)
    try:
        found = await migrate.current_revisions(engine)
    except BaseException:
        await engine.dispose()
        raise
    if not found:
        await engine.dispose()
        return await _empty(f"the database {shown} has no tables yet", clock, retention, ttl)
    head = migrate.head_revision()
    if found != (head,):
        await engine.dispose()
        raise SchemaVersionError(found, head)
    return ReadOnly(PreviewStore(engine, clock=clock, retention=retention, lease_ttl=ttl))


async def _empty(why: str, clock: Clock, retention: timedelta, ttl: timedelta) -> ReadOnly:
    scratch = tempfile.TemporaryDirectory(prefix="tiktok-monitor-preview-")
    engine = db.create_engine(f"sqlite:///{Path(scratch.name) / 'empty.db'}")
    try:
        await migrate.upgrade(engine)
    except BaseException:
        await engine.dispose()
        scratch.cleanup()
        raise
    note = f"{why}: previewed as if empty (a first poll; nothing created or migrated)"
    return ReadOnly(PreviewStore(engine, clock=clock, retention=retention, lease_ttl=ttl), note, scratch)


def _sqlite_file_exists(url: str) -> bool:
    database = sa.engine.make_url(url).database
    return database is not None and database != ":memory:" and Path(database).is_file()


def db_name(url: str) -> str:
    """The database as people may see it: the SQLite path, or the PostgreSQL host and database (no password)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return f"{parsed.host or 'localhost'}/{parsed.database}"


__all__ = ["PreviewStore", "ReadOnly", "db_name", "open_readonly"]
