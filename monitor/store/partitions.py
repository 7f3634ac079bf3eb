"""PostgreSQL keeps the history partitioned by day (migration 0015); SQLite keeps its two tables (nothing here
runs there).

``history_states`` and ``history_metrics`` are ``PARTITION BY RANGE (day)``: ``day`` is the UTC date of the
poll that wrote the row (``polls.started_at``, so a poll's rows all land in one partition, and a day is the span
the tiers of monitor.store.tiers compact into), part of the primary key as PostgreSQL requires. One partition per
day, ``<table>_pYYYYMMDD``, and ``<table>_default`` as the safety net: a row whose day has no partition yet goes
there, so a poll never fails for want of one. A row moved out of an expired day because a kept snapshot still
needs it (monitor.store.partition_drop) is stored under a later day than its poll's: ``day`` says where a row is
kept, never what it means; readers go by ``sid`` and ``poll_id`` alone.

Partitions are made before polls write into them: maintenance (monitor.store.maintain) creates today's and the
next :data:`AHEAD` days' every hour, and a store makes its poll's day's on the first poll of a day
(:class:`DayPartitions`), each under an advisory lock that only one process holds at a time (another one that
finds it held goes on: the partition is being made), with ``lock_timeout`` :data:`LOCK_TIMEOUT_MS` for the
``ACCESS EXCLUSIVE`` lock that ``CREATE TABLE ... PARTITION OF`` takes on the parent: a poll queued behind it
waits at most that long, and one that cannot get it is retried later (the rows meanwhile go to the default
partition). Rows found in a default partition are moved into their day's partition when it is made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.store.db import translate_errors

log = logging.getLogger(__name__)

TABLES = ("history_states", "history_metrics")
#: Each table's columns besides ``day``, and the columns a newer row of the same thing shares (its identity).
COLUMNS = {
    "history_states": (
        "sid",
        "poll_id",
        "present",
        "name",
        "operation_status",
        "secondary_status",
        "budget",
        "budget_mode",
    ),
    "history_metrics": ("sid", "window_id", "poll_id", "metric_set", "vals"),
}
SAME = {"history_states": ("sid",), "history_metrics": ("sid", "window_id")}
#: Days after today whose partitions maintenance makes ahead.
AHEAD = 2
#: How long DDL waits for its lock on a history table before giving up for now (PostgreSQL ``lock_timeout``).
LOCK_TIMEOUT_MS = 100
#: SQLSTATE lock_not_available (``lock_timeout`` expired).
LOCK_NOT_AVAILABLE = "55P03"
#: Advisory lock key: one process at a time changes the partitions ("tmhparts").
LOCK_KEY = 0x746D687061727473


def partitioned(engine_or_conn: AsyncEngine | AsyncConnection) -> bool:
    """Is the history partitioned by day here (PostgreSQL)?"""
    return engine_or_conn.dialect.name == "postgresql"


def utc_day(moment: datetime) -> date:
    """The UTC date of an aware time: the day a poll started at ``moment`` stores its rows under."""
    return moment.astimezone(UTC).date()


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def default_name(table: str) -> str:
    return f"{table}_default"


def bounds(day: date) -> str:
    return f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')"


@cache
def with_day(table: sa.Table) -> sa.TableClause:
    """A history table with its ``day`` column (which the models, shared with SQLite, do not have)."""
    return sa.table(table.name, *(sa.column(c.name, c.type) for c in table.c), sa.column("day", sa.Date))


def is_layout(name: str | None, kind: str, table: str | None = None) -> bool:
    """Is this database object a part of PostgreSQL's partitioned layout, which the models (shared with SQLite)
    do not describe: a history table's partition (``kind`` "table") or its ``day`` column (``kind`` "column" of
    ``table``)? For comparing the schema with the models."""
    if kind == "table" and name is not None:
        return any(
            name == default_name(t) or (name.startswith(f"{t}_p") and name[len(t) + 2 :].isdigit()) for t in TABLES
        )
    return kind == "column" and name == "day" and table in TABLES


async def poll_day(conn: AsyncConnection, poll_id: int) -> date:
    """The day a poll's rows are stored under (the UTC date of its start)."""
    query = sa.text("SELECT (started_at AT TIME ZONE 'UTC')::date FROM polls WHERE id = :id")
    day: date = (await conn.execute(query, {"id": poll_id})).scalar_one()
    return day


async def days(conn: AsyncConnection) -> dict[str, set[date]]:
    """The days each history table has a partition for (from the catalog: ``pg_inherits``)."""
    found: dict[str, set[date]] = {table: set() for table in TABLES}
    for table in TABLES:
        rows = await conn.execute(
            sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = CAST(:t AS regclass)"
            ),
            {"t": table},
        )
        prefix = f"{table}_p"
        for (name,) in rows:
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                found[table].add(datetime.strptime(name[len(prefix) :], "%Y%m%d").date())
    return found


async def stray_days(conn: AsyncConnection) -> set[date]:
    """The days rows in a default partition belong to (their partition was missing when they were written)."""
    out: set[date] = set()
    for table in TABLES:
        rows = await conn.execute(sa.text(f"SELECT DISTINCT day FROM {default_name(table)}"))  # noqa: S608
        out |= {row[0] for row in rows}
    return out


async def create(engine: AsyncEngine, wanted: Iterable[date]) -> bool:
    """Make the partitions of the ``wanted`` days that are missing (moving rows of those days out of the default
    partitions); True when they all exist now, False when another process holds the advisory lock or a history
    table's lock was not granted within :data:`LOCK_TIMEOUT_MS` (try again later)."""
    wanted = sorted(set(wanted))
    async with translate_errors(), engine.connect() as conn:
        try:
            async with conn.begin():
                have = await days(conn)
                if all(day in have[t] for t in TABLES for day in wanted):
                    return True
                if not (await conn.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY})).scalar():
                    return False
                have = await days(conn)  # as the process that held the lock left them
                await conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
                for table in TABLES:
                    for day in wanted:
                        if day not in have[table]:
                            await _create(conn, table, day)
        except sa.exc.DBAPIError as exc:
            if sqlstate(exc) != LOCK_NOT_AVAILABLE:
                raise
            log.info("history partitions for %s not made yet: a history table was busy", wanted)
            return False
    return True


async def _create(conn: AsyncConnection, table: str, day: date) -> None:
    name, default = partition_name(table, day), default_name(table)
    stray = f"SELECT EXISTS (SELECT 1 FROM {default} WHERE day = :d)"  # noqa: S608
    if not (await conn.execute(sa.text(stray), {"d": day})).scalar():
        await conn.execute(sa.text(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} {bounds(day)}"))
        return
    # rows of this day were written before its partition existed: they move into it
    columns = ", ".join((*COLUMNS[table], "day"))
    await conn.execute(sa.text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    await conn.execute(
        sa.text(
            f"WITH moved AS (DELETE FROM {default} WHERE day = :d RETURNING {columns}) "  # noqa: S608
            f"INSERT INTO {name} ({columns}) SELECT {columns} FROM moved"
        ),
        {"d": day},
    )
    await conn.execute(sa.text(f"ALTER TABLE {table} ATTACH PARTITION {name} {bounds(day)}"))


async def prepare(engine: AsyncEngine, now: datetime) -> bool:
    """Maintenance's part: the partitions of today and the next :data:`AHEAD` days, and of any day whose rows
    wait in a default partition. True when they all exist."""
    async with translate_errors(), engine.connect() as conn:
        strays = await stray_days(conn)
        await conn.rollback()
    today = utc_day(now)
    return await create(engine, {*strays, *(today + timedelta(days=n) for n in range(AHEAD + 1))})


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


class DayPartitions:
    """A store's check, before a poll, that the partition of the poll's day exists (made if not); asked once
    per day per process once it exists. Nothing on SQLite; never fails a poll (the default partition takes its
    rows; a failure is logged once a day)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._ready: set[date] = set()
        self._warned: set[date] = set()

    async def ready(self, now: datetime) -> None:
        day = utc_day(now)
        if not partitioned(self._engine) or day in self._ready:
            return
        try:
            made = await create(self._engine, [day])
        except Exception as exc:  # the poll goes on: its rows go to the default partition
            if day not in self._warned:
                self._warned.add(day)
                log.warning("could not make the history partition of %s (its rows go to the default one): %s", day, exc)
            return
        if made:
            self._ready.add(day)
