"""Hourly history of past local days, kept for baselines and hourly profiles (:mod:`monitor.domain.baseline`,
:mod:`monitor.domain.profile`; migration 0012).

Two tables:

* ``hourly_days``: one row per (advertiser, level, local date) whose ``stat_time_hour`` report is stored, with the
  metrics it asked for. A day that is stored with every metric a rule needs is never fetched again.
* ``hourly_stats``: one row per (advertiser, level, local date, entity) that had a row in that report: its hours
  as JSON (``{"14": {"spend": 1.25, "clicks": 3}}``, local hour -> metric -> value; hours without a row left
  out). An entity of a stored day without a row here had no delivery that day.

:meth:`HourlyHistory.save_day` replaces a day (its stats and its day row) in one transaction, so a day is either
wholly stored or not at all. :func:`prune_before` forgets the days before a date (the prune job: the longest
``weeks`` any rule reads, plus a margin).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field

from monitor.domain import Level, MetricValue, aware
from monitor.store.db import reading, writing
from monitor.store.models import StoreModel, UTCDateTime

#: One stored day of one entity: local hour -> metric -> value.
Hours = dict[int, dict[str, MetricValue]]
#: Rows per insert statement (SQLite's bound-parameter limit).
_CHUNK = 500
#: Stored days (of one advertiser and level each) kept in memory once read.
CACHED_DAYS = 64
#: A stored day in the cache: advertiser, level, local date, the metrics it was stored with.
_Key = tuple[str, str, date, frozenset[str]]


class HourlyDayRow(StoreModel, table=True):
    """A local day whose hourly report is stored for one level of one advertiser."""

    __tablename__ = "hourly_days"

    advertiser_id: str = Field(primary_key=True)
    level: str = Field(primary_key=True)
    day: date = Field(primary_key=True)
    metrics: str = Field(sa_type=sa.Text, nullable=False)  # comma-separated, sorted
    fetched_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class HourlyStatRow(StoreModel, table=True):
    """One entity's hours of one stored day (JSON)."""

    __tablename__ = "hourly_stats"
    __table_args__ = (sa.Index("ix_hourly_stats_day", "day"),)

    advertiser_id: str = Field(primary_key=True)
    level: str = Field(primary_key=True)
    day: date = Field(primary_key=True)
    entity_id: str = Field(primary_key=True)
    hours: str = Field(sa_type=sa.Text, nullable=False)


days_t = HourlyDayRow.__table__
stats_t = HourlyStatRow.__table__


class HourlyHistory:
    """Read and write the stored hourly days of advertisers; one that is not ``writable`` (a preview's) reads and
    keeps nothing it is given."""

    def __init__(self, engine: AsyncEngine, *, writable: bool = True) -> None:
        self._engine = engine
        self.writable = writable
        self._cache: OrderedDict[_Key, dict[str, Hours]] = OrderedDict()

    async def stored_days(self, advertiser_id: str, level: Level, days: Collection[date]) -> dict[date, frozenset[str]]:
        """Which of ``days`` are stored for the level, each with the metrics its report asked for."""
        if not days:
            return {}
        query = sa.select(days_t.c.day, days_t.c.metrics).where(
            days_t.c.advertiser_id == advertiser_id, days_t.c.level == level.value, days_t.c.day.in_(list(days))
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return {row.day: frozenset(filter(None, row.metrics.split(","))) for row in rows}

    async def load(
        self, advertiser_id: str, level: Level, days: Mapping[date, frozenset[str]]
    ) -> dict[str, dict[date, Hours]]:
        """The stored hours of ``days`` (local date -> its metrics, as :meth:`stored_days` gives them) at the level:
        entity id -> local date -> hours. A stored day changes only when it is stored again with other metrics, so
        the last :data:`CACHED_DAYS` days read are kept in memory by date and metrics: a poll reads only the days
        it has not read before (about one a day per level), and a day another process stored again is read anew."""
        wanted = {(advertiser_id, level.value, day, metrics) for day, metrics in days.items()}
        missing = {key[2]: key for key in wanted if key not in self._cache}
        if missing:
            query = sa.select(stats_t.c.entity_id, stats_t.c.day, stats_t.c.hours).where(
                stats_t.c.advertiser_id == advertiser_id, stats_t.c.level == level.value, stats_t.c.day.in_(missing)
            )
            read: dict[date, dict[str, Hours]] = {day: {} for day in missing}
            async with reading(self._engine) as conn:
                for row in await conn.execute(query):
                    read[row.day][row.entity_id] = {int(h): values for h, values in json.loads(row.hours).items()}
            for day, entities in read.items():
                self._remember(missing[day], entities)
        out: dict[str, dict[date, Hours]] = {}
        for key in sorted(wanted, key=lambda k: k[2]):
            self._cache.move_to_end(key)
            for entity_id, hours in self._cache[key].items():
                out.setdefault(entity_id, {})[key[2]] = hours
        return out

    def _remember(self, key: _Key, entities: dict[str, Hours]) -> None:
        self._cache[key] = entities
        while len(self._cache) > CACHED_DAYS:
            self._cache.popitem(last=False)

    async def save_day(
        self,
        advertiser_id: str,
        level: Level,
        day: date,
        metrics: Iterable[str],
        rows: Mapping[str, Mapping[int, Mapping[str, MetricValue]]],
        now: datetime,
    ) -> None:
        """Store one local day of the level (replacing what was stored for it): ``rows`` are entity id -> hour ->
        metric -> value, ``metrics`` what the report asked for."""
        if not self.writable:
            return
        key = (days_t.c.advertiser_id == advertiser_id) & (days_t.c.level == level.value) & (days_t.c.day == day)
        stats_key = (
            (stats_t.c.advertiser_id == advertiser_id) & (stats_t.c.level == level.value) & (stats_t.c.day == day)
        )
        values = [
            {
                "advertiser_id": advertiser_id,
                "level": level.value,
                "day": day,
                "entity_id": entity_id,
                "hours": json.dumps({str(h): dict(v) for h, v in sorted(hours.items())}, sort_keys=True),
            }
            for entity_id, hours in rows.items()
        ]
        day_row = {
            "advertiser_id": advertiser_id,
            "level": level.value,
            "day": day,
            "metrics": ",".join(sorted(set(metrics))),
            "fetched_at": aware(now),
        }
        async with writing(self._engine) as conn:
            await conn.execute(sa.delete(stats_t).where(stats_key))
            await conn.execute(sa.delete(days_t).where(key))
            for start in range(0, len(values), _CHUNK):
                await conn.execute(sa.insert(stats_t), values[start : start + _CHUNK])
            await conn.execute(sa.insert(days_t).values(day_row))


async def prune_before(engine: AsyncEngine, before: date) -> int:
    """Forget every stored hourly day before the local date ``before``; returns the days removed."""
    async with writing(engine) as conn:
        await conn.execute(sa.delete(stats_t).where(stats_t.c.day < before))
        return (await conn.execute(sa.delete(days_t).where(days_t.c.day < before))).rowcount
