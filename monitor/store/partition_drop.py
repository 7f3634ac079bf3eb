"""PostgreSQL: expired days of history go as whole partitions (monitor.store.partitions), not row by row.

A day is dropped when it lies wholly before the cutoff (pruning's ``history_cutoff``). Its rows are not all
expendable: the first snapshot each advertiser keeps (``keep``: its first successful poll at or after the cutoff,
or its newest) reads, for every entity and window, the newest row at or before it, which may be months old (an
ad whose status never changed). So, before the drop, the rows of the day that no newer row up to the advertiser's
kept poll supersedes are copied, unchanged (same ``sid``, ``poll_id``, values), into the newest partition there
is; every kept snapshot reads the same. They are moved again only when that partition expires in turn (a year
later, by default), so each day's move is small: what still stands from a year ago. The copy is one
``INSERT ... SELECT`` per table and group of advertisers whose kept polls fall on the same day (it blocks no
poll); the superseding rows are looked for in the days from the dropped one to that kept poll's only (newer rows
are newer polls'; a row moved earlier is older than the day's), so the query reads a few partitions, never the
whole history.

Then ``DROP TABLE``, which takes an ``ACCESS EXCLUSIVE`` lock on the parent table: it waits at most
:data:`monitor.store.partitions.LOCK_TIMEOUT_MS` for it (a poll queued behind waits no longer) and tries again a
few times; a day it could not drop is dropped by the next run. Until then the moved rows exist twice, with equal
values: a reader applying both reads the same snapshot. A copy made twice (a run interrupted between the copy and
the drop) is not duplicated (``ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.db import translate_errors, writing
from monitor.store.partitions import (
    COLUMNS,
    LOCK_NOT_AVAILABLE,
    LOCK_TIMEOUT_MS,
    SAME,
    TABLES,
    create,
    days,
    partition_name,
    sqlstate,
)

log = logging.getLogger(__name__)

#: Tries at a partition's lock per run, and the pause between them (seconds, growing).
ATTEMPTS = 5
PAUSE = 0.2


@dataclass(frozen=True)
class DropReport:
    """What dropping expired days did: the ``days`` dropped, the rows ``moved`` out of them first (still read by
    a kept snapshot), the ``days_left`` that could not be dropped this time (their lock was busy)."""

    days: tuple[date, ...] = ()
    moved: int = 0
    days_left: tuple[date, ...] = ()


async def drop_before(engine: AsyncEngine, before: date, keep: Mapping[str, tuple[int, date]]) -> DropReport:
    """Drop the history partitions of the days before ``before``; ``keep`` maps each advertiser to the first poll
    it keeps and that poll's day (see the module docstring)."""
    async with translate_errors(), engine.connect() as conn:
        have = await days(conn)
        await conn.rollback()
    expired = sorted({d for table in TABLES for d in have[table] if d < before})
    if not expired:
        return DropReport()
    newest = max(d for table in TABLES for d in have[table])
    into = newest if newest >= before else before
    if into not in have[TABLES[0]] or into not in have[TABLES[1]]:
        await create(engine, [into])
    dropped: list[date] = []
    left: list[date] = []
    moved = 0
    for day in expired:
        moved += await _move_needed(engine, day, into, before, keep, have)
        if await _drop(engine, day, have):
            dropped.append(day)
        else:
            left.append(day)
    if left:
        log.info("history days %s not dropped yet: their tables were busy; the next maintenance run tries again", left)
    return DropReport(tuple(dropped), moved, tuple(left))


async def _move_needed(
    engine: AsyncEngine,
    day: date,
    into: date,
    before: date,
    keep: Mapping[str, tuple[int, date]],
    have: dict[str, set[date]],
) -> int:
    """Copy the rows of ``day`` that a kept snapshot reads into the partition of ``into``; how many. One statement
    per table and group of advertisers whose kept polls fall on the same day, so that each looks for newer rows in
    the partitions up to that day only (an advertiser added last week must not make the dropping of a year-old
    day read a year of history); rows of an advertiser with no kept poll are all copied."""
    groups: dict[date, list[str]] = {}
    for advertiser_id, (_, kept_day) in keep.items():
        groups.setdefault(max(before, kept_day), []).append(advertiser_id)
    moved = 0
    async with writing(engine) as conn:
        for table in TABLES:
            if day not in have[table]:
                continue
            for upto, advertisers in sorted(groups.items()):
                params = {
                    "into": into,
                    "day": day,
                    "upto": upto,
                    "advertisers": advertisers,
                    "polls": [keep[a][0] for a in advertisers],
                }
                moved += (await conn.execute(sa.text(_copy(table, day, kept=True)), params)).rowcount
            params = {"into": into, "advertisers": sorted(keep)}
            moved += (await conn.execute(sa.text(_copy(table, day, kept=False)), params)).rowcount
    return moved


def _copy(table: str, day: date, *, kept: bool) -> str:
    """The statement copying the rows of ``day`` still read: those of the ``:advertisers`` (``kept``) that no
    newer row up to their kept poll ``:polls`` supersedes in the days ``:day`` to ``:upto``; or (not ``kept``)
    every row of the advertisers not in ``:advertisers``. Names come from monitor.store.partitions' constants and a
    date, never from input."""
    columns = ", ".join(COLUMNS[table])
    select = (
        f"INSERT INTO {table} ({columns}, day) "  # noqa: S608
        f"SELECT {', '.join(f'r.{c}' for c in COLUMNS[table])}, :into FROM {partition_name(table, day)} r "
        "JOIN entity_keys k ON k.sid = r.sid "
    )
    if not kept:
        return select + "WHERE k.advertiser_id <> ALL(CAST(:advertisers AS text[])) ON CONFLICT DO NOTHING"
    same = " AND ".join(f"n.{c} = r.{c}" for c in SAME[table])
    return (
        select + "JOIN unnest(CAST(:advertisers AS text[]), CAST(:polls AS bigint[])) "  # noqa: S608
        "AS keep(advertiser_id, poll_id) ON keep.advertiser_id = k.advertiser_id "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} n WHERE {same} AND n.poll_id > r.poll_id "
        "AND n.poll_id <= keep.poll_id AND n.day >= :day AND n.day <= :upto) "
        "ON CONFLICT DO NOTHING"
    )


async def _drop(engine: AsyncEngine, day: date, have: dict[str, set[date]]) -> bool:
    """Drop the day's partitions, each waiting at most LOCK_TIMEOUT_MS for its lock, ATTEMPTS times."""
    for table in TABLES:
        if day not in have[table]:
            continue
        for attempt in range(ATTEMPTS):
            try:
                async with translate_errors(), engine.connect() as conn, conn.begin():
                    await conn.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
                    await conn.execute(sa.text(f"DROP TABLE IF EXISTS {partition_name(table, day)}"))
                break
            except Exception as exc:
                if sqlstate(exc.__cause__ or exc) != LOCK_NOT_AVAILABLE:
                    raise
                await asyncio.sleep(PAUSE * (attempt + 1))
        else:
            return False
    return True
