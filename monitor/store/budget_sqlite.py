"""A lease of the app's budget on SQLite (:class:`monitor.store.budget.AppBudget`): one trip to the connection's
thread, committed without waiting for the disk.

Why: a ``once`` of a 100,000-ad account leases about 80 batches (each burst of requests more than a batch's
validity after the last needs its own), and through SQLAlchemy a lease was six trips to aiosqlite's thread
(BEGIN IMMEDIATE, the budget's row, the sums, the INSERT, COMMIT) and an fsync of the WAL: about 1.2 ms of CPU
and 5 ms of wall each, on the path of every request that waits for it. Here the whole transaction runs in the
thread, in one function, as plain sqlite3 calls: about 0.2 ms of CPU and 0.4 ms of wall.

**Not durable, on purpose.** The transaction commits with ``PRAGMA synchronous=NORMAL`` (set before its BEGIN,
the store's own setting, ``monitor.store.db.SYNCHRONOUS``, restored after its end, in the same trip: SQLite
refuses the change inside a transaction): in WAL mode its COMMIT is visible to every other connection at once,
as before, but is not fsynced. Only a power cut or an OS crash can lose it, and that stops every process
sharing the file (SQLite is one host's), while a lease matters for a minute at most. The polls' own commits keep
``synchronous=FULL``, and their fsync of the WAL carries the leases written before them.

**The same transaction** as the SQLAlchemy path (monitor.store.budget, and PostgreSQL's): ``BEGIN IMMEDIATE``
makes it the only writer before it reads, the time is read once the lock is held, and ``decide`` (the pure
grant: :meth:`AppBudget._grant`) sees the row and the sums. An exception rolls it back in the thread. A task
cancelled while it waits cannot stop it half-way: the function runs to its end in the thread, committed or
rolled back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from monitor.store.db import SYNCHRONOUS
from monitor.tiktok.shared_budget import BudgetLease

_ROW = "SELECT paused_until, pause, slow_until FROM api_budget WHERE app = ?"
_NEW_ROW = (
    "INSERT INTO api_budget (app, paused_until, pause, slow_until) VALUES (?, 0.0, 0.0, 0.0) "
    "ON CONFLICT (app) DO NOTHING"
)
# the tokens leased in the last second and minute, the oldest lease in each, and the oldest kept (one to delete?)
_SUMS = (
    "SELECT coalesce(sum(CASE WHEN t > ? THEN tokens ELSE 0 END), 0), min(CASE WHEN t > ? THEN t END), "
    "coalesce(sum(CASE WHEN t > ? THEN tokens ELSE 0 END), 0), min(CASE WHEN t > ? THEN t END), min(t) "
    "FROM api_budget_leases WHERE app = ?"
)
_INSERT = "INSERT INTO api_budget_leases (app, t, tokens) VALUES (?, ?, ?)"
_DELETE = "DELETE FROM api_budget_leases WHERE app = ? AND t <= ?"

#: The tokens leased in the last second, the oldest lease in it, the same for the minute.
Sums = tuple[int, float | None, int, float | None]
#: The grant (pure): the app's (paused_until, pause, slow_until), the sums, the time read under the lock.
Decide = Callable[[tuple[float, float, float], Sums, float], BudgetLease]


@dataclass(frozen=True, slots=True)
class Leased:
    """What :func:`lease_in_one_trip` did: the lease, and whether it deleted the leases older than the minute."""

    lease: BudgetLease
    deleted: bool


def lease_in_one_trip(
    raw: sqlite3.Connection, app: str, windows: tuple[float, float], wall: Callable[[], float], decide: Decide
) -> Leased:
    """In the connection's thread: the lease's whole transaction (see the module docstring). ``windows``: the
    seconds the second's and the minute's leases are counted in."""
    raw.execute("PRAGMA synchronous=NORMAL")
    try:
        raw.execute("BEGIN IMMEDIATE")
        try:
            row = raw.execute(_ROW, (app,)).fetchone()
            if row is None:  # the first lease of this app: create its row (another process may do so at once)
                raw.execute(_NEW_ROW, (app,))
                row = raw.execute(_ROW, (app,)).fetchone()
            now = wall()  # once the lock is held
            second_from, minute_from = now - windows[0], now - windows[1]
            in_1s, oldest_1s, in_60s, oldest_60s, oldest = raw.execute(
                _SUMS, (second_from, second_from, minute_from, minute_from, app)
            ).fetchone()
            lease = decide(row, (int(in_1s), oldest_1s, int(in_60s), oldest_60s), now)
            if lease.tokens:
                raw.execute(_INSERT, (app, now, lease.tokens))
            deleted = oldest is not None and oldest <= minute_from  # a DELETE only when a lease left the minute
            if deleted:
                raw.execute(_DELETE, (app, minute_from))
            raw.execute("COMMIT")
        except BaseException:
            if raw.in_transaction:
                raw.rollback()
            raise
    finally:  # the store's own setting, not the one found: a NORMAL left behind would not outlive this lease
        raw.execute(f"PRAGMA synchronous={SYNCHRONOUS}")  # (if this fails, the caller discards the connection)
    return Leased(lease, deleted)
