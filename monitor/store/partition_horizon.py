"""PostgreSQL: whether the rows deleted before a transaction id (a partition's *horizon*, monitor.store.
partition_rewrite) can be left out by ``VACUUM FULL``, waiting for what holds them back, and naming it.

A deleted row is kept for every transaction that began before the delete (anywhere on the server, since a write
transaction's id holds back every database's cleanup), for every snapshot still read in this database, for a
hot-standby-feedback walsender (``datname`` is NULL), and for a replication slot's ``xmin``; a plain ``VACUUM``
holds back nothing. The ``txid_*`` functions (64-bit ids, epoch included) work on every supported PostgreSQL;
``pg_stat_activity`` and ``pg_replication_slots`` carry 32-bit ids, compared by ``age()`` (a larger age is older).
"""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.db import translate_errors

#: The first and the longest pause between two checks of a wait (seconds): it doubles from one to the other.
FIRST_RECHECK = 0.05
LONGEST_RECHECK = 1.0

# a session that holds back rows deleted before :xid32 (a 32-bit id); the same in _HELD and _SESSIONS
_HELD = sa.text(
    "SELECT txid_snapshot_xmin(txid_current_snapshot()) < CAST(CAST(:xid AS text) AS bigint) "
    "OR EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
    "AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum) "
    "AND (age(backend_xid) > age(CAST(CAST(:xid32 AS text) AS xid)) "
    "OR ((datname = current_database() OR datname IS NULL) "
    "AND age(backend_xmin) > age(CAST(CAST(:xid32 AS text) AS xid))))) "
    "OR EXISTS (SELECT 1 FROM pg_replication_slots WHERE xmin IS NOT NULL "
    "AND age(xmin) > age(CAST(CAST(:xid32 AS text) AS xid)))"
)
# never the query text: it can hold secrets
_SESSIONS = sa.text(
    "SELECT pid, datname, usename, backend_type, xact_start, state FROM pg_stat_activity "
    "WHERE pid <> pg_backend_pid() AND pid NOT IN (SELECT pid FROM pg_stat_progress_vacuum) "
    "AND (age(backend_xid) > age(CAST(CAST(:xid32 AS text) AS xid)) "
    "OR ((datname = current_database() OR datname IS NULL) "
    "AND age(backend_xmin) > age(CAST(CAST(:xid32 AS text) AS xid)))) "
    "ORDER BY xact_start NULLS LAST, pid"
)
_SLOTS = sa.text(
    "SELECT slot_name, xmin FROM pg_replication_slots "
    "WHERE xmin IS NOT NULL AND age(xmin) > age(CAST(CAST(:xid32 AS text) AS xid)) ORDER BY slot_name"
)


async def next_xid(engine: AsyncEngine) -> int:
    """The first transaction id not yet given out: every transaction committed so far has an older one."""
    async with translate_errors(), engine.connect() as conn:
        xid = (await conn.execute(sa.text("SELECT txid_snapshot_xmax(txid_current_snapshot())"))).scalar_one()
        await conn.rollback()
    return int(xid)


async def wait_until_passed(
    engine: AsyncEngine, horizon: int, deadline: float, blocked: asyncio.Event | None = None
) -> bool:
    """Whether nothing holds back the rows deleted before transaction id ``horizon`` (module docstring) by
    ``deadline`` (``time.monotonic()``); checked at once, then at pauses doubling from :data:`FIRST_RECHECK` to
    :data:`LONGEST_RECHECK`. ``blocked`` is set when a check finds something holding them back."""
    pause = FIRST_RECHECK
    async with translate_errors(), engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")  # a fresh snapshot each time
        while await _held(conn, horizon):
            if blocked is not None:
                blocked.set()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(pause, left))
            pause = min(2 * pause, LONGEST_RECHECK)
    return True


async def holders(engine: AsyncEngine, horizon: int) -> str:
    """The sessions (pid, database, user, backend type, transaction start, state) and replication slots that hold
    back rows deleted before transaction id ``horizon``, for a log line; "none found" when nothing does."""
    params = _params(horizon)
    async with translate_errors(), engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        sessions = (await conn.execute(_SESSIONS, params)).all()
        slots = (await conn.execute(_SLOTS, params)).all()
    named = [
        f"pid {pid} (database {db}, user {user}, {kind}, transaction since {began:%Y-%m-%d %H:%M:%S%z}, {state})"
        if began is not None
        else f"pid {pid} (database {db}, user {user}, {kind}, {state})"
        for pid, db, user, kind, began, state in sessions
    ]
    named += [f"replication slot {slot} (xmin {xmin})" for slot, xmin in slots]
    return "; ".join(named) or "none found"


async def _held(conn: AsyncConnection, horizon: int) -> bool:
    return bool((await conn.execute(_HELD, _params(horizon))).scalar_one())


def _params(horizon: int) -> dict[str, str]:
    return {"xid": str(horizon), "xid32": str(horizon % (1 << 32))}  # the views carry 32-bit transaction ids
