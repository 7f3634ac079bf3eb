"""The maintenance job (monitor.maintenance, the daemon's hourly ``maintenance`` job) is counted in /metrics: runs by
result, the last good one's time, the history rows it deleted and the partitions it rewrote or deferred; a run
that raises is counted ``failed`` and logged by the scheduler, and the next good run is counted ``ok``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import aiohttp
import pytest
from databases import DATABASES, own_database
from scheduling import as_poller, wait_until
from test_daemon_metrics import key, scrape

from monitor.clock import FrozenClock
from monitor.domain import EntityState, Level
from monitor.health import HealthServer, HealthState
from monitor.maintenance import maintenance
from monitor.metrics import Metrics
from monitor.scheduler import Scheduler
from monitor.store.compact import CompactReport
from monitor.store.errors import StoreError
from monitor.store.maintain import MaintenanceReport
from monitor.store.repo import Store
from monitor.store.tiers import Tiers
from monitor.store.values import PruneReport

ADV = "7000000000000000001"
FIRST = datetime(2026, 11, 24, tzinfo=UTC)
TIERS = Tiers(raw=timedelta(hours=1), hourly=timedelta(days=3), daily=timedelta(days=10))
NS = "tiktok_monitor_"


@pytest.fixture
async def metrics_url(clock: FrozenClock) -> AsyncIterator[tuple[Metrics, str]]:
    metrics = Metrics()
    async with HealthServer(
        HealthState(clock=clock, interval=timedelta(minutes=5)), metrics.registry, port=0
    ) as server:
        yield metrics, server.url + "/metrics"


@pytest.fixture(params=DATABASES)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with own_database(request.param, tmp_path, "maintenance") as url:
        opened = await Store.open(url, clock=FrozenClock(FIRST), tiers=TIERS)
        yield opened
        await opened.close()


def ad(n: int) -> EntityState:
    """An ad whose spend moves at every poll (each poll writes its history rows)."""
    return EntityState(
        level=Level.AD,
        id=f"a{n % 3}",
        advertiser_id=ADV,
        name=f"ad {n % 3}",
        operation_status="ENABLE",
        secondary_status="AD_STATUS_DELIVERY_OK",
        campaign_id="c1",
        adgroup_id="g1",
        metrics={"today": {"spend": float(n)}},
    )


async def test_a_run_is_counted_with_what_it_did(
    store: Store, metrics_url: tuple[Metrics, str], http: aiohttp.ClientSession
) -> None:
    metrics, url = metrics_url
    for n in range(12):  # an hour of polls, merged into the hour's last one
        async with store.poll(ADV, FIRST + n * timedelta(minutes=5)) as writer:
            writer.save([ad(n + i) for i in range(3)])
    clock = FrozenClock(FIRST + timedelta(days=2, hours=1))  # the first day lies wholly in the hourly tier
    values = await scrape(http, url)
    assert values[key(NS + "maintenance_runs_total", result="ok")] == 0  # present from the start
    assert values[key(NS + "maintenance_last_success_timestamp_seconds")] == 0

    report = await maintenance(store, clock, metrics, lambda: 0)

    values = await scrape(http, url)
    assert values[key(NS + "maintenance_runs_total", result="ok")] == 1
    assert values[key(NS + "maintenance_runs_total", result="failed")] == 0
    assert values[key(NS + "maintenance_last_success_timestamp_seconds")] == clock.now().timestamp()
    assert report.compacted.merged == 11 and report.compacted.history_rows > 0
    assert values[key(NS + "history_rows_deleted_total", by="compaction")] == report.compacted.history_rows
    assert values[key(NS + "history_rows_deleted_total", by="pruning")] == report.pruned.history_rows
    rewrites = {r: values[key(NS + "history_partition_rewrites_total", result=r)] for r in ("rewritten", "deferred")}
    assert rewrites == {"rewritten": len(report.rewritten), "deferred": report.rewrites_deferred}
    if store.engine.dialect.name == "postgresql":  # the day's partitions, rewritten or held back
        assert sum(rewrites.values()) >= 2


class Failing:
    """A store whose maintenance fails once, then does nothing."""

    def __init__(self) -> None:
        self.calls = 0

    async def maintain(self, now: datetime) -> MaintenanceReport:
        self.calls += 1
        if self.calls == 1:
            raise StoreError("database is locked")
        return MaintenanceReport(CompactReport(merged=1, history_rows=7), PruneReport(cutoff=now), 0, 0.0, 0)

    async def prune_hourly(self, now: datetime, baseline_weeks: int) -> int:
        return 0


async def test_a_failed_run_is_counted_and_logged_and_the_next_good_one_too(
    metrics_url: tuple[Metrics, str],
    http: aiohttp.ClientSession,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics, url = metrics_url
    failing = Failing()

    async def poll(advertiser_id: str) -> None:
        return None

    job = partial(maintenance, failing, clock, metrics, lambda: 0)
    with caplog.at_level(logging.WARNING, logger="monitor.scheduler"):
        scheduler = Scheduler(
            poll=as_poller(poll),  # no advertiser: never called
            interval=timedelta(minutes=5),
            maintain=job,
            maintenance_interval=timedelta(seconds=0.1),
        )
        scheduler.start()
        try:
            await wait_until(lambda: failing.calls >= 2)
        finally:
            await scheduler.shutdown(wait_seconds=1.0)
    values = await scrape(http, url)
    assert values[key(NS + "maintenance_runs_total", result="failed")] == 1
    assert values[key(NS + "maintenance_runs_total", result="ok")] == failing.calls - 1
    assert values[key(NS + "maintenance_last_success_timestamp_seconds")] == clock.now().timestamp()
    assert values[key(NS + "history_rows_deleted_total", by="compaction")] == 7 * (failing.calls - 1)
    assert [r.getMessage() for r in caplog.records] == ["maintenance job failed: StoreError: database is locked"]
