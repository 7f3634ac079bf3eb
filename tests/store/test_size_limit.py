"""``[storage] max_size`` (SQLite): maintenance deletes the oldest history, a day at a time, while the database
uses more than 90 % of it, says so, and keeps the newest snapshot."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.store.maintain import used_bytes
from monitor.store.tiers import Tiers

from .conftest import ADV, T0, Database, state

HOUR = timedelta(hours=1)
KEEP_ALL = Tiers(raw=timedelta(days=30), hourly=timedelta(days=30), daily=timedelta(days=30))


async def test_the_oldest_history_goes_first_to_stay_under_max_size(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = await Database("sqlite", f"sqlite:///{tmp_path / 'monitor.db'}").open(tiers=KEEP_ALL)
    try:
        times = [T0 + n * HOUR for n in range(60)]  # 20:00 on day 1 to 07:00 on day 4
        for n, at in enumerate(times):
            async with store.poll(ADV, at) as poll:
                poll.save(
                    [
                        state(f"a{i}", name=f"ad {i} {'x' * 40}", metrics={"today": {"spend": n * i + 0.5}})
                        for i in range(300)
                    ]
                )
        newest = await store.snapshot(ADV, len(times))
        used = await used_bytes(store.engine)
        assert used is not None
        store.max_bytes = int(used * 1.05)  # above 90 % of it now
        with caplog.at_level(logging.WARNING, logger="monitor.store.maintain"):
            report = await store.maintain(times[-1] + HOUR)
        assert report.dropped_before is not None and report.dropped_before >= T0.replace(hour=0) + timedelta(days=1)
        assert "deleted to keep the database under 90% of [storage] max_size" in caplog.text
        kept = [r.started_at for r in await store.polls(ADV, limit=100)]
        assert kept and min(kept) >= report.dropped_before and times[-1] in kept
        after = await used_bytes(store.engine)
        assert after is not None and after <= 0.9 * store.max_bytes
        assert await store.snapshot(ADV, len(times)) == newest
    finally:
        await store.close()


async def test_without_max_size_nothing_is_dropped(tmp_path: Path) -> None:
    store = await Database("sqlite", f"sqlite:///{tmp_path / 'monitor.db'}").open(tiers=KEEP_ALL)
    try:
        for n in range(30):
            async with store.poll(ADV, T0 + n * HOUR) as poll:
                poll.save([state(f"a{i}", metrics={"today": {"spend": n * i + 0.5}}) for i in range(50)])
        report = await store.maintain(T0 + 31 * HOUR)
        assert report.dropped_before is None and len(await store.polls(ADV, limit=100)) == 30
    finally:
        await store.close()
