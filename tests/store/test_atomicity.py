"""One poll's writes commit together or not at all; a failed poll leaves the previous snapshot as the newest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.domain import AlertState, Level
from monitor.store import Notification, PollStatus, Store
from monitor.store.models import EntityRow, HistoryMetricsRow, HistoryStateRow, OutboxRow
from monitor.store.poll import begin as begin_poll

from .conftest import ADV, T0, latest_snapshot, state


class Boom(Exception):
    pass


async def rows(store: Store) -> dict[str, int]:
    out = {}
    async with store.engine.connect() as conn:
        for table in (EntityRow.__table__, HistoryStateRow.__table__, HistoryMetricsRow.__table__, OutboxRow.__table__):
            out[table.name] = (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
    return out


async def first_poll(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state("a1"), state("a2")])


def second_poll_writes(poll: Any) -> None:
    poll.save([state("a1", operation_status="DISABLE"), state("a3")])
    poll.save_alert_states([AlertState("r", ADV, Level.AD, "a1", "firing", T0)])
    poll.enqueue(Notification("slack", {"text": "a1 paused"}, ADV))


async def test_exception_in_the_poll_writes_nothing(store: Store) -> None:
    await first_poll(store)
    before, counts = await latest_snapshot(store, ADV), await rows(store)
    with pytest.raises(Boom):
        async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
            second_poll_writes(poll)
            raise Boom("rules engine crashed")
    assert await latest_snapshot(store, ADV) == before
    assert await rows(store) == counts
    assert await store.alerts.load(ADV) == {}
    failed, ok = await store.polls(ADV)
    assert (failed.status, ok.status) == (PollStatus.FAILED, PollStatus.OK)
    assert failed.errors == ("Boom: rules engine crashed",)
    advertiser = await store.advertiser(ADV)
    assert advertiser is not None
    assert (advertiser.last_poll_status, advertiser.last_poll_error) == (
        PollStatus.FAILED,
        "Boom: rules engine crashed",
    )
    # the lease was released: the next poll runs
    async with store.poll(ADV, T0 + timedelta(minutes=6)) as poll:
        poll.save([state("a1")])


@pytest.mark.parametrize("table", ["history_states", "history_metrics", "outbox", "polls"])
async def test_failure_during_the_commit_leaves_no_partial_rows(store: Store, table: str) -> None:
    """A statement failing midway through the final transaction (entities already written) rolls all back."""
    await first_poll(store)
    before, counts = await latest_snapshot(store, ADV), await rows(store)

    def fail_on(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT INTO " + table.upper(), "UPDATE " + table.upper())):
            raise Boom(f"disk full while writing {table}")

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", fail_on)
    try:
        with pytest.raises(Boom):
            async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
                second_poll_writes(poll)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", fail_on)
    assert await latest_snapshot(store, ADV) == before
    assert await rows(store) == counts
    assert await store.alerts.load(ADV) == {}


async def test_a_poll_that_never_finished_leaves_the_previous_snapshot(database: Any, clock: Any) -> None:
    """A crash mid-poll: the process dies holding the lease, its poll stays "running" and is later abandoned."""
    store = await database.open(clock)
    await first_poll(store)
    before = await latest_snapshot(store, ADV)
    # what entering `store.poll` does; the process "dies" before the block ends, so nothing else runs
    poll = await begin_poll(store.engine, ADV, T0 + timedelta(minutes=5), "crashed", timedelta(minutes=1))
    second_poll_writes(poll)
    await store.close()

    store = await database.open(clock)
    assert await latest_snapshot(store, ADV) == before
    async with store.poll(ADV, T0 + timedelta(minutes=10)) as poll:  # the lease expired: taken over
        assert poll.previous == before
        poll.save([state("a1"), state("a2")])
    statuses = [r.status for r in await store.polls(ADV)]
    assert statuses == [PollStatus.OK, PollStatus.ABANDONED, PollStatus.OK]
    await store.close()


async def test_writes_of_a_successful_poll_all_land(store: Store) -> None:
    await first_poll(store)
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        second_poll_writes(poll)
    latest = await latest_snapshot(store, ADV)
    assert latest is not None and sorted(k[1] for k in latest.entities) == ["a1", "a3"]
    assert list(await store.alerts.load(ADV)) == [("r", Level.AD, "a1")]
    (message,) = await store.outbox.fetch_due(T0 + timedelta(minutes=5))
    assert (message.payload["text"], message.poll_id) == ("a1 paused", poll.poll_id)
