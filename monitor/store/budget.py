"""The developer app's API budget in the database, shared by every process that uses it (issue 14).

TikTok counts requests per app (tiktok-api.md §8.1), so N replicas with a limiter each could send N x
``max_qps``. Here a process *leases batches of tokens* instead of paying a database round trip per request:
:meth:`AppBudget.lease` runs one short write transaction that locks the app's ``api_budget`` row (``SELECT ...
FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` makes it the only writer), reads the time, sums the
tokens leased in the last second and minute (``api_budget_leases``), records a batch of at most what is left
and deletes leases older than a minute (when there are any: most leases delete nothing). The process spends the
batch through its own :class:`~monitor.tiktok.ratelimit.RateLimiter` windows, and only within ``validity`` seconds
of asking: a token not spent by then is lost, never carried over.

**Why the sum stays within budget.** A batch leased at ``t`` is spent within ``[t, t + validity)``. A request
sent in any window ``[a, a + w]`` (``w`` = one second plus the margin) therefore comes from a batch leased in
``(a - validity, a + w]``; the newest of them checked, under the lock, that the batches leased in the
``w + validity`` before it, its own included, hold at most ``max_qps`` tokens. Batches are leased in lock
order and ``t`` is read once the lock is held, so every earlier batch is visible with a smaller ``t``. The
price: the fleet sends at most ``max_qps`` per ``w + validity`` seconds (about 8.3/s for 10 with the defaults),
and a batch no request used costs its tokens until it leaves the window.

**Time.** On PostgreSQL ``t`` is the database server's ``clock_timestamp()``: one clock for every replica,
whatever their hosts' clocks say. SQLite is one file on one host, so the host's wall clock (``wall``) serves.

**The shared pause.** :meth:`AppBudget.pause` records an app-wide throttle (40100) one process met:
``paused_until``, the pause's length (so the next process that is throttled after it escalates from there) and
``slow_until`` (half rate until then). Every lease returns them; a paused app leases no tokens. A process
therefore learns of another's pause at its next lease, at most ``validity`` after the pause was recorded (plus
the requests already on the wire).

**SQLite** runs a lease's transaction in one trip to the connection's thread, committed without an fsync
(:mod:`monitor.store.budget_sqlite`); PostgreSQL's goes through SQLAlchemy. Both grant by :meth:`AppBudget._grant`.

If the database cannot be reached the limiter goes on alone (see RateLimiter), as before this module.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.budget_sqlite import Decide, Sums, lease_in_one_trip
from monitor.store.db import translate_errors, writing
from monitor.store.lease import dialect_insert
from monitor.store.models import ApiBudgetLeaseRow, ApiBudgetRow
from monitor.store.sqlite_trips import TripConnection
from monitor.store.writelock import WriteLockWatch
from monitor.tiktok.ratelimit import DEFAULT_MARGIN
from monitor.tiktok.shared_budget import BudgetLease

budget_t = ApiBudgetRow.__table__
leases_t = ApiBudgetLeaseRow.__table__

#: How long a leased batch may be spent after it was asked for (see the module docstring).
VALIDITY = 0.1
#: The app key when the configuration names no app_id.
DEFAULT_APP = "default"


class AppBudget:
    """One app's budget in the database: :meth:`lease` batches of tokens, :meth:`pause` the app. Implements
    :class:`monitor.tiktok.shared_budget.SharedBudget`. ``round_trips`` counts the transactions, ``batches`` the
    leases that gave tokens (for bench/), ``deletes`` the leases that deleted those older than the minute.
    ``write_lock``: the store's watch of its write lock, told of each SQLite lease (SQLAlchemy's events, which it
    listens to, do not see them)."""

    def __init__(
        self,
        engine: AsyncEngine,
        app: str = DEFAULT_APP,
        *,
        margin: float = DEFAULT_MARGIN,
        validity: float = VALIDITY,
        wall: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        write_lock: WriteLockWatch | None = None,
    ) -> None:
        if validity <= 0:
            raise ValueError("validity must be positive")
        self._engine = engine
        self.app = app
        self.validity = validity
        self._second = 1.0 + margin + validity  # the windows leases are counted in (see the module docstring)
        self._minute = 60.0 + margin + validity
        self._wall = wall
        self._rng = rng or random.Random()
        self.round_trips = 0
        self.batches = 0
        self.deletes = 0
        self._statements = _Statements(app)
        self._write_lock = write_lock  # told of a SQLite lease's outcome, which SQLAlchemy's events do not see

    async def lease(self, wanted: int, qps: int, per_minute: int) -> BudgetLease:
        """At most ``wanted`` tokens the fleet's windows still allow (``qps`` per second, halved while the app is
        slowed down, and ``per_minute``); none while the app is paused. The shared pause comes with it."""
        wanted = max(1, wanted)
        self.round_trips += 1

        def decide(row: tuple[float, float, float], sums: Sums, now: float) -> BudgetLease:
            return self._grant(wanted, qps, per_minute, row, sums, now)

        async with translate_errors(), self._engine.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            if isinstance(driver, TripConnection):  # SQLite: the transaction in one trip (monitor.store.budget_sqlite)
                windows = (self._second, self._minute)
                try:
                    leased = await driver.run(lease_in_one_trip, self.app, windows, self._wall, decide)
                except sqlite3.Error as exc:  # as SQLAlchemy would have raised it: translated to a StoreError
                    if self._write_lock is not None:
                        self._write_lock.failed(str(exc))  # a lock: /healthz tells since when writes fail
                    await conn.invalidate()  # not pooled again: it may be closed, or its synchronous not restored
                    raise sa.exc.DBAPIError.instance("lease", None, exc, sqlite3.Error) from None
                if self._write_lock is not None:
                    self._write_lock.written()  # committed: the write lock was had
                lease, deleted = leased.lease, leased.deleted
            else:
                await conn.execution_options(store_write=True)
                async with conn.begin():
                    lease, deleted = await self._lease_on(conn, decide)
        if lease.tokens:
            self.batches += 1
        if deleted:
            self.deletes += 1
        return lease

    async def _lease_on(self, conn: AsyncConnection, decide: Decide) -> tuple[BudgetLease, bool]:
        """The lease's transaction through SQLAlchemy (PostgreSQL): the row locked, then the sums; whether it
        deleted the leases older than the minute."""
        statements = self._statements
        row = await self._locked_row(conn)
        now = await self._now(conn)
        second_from, minute_from = now - self._second, now - self._minute
        windows = {"second_from": second_from, "minute_from": minute_from}
        in_1s, oldest_1s, in_60s, oldest_60s, oldest = (await conn.execute(statements.sums, windows)).one()
        lease = decide(
            (row.paused_until, row.pause, row.slow_until), (int(in_1s), oldest_1s, int(in_60s), oldest_60s), now
        )
        if lease.tokens:
            await conn.execute(statements.insert, {"t": now, "tokens": lease.tokens})
        deleted = oldest is not None and oldest <= minute_from  # a DELETE only when a lease left the minute
        if deleted:
            await conn.execute(statements.delete, windows)
        return lease, deleted

    def _grant(
        self, wanted: int, qps: int, per_minute: int, row: tuple[float, float, float], sums: Sums, now: float
    ) -> BudgetLease:
        """The lease a transaction records (pure): ``row`` the app's (paused_until, pause, slow_until), ``sums``
        the tokens leased in the last second and minute and the oldest lease of each, ``now`` its time."""
        paused_until, pause, slow_until = row
        in_1s, oldest_1s, in_60s, oldest_60s = sums
        paused_for = max(0.0, paused_until - now)
        slow_for = max(0.0, slow_until - now)
        cap = max(1, qps // 2) if slow_for > 0 else qps
        tokens = 0 if paused_for > 0 else max(0, min(wanted, cap - in_1s, per_minute - in_60s))
        retry_in = paused_for
        if tokens == 0 and paused_for == 0:
            waits = []
            if in_1s >= cap and oldest_1s is not None:
                waits.append(oldest_1s + self._second - now)
            if in_60s >= per_minute and oldest_60s is not None:
                waits.append(oldest_60s + self._minute - now)
            # replicas that found it full all learn the same moment: spread their retries over half a
            # batch's life, so fewer of them ask in vain
            retry_in = max([0.01, *waits]) + self._rng.uniform(0.0, self.validity / 2)
        return BudgetLease(
            tokens=tokens,
            valid_for=self.validity,
            retry_in=retry_in,
            paused_for=paused_for,
            pause=pause,
            slow_for=slow_for,
        )

    async def pause(self, seconds: float, slow_period: float) -> None:
        """The app was throttled: pause every process for ``seconds`` from now (unless a longer pause already
        runs), then half rate for ``slow_period``."""
        self.round_trips += 1
        async with writing(self._engine) as conn:
            row = await self._locked_row(conn)
            now = await self._now(conn)
            until = max(row.paused_until, now + seconds)
            in_episode = now < row.slow_until
            values = {
                "paused_until": until,
                "pause": max(seconds, row.pause) if in_episode else seconds,
                "slow_until": max(row.slow_until, until + slow_period),
            }
            await conn.execute(sa.update(budget_t).where(budget_t.c.app == self.app).values(**values))

    async def _locked_row(self, conn: AsyncConnection) -> Any:
        select = self._statements.row
        row = (await conn.execute(select)).first()
        if row is None:  # the first lease of this app: create its row (another process may do so at once)
            insert = dialect_insert(conn, budget_t).values(app=self.app, paused_until=0.0, pause=0.0, slow_until=0.0)
            await conn.execute(insert.on_conflict_do_nothing(index_elements=["app"]))
            row = (await conn.execute(select)).one()
        return row

    async def _now(self, conn: AsyncConnection) -> float:
        """Seconds since the epoch, read once the row is locked: the server's clock on PostgreSQL."""
        if conn.dialect.name == "postgresql":
            return float((await conn.execute(_SERVER_NOW)).scalar_one())
        return self._wall()


#: The PostgreSQL server's clock, in seconds since the epoch.
_SERVER_NOW = sa.text("SELECT extract(epoch FROM clock_timestamp())")


class _Statements:
    """One app's statements of a lease, built once: SQLAlchemy then finds each compiled in its cache without
    building it and working out its cache key again (a lease is a few statements, a poll a few leases). The
    times of the windows are bound at each execution (``second_from``, ``minute_from``)."""

    def __init__(self, app: str) -> None:
        self.row = sa.select(budget_t).where(budget_t.c.app == app).with_for_update()
        t, mine = leases_t.c.t, leases_t.c.app == app
        in_second = t > sa.bindparam("second_from", type_=sa.Double)
        in_minute = t > sa.bindparam("minute_from", type_=sa.Double)
        self.sums = sa.select(
            sa.func.coalesce(sa.func.sum(sa.case((in_second, leases_t.c.tokens), else_=0)), 0),
            sa.func.min(sa.case((in_second, t), else_=None)),
            sa.func.coalesce(sa.func.sum(sa.case((in_minute, leases_t.c.tokens), else_=0)), 0),
            sa.func.min(sa.case((in_minute, t), else_=None)),
            sa.func.min(t),  # the oldest lease kept: is there one to delete?
        ).where(mine)
        self.insert = sa.insert(leases_t).values(app=app)
        self.delete = sa.delete(leases_t).where(mine, t <= sa.bindparam("minute_from", type_=sa.Double))
