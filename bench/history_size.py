"""What the history costs on disk: bytes per history row (an entity changed at one poll: its ``today`` moved on,
the older windows stay the same all day), indexes included, and per 1,000 entities per day.

    .venv/bin/python bench/history_size.py [--entities 20000] [--polls 6] [--windows 2]

Writes the snapshots of one advertiser's ads through the store's API (``store.poll``/``poll.save``), the first
poll seeing every ad, each later one changing every ad's ``today`` (spend moves on: the worst case, an account
where every ad spends all day). Measures the history's tables (monitor.store.history_codec: ``history_states``,
``history_metrics``, ``entity_keys`` with its unique index, ``history_names``) with every index: on SQLite from
``dbstat`` (their pages; the history tables are WITHOUT ROWID, so the primary key is the table), on PostgreSQL
(when TEST_POSTGRES_URL is set, in a schema of its own, dropped afterwards) ``pg_total_relation_size`` of each.
Prints bytes per history row (per entity changed per poll) and what a day costs per 1,000 entities at a 5-minute
interval (288 polls), for every entity changing at every poll and for one in ten.
Then times a backtest of that history (``monitor.backtest``: the history streamed back poll by poll, one rule on
the ads evaluated at each poll) in history rows per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.actions import GuardSettings
from monitor.backtest.model import Report
from monitor.backtest.replay import replay
from monitor.domain import EntityState, Level
from monitor.rules.loader import load_rules
from monitor.store import Store
from monitor.store import replay as history
from monitor.store.db import normalize_url

ADV = "7000000000000000001"
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
WINDOWS = ("today", "yesterday", "last_7d", "lifetime")
POLLS_PER_DAY = 288  # every 5 minutes
TABLES = ("history_states", "history_metrics", "entity_keys", "history_names")
SQLITE_INDEXES = ("sqlite_autoindex_entity_keys_1", "sqlite_autoindex_history_names_1")


def metrics(rng: random.Random, spend: float) -> dict[str, float | int | None]:
    impressions = rng.randint(0, 50_000)
    clicks = impressions // rng.randint(50, 200)
    conversions = clicks // 20
    return {
        "spend": round(spend, 2),
        "impressions": impressions,
        "clicks": clicks,
        "ctr": round(100 * clicks / impressions, 2) if impressions else None,
        "cpc": round(spend / clicks, 2) if clicks else None,
        "cpm": round(1000 * spend / impressions, 2) if impressions else None,
        "conversion": conversions,
        "cost_per_conversion": round(spend / conversions, 2) if conversions else None,
        "result": conversions,
        "cost_per_result": round(spend / conversions, 2) if conversions else None,
    }


def window(rng: random.Random, poll: int, i: int, n: int, name: str) -> dict[str, float | int | None]:
    """Today's values move on at every poll; the other windows are closed days: the same all day."""
    if name == "today":
        return metrics(rng, rng.uniform(0, 500) + poll)
    fixed = random.Random(i * 31 + n)
    return metrics(fixed, fixed.uniform(0, 500))


def ad(i: int, rng: random.Random, windows: int, poll: int) -> EntityState:
    return EntityState(
        level=Level.AD,
        id=str(1_790_000_000_000_000_000 + i),
        advertiser_id=ADV,
        name=f"Summer sale / video {i % 97} / {i}",
        operation_status="ENABLE",
        secondary_status="AD_STATUS_DELIVERY_OK",
        campaign_id=str(1_780_000_000_000_000_000 + i // 1000),
        adgroup_id=str(1_785_000_000_000_000_000 + i // 100),
        metrics={w: window(rng, poll, i, n, w) for n, w in enumerate(WINDOWS[:windows])},
    )


async def history_bytes(store: Store) -> int:
    async with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            names = ", ".join(f"'{name}'" for name in (*TABLES, *SQLITE_INDEXES))
            query = f"SELECT sum(pgsize) FROM dbstat WHERE name IN ({names})"  # noqa: S608 (constant names)
        else:
            query = "SELECT " + " + ".join(f"pg_total_relation_size('{name}')" for name in TABLES)
        size = (await conn.exec_driver_sql(query)).scalar_one()
        await conn.rollback()
    return int(size)


async def run(store: Store, backend: str, entities: int, polls: int, windows: int) -> None:
    rng = random.Random(7)
    base = 0
    for poll in range(polls):
        async with store.poll(ADV, T0 + timedelta(minutes=5 * poll)) as writer:
            writer.save([ad(i, rng, windows, poll) for i in range(entities)])
        if poll == 0:
            base = await history_bytes(store)
    rows = entities * polls
    total = await history_bytes(store)
    per_row = (total - base) / (entities * (polls - 1))  # the polls after the first: what a poll adds
    day = per_row * 1000 * POLLS_PER_DAY
    print(f"{backend}: {entities:,} ads, {polls} polls, metrics of {windows} window(s) x 10")
    print(f"  first poll (every entity new): {base / entities:,.0f} bytes per entity")
    print(
        f"  history rows {rows:,} (entities changed per poll), {per_row:,.0f} bytes per row after the first poll, "
        f"{total / rows:,.0f} on average (tables and indexes)"
    )
    print(f"  per 1,000 entities per day at 5 min: {day / 1e6:,.1f} MB all changing, {day / 1e7:,.1f} MB one in ten")
    with tempfile.TemporaryDirectory() as tmp:
        rule = Path(tmp) / "r.toml"
        rule.write_text('[[rule]]\nname = "r"\nlevel = "ad"\nwhen = "spend > 400 and conversion == 0"\n')
        ruleset = load_rules(rule, channels=())
    report = Report(since=T0)
    started = time.perf_counter()
    snapshots = history.snapshots(store.engine, ADV, T0)
    await replay(
        ruleset, snapshots, zone=UTC, currency="USD", settings=GuardSettings(), report=report, advertiser_id=ADV
    )
    took = time.perf_counter() - started
    print(f"  backtest: {report.polls} polls in {took:.1f} s, {rows / took:,.0f} history rows/s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--polls", type=int, default=6)
    parser.add_argument("--windows", type=int, default=2, choices=range(1, len(WINDOWS) + 1))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            await run(store, "SQLite", args.entities, args.polls, args.windows)
        finally:
            await store.close()
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        print("PostgreSQL: skipped (set TEST_POSTGRES_URL to include it)")
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    store = await Store.open(url, schema=schema)
    try:
        await run(store, "PostgreSQL", args.entities, args.polls, args.windows)
    finally:
        await store.close()
        engine = create_async_engine(normalize_url(url))
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
