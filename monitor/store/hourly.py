"""Hourly history of past local days, kept for baselines and hourly profiles (:mod:`monitor.domain.baseline`,
:mod:`monitor.domain.profile`; migration 0012).

Two tables:

* ``hourly_days``: one row per (advertiser, level, local date) whose ``stat_time_hour`` report is stored, with the
  metrics it asked for. A day that is stored with every metric a rule needs is never fetched again.
* ``hourly_stats``: one row per (advertiser, level, local date, entity) that had a row in that report: its hours
  as JSON (``{"14": {"spend": 1.25, "clicks": 3}}``, local hour -> metric -> value; hours without a row left
  out). An entity of a stored day without a row here had no delivery that day.

:meth:`HourlyHistory.save_day` replaces a day (its stats and its day row) in one transaction, so a day is either
wholly stored or not at all. :func:`prune_before` forgets the days before a date (the maintenance job: the longest
``weeks`` any rule reads, plus a margin).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.domain import Level, MetricValue, aware
from monitor.store.db import reading, writing
from monitor.store.models import METADATA, UTCDateTime

#: One stored day of one entity: local hour -> metric -> value.
Hours = dict[int, dict[str, MetricValue]]
#: Rows per insert statement (SQLite's bound-parameter limit).
_CHUNK = 500
#: Entity-hours (one entity's row of one hour) kept in memory once read, all cached days together: about 315
#: bytes each with 3 metrics (bench/hourly_cache.py), so about 80 MB at most. One day of 10,000 ads with delivery
#: every hour is 240,000: an advertiser that big has its older days read from the database each poll (about 0.4 s
#: a day on SQLite, measured on 2 shared cores); a day alone over the bound is never kept.
CACHED_HOURS = 250_000
#: A stored day in the cache: advertiser, level, local date, the metrics it was stored with, its version.
_Key = tuple[str, str, date, frozenset[str], datetime | None]


class StoredDay(frozenset[str]):
    """The metrics a stored day's report asked for (a frozenset, compared as one), and ``version``: the
    ``fetched_at`` of its ``hourly_days`` row, which changes each time the day is stored (None: not known, as for
    a day this process has just fetched)."""

    version: datetime | None

    def __new__(cls, metrics: Iterable[str] = (), version: datetime | None = None) -> StoredDay:
        day = super().__new__(cls, metrics)
        day.version = version
        return day


class HourlyDayRow:
    """A local day whose hourly report is stored for one level of one advertiser."""

    __table__ = sa.Table(
        "hourly_days",
        METADATA,
        sa.Column("advertiser_id", sa.String, primary_key=True, nullable=False),
        sa.Column("level", sa.String, primary_key=True, nullable=False),
        sa.Column("day", sa.Date, primary_key=True, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),  # comma-separated, sorted
        sa.Column("fetched_at", UTCDateTime, nullable=False),  # also the day's version: see save_day
    )


class HourlyStatRow:
    """One entity's hours of one stored day (JSON)."""

    __table__ = sa.Table(
        "hourly_stats",
        METADATA,
        sa.Column("advertiser_id", sa.String, primary_key=True, nullable=False),
        sa.Column("level", sa.String, primary_key=True, nullable=False),
        sa.Column("day", sa.Date, primary_key=True, nullable=False),
        sa.Column("entity_id", sa.String, primary_key=True, nullable=False),
        sa.Column("hours", sa.Text, nullable=False),
        sa.Index("ix_hourly_stats_day", "day"),
    )


days_t = HourlyDayRow.__table__
stats_t = HourlyStatRow.__table__


class HourlyHistory:
    """Read and write the stored hourly days of advertisers; one that is not ``writable`` (a preview's) reads and
    keeps nothing it is given."""

    def __init__(self, engine: AsyncEngine, *, writable: bool = True, cached_hours: int = CACHED_HOURS) -> None:
        self._engine = engine
        self.writable = writable
        self._cached_hours = cached_hours
        self._cache: OrderedDict[_Key, tuple[dict[str, Hours], int]] = OrderedDict()  # day -> (rows, its hours)
        self._hours = 0  # entity-hours in the cache

    @property
    def hours_cached(self) -> int:
        """Entity-hours the cache holds now (at most the ``cached_hours`` it was made with)."""
        return self._hours

    async def stored_days(self, advertiser_id: str, level: Level, days: Collection[date]) -> dict[date, StoredDay]:
        """Which of ``days`` are stored for the level, each with the metrics its report asked for and its
        version."""
        if not days:
            return {}
        query = sa.select(days_t.c.day, days_t.c.metrics, days_t.c.fetched_at).where(
            days_t.c.advertiser_id == advertiser_id, days_t.c.level == level.value, days_t.c.day.in_(list(days))
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return {row.day: StoredDay(filter(None, row.metrics.split(",")), aware(row.fetched_at)) for row in rows}

    async def load(
        self, advertiser_id: str, level: Level, days: Mapping[date, frozenset[str]]
    ) -> dict[str, dict[date, Hours]]:
        """The stored hours of ``days`` (local date -> its metrics, as :meth:`stored_days` gives them) at the level:
        entity id -> local date -> hours. A stored day changes only when it is stored again, which changes its
        version, so the days read last are kept in memory by date, metrics and version (at most
        :data:`CACHED_HOURS` entity-hours in all, the least recently read forgotten first; a bigger day is not
        kept): a poll reads only the days it has not read before (about one a day per level), and a day another
        process stored again is read anew. A day without a version (a plain frozenset) is read, never kept."""
        wanted = {
            day: (advertiser_id, level.value, day, metrics, getattr(metrics, "version", None))
            for day, metrics in days.items()
        }
        missing = [day for day, key in wanted.items() if key[4] is None or key not in self._cache]
        read: dict[date, dict[str, Hours]] = {day: {} for day in missing}
        if missing:
            query = sa.select(stats_t.c.entity_id, stats_t.c.day, stats_t.c.hours).where(
                stats_t.c.advertiser_id == advertiser_id, stats_t.c.level == level.value, stats_t.c.day.in_(missing)
            )
            async with reading(self._engine) as conn:
                for row in await conn.execute(query):
                    read[row.day][row.entity_id] = {int(h): values for h, values in json.loads(row.hours).items()}
        out: dict[str, dict[date, Hours]] = {}
        for day in sorted(wanted):
            key = wanted[day]
            if day in read:
                entities = read[day]
                if key[4] is not None:
                    self._remember(key, entities)
            else:
                self._cache.move_to_end(key)
                entities = self._cache[key][0]
            for entity_id, hours in entities.items():
                out.setdefault(entity_id, {})[day] = hours
        return out

    def _remember(self, key: _Key, entities: dict[str, Hours]) -> None:
        for old in [k for k in self._cache if k[:3] == key[:3]]:  # the day's other versions or metrics: stale
            self._hours -= self._cache.pop(old)[1]
        size = sum(len(hours) for hours in entities.values())
        if size > self._cached_hours:
            return  # a day bigger than the whole cache: read each time, never kept
        self._cache[key] = (entities, size)
        self._hours += size
        while self._hours > self._cached_hours:
            _, (_, forgotten) = self._cache.popitem(last=False)
            self._hours -= forgotten

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
        }
        async with writing(self._engine) as conn:
            # fetched_at is the day's version (what readers' caches are keyed by): a day stored again gets a later
            # one even when two stores' clocks say the same time
            before = (await conn.execute(sa.select(days_t.c.fetched_at).where(key))).scalar_one_or_none()
            fetched = aware(now)
            if before is not None and aware(before) >= fetched:
                fetched = aware(before) + timedelta(microseconds=1)
            await conn.execute(sa.delete(stats_t).where(stats_key))
            await conn.execute(sa.delete(days_t).where(key))
            for start in range(0, len(values), _CHUNK):
                await conn.execute(sa.insert(stats_t), values[start : start + _CHUNK])
            await conn.execute(sa.insert(days_t).values({**day_row, "fetched_at": fetched}))


async def prune_before(engine: AsyncEngine, before: date) -> int:
    """Forget every stored hourly day before the local date ``before``; returns the days removed."""
    async with writing(engine) as conn:
        await conn.execute(sa.delete(stats_t).where(stats_t.c.day < before))
        return (await conn.execute(sa.delete(days_t).where(days_t.c.day < before))).rowcount
