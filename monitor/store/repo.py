"""The store's front door: the only way the rest of the daemon touches the database.

::

    store = await Store.open("sqlite:///monitor.db", retention=timedelta(days=30))
    async with store.poll(advertiser_id, now) as poll:     # takes the advertiser's lease (LeaseHeldError if busy)
        previous = poll.previous                           # newest committed snapshot, or None
        poll.save(states)                                  # what this poll saw
        diff = diff_snapshots(previous, poll.current)
        poll.save_alert_states(...); poll.enqueue(...)     # committed together with the snapshot
        poll.save_holds(...); poll.end_holds(...)          # likewise
    # leaving the block commits everything in one transaction; an exception rolls all of it back
    await store.close()

Every method returns frozen value objects (monitor.store.values), never ORM rows. All times are aware UTC.
This module has the store's opening and closing and its polls; older snapshots and maintenance are its history
face (monitor.store.repo_history), the advertisers' rows its advertisers face (monitor.store.repo_advertisers).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import Clock, SystemClock
from monitor.domain import Level, aware
from monitor.store import bulk, db, lease, migrate, snapshots
from monitor.store import poll as polling
from monitor.store.alerts import Alerts
from monitor.store.approvals import Approvals
from monitor.store.breaker import BreakerEpisodes
from monitor.store.commit_wait import CommitUnfinishedError
from monitor.store.holds import Holds
from monitor.store.hourly import HourlyHistory
from monitor.store.journal import Journal
from monitor.store.lease import process_owner
from monitor.store.models import PollRow
from monitor.store.outbox import Outbox
from monitor.store.partitions import DayPartitions
from monitor.store.poll import PollWriter
from monitor.store.pollreads import PollReads, poll_reads
from monitor.store.problems import Problems
from monitor.store.repo_advertisers import AdvertiserAccess
from monitor.store.repo_history import HistoryAccess
from monitor.store.shards import Fence, Shards
from monitor.store.silences import Silences
from monitor.store.tiers import Tiers
from monitor.store.values import PollRun, PollStatus
from monitor.store.writelock import WriteLockWatch

log = logging.getLogger(__name__)
polls_t = PollRow.__table__

DEFAULT_RETENTION = timedelta(days=90)


#: The lease TTL for the default poll deadline (80 % of the default 5-minute interval): 60 s.
DEFAULT_LEASE_TTL = lease.ttl_for(timedelta(minutes=4))
RECORD_FAILURE_SECONDS = 10.0


class Store(HistoryAccess, AdvertiserAccess):
    """Snapshots, poll runs, alert states, holds, the outbox and the action journal of one database.

    ``journal``, ``outbox``, ``alerts``, ``holds``, ``silences``, ``problems`` (operational problems remembered across
    restarts) and ``breaker`` (the actions' circuit breaker) are the sub-repositories for those tables. Open with
    :meth:`open` (which upgrades an older schema and refuses a newer one) and close with :meth:`close`. Older
    snapshots and maintenance come from :class:`~monitor.store.repo_history.HistoryAccess`, the advertisers' rows
    from :class:`~monitor.store.repo_advertisers.AdvertiserAccess`.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock,
        retention: timedelta,
        lease_ttl: timedelta,
        owner: str,
        tiers: Tiers | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.retention = retention
        #: The history's tiers (monitor.store.tiers); by default hourly up to ``retention``.
        self.tiers = tiers or Tiers.following(retention)
        #: ``[storage] max_size`` (SQLite): maintenance deletes the oldest history to stay under 90 % of it.
        self.max_bytes: int | None = None
        self.lease_ttl = lease_ttl
        self.owner = owner
        #: Seconds a failed poll may spend recording its failure and giving its lease back, and a cancelled one
        #: waiting for its COMMIT under way (PostgreSQL).
        self.record_failure_timeout = RECORD_FAILURE_SECONDS
        #: Rows a poll's commit builds and hands to the driver at a time (monitor.store.poll_write).
        self.write_slice = bulk.SLICE_ROWS
        #: False: a poll upserts every ``entities`` row, none updated by its metrics alone (monitor.store.poll_write).
        self.metrics_updates = True
        self.journal = Journal(engine, clock)
        self.outbox = Outbox(engine)
        self.alerts = Alerts(engine)
        self.holds = Holds(engine)
        self.silences = Silences(engine)
        self.approvals = Approvals(engine)
        self.problems = Problems(engine)
        self.breaker = BreakerEpisodes(engine)
        self.shards = Shards(engine)
        self.hourly = HourlyHistory(engine)  # past days' hourly reports, for baselines
        self.partitions = DayPartitions(engine)  # PostgreSQL: the history's partition of a poll's day
        self.write_lock = WriteLockWatch.attach(engine, clock)  # since when every write fails for a lock
        #: The fence of a poll of an advertiser (its shard, owner and epoch), or None for no fencing: given by
        #: the replica's shard assignment (monitor.replicas) in ``run``; ``once`` and tools poll unfenced.
        self.fence_of: Callable[[str], Fence | None] = _no_fence
        #: Advertisers whose row this store wrote or found (rows of ``advertisers`` are never deleted): a poll of
        #: one need not insert it.
        self._stored_advertisers: set[str] = set()

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        schema: str | None = None,
        clock: Clock | None = None,
        retention: timedelta = DEFAULT_RETENTION,
        lease_ttl: timedelta = DEFAULT_LEASE_TTL,
        busy_timeout: float = 30.0,
        owner: str | None = None,
        max_bytes: int | None = None,
        tiers: Tiers | None = None,
    ) -> Store:
        """Connect to ``url`` (``sqlite:///path``, ``postgresql://...``) and bring its schema up to date.

        Raises :class:`SchemaVersionError` for a database written by a newer monitor, :class:`MigrationError`
        if an upgrade fails (rolled back), :class:`StoreUnavailableError` if the database cannot be reached.
        ``owner`` names this process in leases (default ``host:pid``); ``lease_ttl`` is how long a lease outlives
        its holder's last heartbeat (see :mod:`monitor.store.lease`; the daemon derives it from the poll deadline).
        ``max_bytes`` (SQLite) caps the database file: writes beyond it fail with :class:`StoreFullError`.
        """
        engine = db.create_engine(url, schema=schema, busy_timeout=busy_timeout, max_bytes=max_bytes)
        try:
            await migrate.upgrade(engine, schema=schema)
        except BaseException:
            await engine.dispose()
            raise
        store = cls(
            engine,
            clock=clock or SystemClock(),
            retention=retention,
            lease_ttl=lease_ttl,
            owner=owner or process_owner(),
            tiers=tiers,
        )
        store.max_bytes = max_bytes
        return store

    async def close(self) -> None:
        await self._engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def engine(self) -> AsyncEngine:
        """The engine, for tests and benchmarks; application code goes through the methods."""
        return self._engine

    # --- polls and snapshots -------------------------------------------------------------------------------------

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
        """One poll of one advertiser, as a transaction around the block.

        On entry: takes the advertiser's lease for ``ttl`` (default ``lease_ttl``) or raises
        :class:`LeaseHeldError` (:class:`ShardLostError` when ``fence_of`` gives a fence that no longer holds),
        records a "running" poll, loads ``previous``. While the block runs, a heartbeat
        renews the lease every ``ttl / 3``. On normal exit: commits every buffered write at once (or raises
        :class:`LeaseLostError` if the lease was taken over meanwhile, writing nothing). On an exception (or a
        cancellation): writes nothing of the poll, records it as failed, re-raises. The lease is released either
        way. A cancellation that comes while the final COMMIT runs waits for it (monitor.store.commit_wait; on
        PostgreSQL for ``record_failure_timeout`` at most): committed, the block ends as if not cancelled (the
        poll is written and recorded ok, and counts); failed, as above; not ended in time, ``CancelledError``,
        with no failure recorded over the COMMIT let go. ``now`` is the poll's time: the snapshot's
        ``taken_at``. ``fingerprints``: ``previous`` read by fingerprint (monitor.store.lean, less memory through
        the poll): await ``compare()`` before reading it.
        """
        aware(now, "poll time")
        ttl = ttl or self.lease_ttl
        fence = self.fence_of(advertiser_id)
        await self.partitions.ready(now)
        stored = advertiser_id in self._stored_advertisers
        writer = await polling.begin(
            self._engine, advertiser_id, now, owner or self.owner, ttl, fence, stored=stored, fingerprints=fingerprints
        )
        self._stored_advertisers.add(advertiser_id)
        heartbeat = lease.Heartbeat(self._engine, advertiser_id, writer._token, ttl, self._clock.now)
        heartbeat.start()
        try:
            yield writer
            await heartbeat.stop()
            overran = await polling.commit(
                self._engine,
                writer,
                self._clock.now(),
                self.write_slice,
                metrics_updates=self.metrics_updates,
                commit_limit=self._record_failure_timeout(),
            )
        except GeneratorExit:  # the block was abandoned without an exception (loop shutdown): no I/O now
            heartbeat.cancel()
            raise
        except CommitUnfinishedError as exc:  # its record says what became of it once the database answers: ok if
            # committed, else "running", marked abandoned by the next poll; no failure written over it
            log.warning("poll %d of advertiser %s was cancelled: %s", writer.poll_id, advertiser_id, exc)
            raise asyncio.CancelledError(str(exc)) from None
        except BaseException as exc:
            try:
                async with asyncio.timeout(self._record_failure_timeout()):
                    await heartbeat.stop()
                    await polling.fail(self._engine, writer, self._clock.now(), _failure(exc))
            except Exception as record_exc:  # the original error matters more than failing to record it
                exc.add_note(f"(recording the failed poll also failed: {_failure(record_exc)})")
            raise
        if overran:  # cancelled while its COMMIT ran, which committed: the poll is written, and counts (not raised)
            log.info("poll %d of advertiser %s: cancelled while it committed; committed", writer.poll_id, advertiser_id)

    def _record_failure_timeout(self) -> float | None:
        """How long a failed poll may take to record its failure, and a cancelled one to wait for its COMMIT.
        PostgreSQL waits for a lock (or a COMMIT for a synchronous standby) without end, so that a cancelled poll
        (its deadline) ends even while the database hangs, the wait is bounded (the record left "running" is
        marked abandoned by the advertiser's next poll). SQLite's waits end with its busy timeout, and cancelling
        one a second time would strand the aiosqlite connection: not bounded."""
        return self.record_failure_timeout if self._engine.dialect.name == "postgresql" else None

    async def poll_reads(self, advertiser_id: str, now: datetime) -> PollReads:
        """The advertiser's alert states and live holds and the silences active at ``now``, in one read
        transaction (monitor.store.pollreads): what a poll reads besides its snapshot."""
        return await poll_reads(self._engine, advertiser_id, now)

    async def entity_names(self, keys: Iterable[tuple[str, Level, str]]) -> dict[tuple[str, Level, str], str | None]:
        """The current names of these entities, keyed ``(advertiser_id, level, entity_id)``; unknown ones absent."""
        async with db.reading(self._engine) as conn:
            return await snapshots.entity_names(conn, keys)

    async def polls(self, advertiser_id: str, limit: int = 20) -> list[PollRun]:
        """The advertiser's poll runs, newest first."""
        query = sa.select(polls_t).where(polls_t.c.advertiser_id == advertiser_id).order_by(polls_t.c.id.desc())
        async with db.reading(self._engine) as conn:
            return [_poll_run(row) for row in await conn.execute(query.limit(limit))]


def _no_fence(advertiser_id: str) -> Fence | None:
    return None


def _failure(exc: BaseException) -> str:
    """What a failed poll's record says about the exception that ended it."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _poll_run(row: Any) -> PollRun:
    return PollRun(
        id=row.id,
        advertiser_id=row.advertiser_id,
        owner=row.owner,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=PollStatus(row.status),
        api_calls=row.api_calls,
        errors=tuple(json.loads(row.errors)),
        entities=row.entities,
        rows_written=row.rows_written,
    )
