"""The preview's store works out a poll's rows as a commit would: metrics the store would refuse fail a preview of
a first poll too (a first poll is compared only at its commit, which a preview never makes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.clock import FrozenClock
from monitor.domain import EntityState, Level
from monitor.preview.readonly import PreviewStore
from monitor.store import Store, UnstorableMetricsError

ADV = "7000000000000000001"
T0 = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)


def _ad(spend: float) -> EntityState:
    return EntityState(Level.AD, "a1", ADV, name="ad", metrics={"today": {"spend": spend}})


@pytest.mark.parametrize("spend", [float("nan"), float("inf")])
async def test_a_previewed_first_poll_with_metrics_the_store_refuses_fails(tmp_path: Path, spend: float) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'monitor.db'}")  # migrated, empty: a first poll
    preview = PreviewStore(store.engine, clock=FrozenClock(T0), retention=timedelta(days=30), lease_ttl=timedelta(1))
    try:
        with pytest.raises(UnstorableMetricsError, match="finite"):
            async with preview.poll(ADV, T0) as writer:
                assert writer.previous is None
                writer.save([_ad(spend)])
        async with preview.poll(ADV, T0) as writer:  # and a storable one is kept for the report
            writer.save([_ad(1.5)])
        assert preview.unwritten[ADV] is writer
    finally:
        await store.close()
