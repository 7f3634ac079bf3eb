"""A poll whose fetch vouched that its metric values are finite is not checked again (issue 18,
monitor.fetch's ``FetchResult.finite``); one save not vouched for and the whole poll is, first poll or not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from monitor.domain import Level
from monitor.store import Store, UnstorableMetricsError

from .conftest import ADV, T0, state


class Stop(Exception):
    """Ends a poll without committing it."""


async def changes_of(store: Store, saves: list[tuple[Level, Any, bool]], at: int) -> int:
    """The number of ``entities`` rows a poll of ``saves`` (level, spend, vouched) would write; not committed."""
    with pytest.raises(Stop):
        async with store.poll(ADV, T0 + timedelta(minutes=5 * at)) as poll:
            for level, spend, finite in saves:
                poll.save([state("1", level, metrics={"today": {"spend": spend}})], levels=[level], finite=finite)
            rows, _ = poll.changes()
            raise Stop
    return len(rows)


@pytest.mark.parametrize("first_poll", [True, False])
async def test_the_store_checks_unless_every_save_of_the_poll_was_vouched_for(store: Store, first_poll: bool) -> None:
    if not first_poll:
        async with store.poll(ADV, T0) as poll:
            poll.save([state("1", Level.AD)], levels=[Level.AD])
            poll.save([state("1", Level.CAMPAIGN)], levels=[Level.CAMPAIGN], finite=True)
    nan = float("nan")
    with pytest.raises(UnstorableMetricsError):  # one level vouched for, the other not: checked
        await changes_of(store, [(Level.CAMPAIGN, 2.0, True), (Level.AD, nan, False)], at=1)
    with pytest.raises(UnstorableMetricsError):
        await changes_of(store, [(Level.AD, nan, False), (Level.CAMPAIGN, 2.0, True)], at=2)
    # every save vouched for: the comparison does not check (a false vouch is the reader's defect)
    assert await changes_of(store, [(Level.CAMPAIGN, 2.0, True), (Level.AD, nan, True)], at=3) == 2
    assert await changes_of(store, [(Level.CAMPAIGN, 2.0, True), (Level.AD, 1.0, False)], at=4) == 2


async def test_a_first_poll_committed_with_one_save_not_vouched_for_is_checked(store: Store) -> None:
    """The commit of a first poll compares slice by slice (monitor.store.poll_write): the same rule."""
    with pytest.raises(UnstorableMetricsError):
        async with store.poll(ADV, T0) as poll:
            poll.save(
                [state("1", Level.CAMPAIGN, metrics={"today": {"spend": 1.0}})], levels=[Level.CAMPAIGN], finite=True
            )
            poll.save([state("1", Level.AD, metrics={"today": {"spend": float("nan")}})], levels=[Level.AD])
    assert await store.previous_snapshot(ADV) is None  # nothing committed
