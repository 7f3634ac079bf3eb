"""Migration 0017: an advertiser frozen by a poll that committed but was recorded failed (the failure path of the
monitor before session 14 wrote over a COMMIT its deadline had cancelled) is polled again after the upgrade; a
poll that failed for real (nothing of it written) is left as it is."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.domain import EntityState
from monitor.store import LeaseLostError, PollStatus, Store
from monitor.store import poll as polling
from monitor.store.migrate import current_revisions, head_revision

from .conftest import ADV, T0, Database, latest_snapshot, state
from .test_migrations import downgrade_to

MINUTE = timedelta(minutes=1)


def spent(entity_id: str, spend: float) -> EntityState:
    return state(entity_id, metrics={"today": {"spend": spend, "impressions": 10}})


async def committed_then_recorded_cancelled(store: Store, errors: tuple[str, ...] = ()) -> int:
    """A first ok poll, then a second that commits new metrics and a new ad and is then recorded failed
    "cancelled" over its COMMIT, as the failure path of the old monitor did; the second poll's id."""
    async with store.poll(ADV, T0) as first:
        first.save([spent("1", 1.0), spent("2", 1.0)])
    async with store.poll(ADV, T0 + MINUTE) as second:
        second.save([spent("1", 2.0), spent("2", 1.0), spent("3", 1.0)])
        for error in errors:
            second.note_error(error)
    await polling.fail(store.engine, second, T0 + 2 * MINUTE, "cancelled")
    return second.poll_id


async def poll_again(store: Store, minutes: int) -> None:
    async with store.poll(ADV, T0 + minutes * MINUTE, fingerprints=True) as poll:
        poll.save([spent("1", float(minutes)), spent("2", 1.0), spent("3", 1.0)])
        await poll.compare()


async def test_a_frozen_advertiser_is_polled_again_after_the_upgrade(database: Database) -> None:
    store = await database.open()
    try:
        held = await committed_then_recorded_cancelled(store, errors=("ad reports: one window missing",))
        with pytest.raises(LeaseLostError):  # frozen: the snapshot is the second poll's rows, read as the first's
            await poll_again(store, 3)
        refused = (await store.polls(ADV))[0]
        assert refused.status is PollStatus.FAILED and refused.id > held
    finally:
        await store.close()

    await downgrade_to(database, "0016")  # the database as the older monitor left it
    store = await database.open()  # upgraded on open
    try:
        assert await current_revisions(store.engine) == (head_revision(),)
        runs = {run.id: run for run in await store.polls(ADV)}
        repaired = runs[held]
        assert repaired.status is PollStatus.OK
        assert repaired.errors == ("ad reports: one window missing",)  # its own, without the failure's
        assert (repaired.entities, repaired.rows_written) == (3, 2)  # ad 1 changed, ad 3 new
        assert repaired.started_at == T0 + MINUTE and repaired.finished_at == T0 + 2 * MINUTE
        assert runs[refused.id].status is PollStatus.FAILED  # it failed for real
        advertiser = await store.advertiser(ADV)
        assert advertiser is not None and advertiser.last_poll_id == refused.id  # the newest poll stays the newest
        assert advertiser.last_poll_status is PollStatus.FAILED
        snapshot = await latest_snapshot(store, ADV)
        assert snapshot is not None and snapshot.poll_id == held and len(snapshot.entities) == 3

        await poll_again(store, 4)
        await poll_again(store, 5)
        assert [run.status for run in await store.polls(ADV, limit=2)] == [PollStatus.OK, PollStatus.OK]
        advertiser = await store.advertiser(ADV)
        assert advertiser is not None and advertiser.last_poll_status is PollStatus.OK
    finally:
        await store.close()


async def test_a_poll_recorded_failed_that_is_the_newest_says_ok_on_its_advertiser(database: Database) -> None:
    store = await database.open()
    try:
        held = await committed_then_recorded_cancelled(store)
        advertiser = await store.advertiser(ADV)
        assert advertiser is not None and advertiser.last_poll_error == "cancelled"
    finally:
        await store.close()

    await downgrade_to(database, "0016")
    store = await database.open()
    try:
        repaired = (await store.polls(ADV))[0]
        assert repaired.id == held and repaired.status is PollStatus.OK and repaired.errors == ()
        advertiser = await store.advertiser(ADV)
        assert advertiser is not None and advertiser.last_poll_id == held
        assert advertiser.last_poll_status is PollStatus.OK and advertiser.last_poll_error is None
        assert advertiser.last_poll_at == T0 + MINUTE  # the poll's time, as an ok poll records it
        await poll_again(store, 3)
    finally:
        await store.close()


async def test_a_poll_that_failed_for_real_is_left_alone(database: Database) -> None:
    store = await database.open()
    try:
        async with store.poll(ADV, T0) as first:
            first.save([spent("1", 1.0)])
        with pytest.raises(RuntimeError):
            async with store.poll(ADV, T0 + MINUTE) as second:
                second.save([spent("1", 2.0), spent("2", 1.0)])
                raise RuntimeError("ad reports unreadable")
        before = await store.polls(ADV)
        advertiser_before = await store.advertiser(ADV)
    finally:
        await store.close()
    assert [run.status for run in before] == [PollStatus.FAILED, PollStatus.OK]

    await downgrade_to(database, "0016")
    store = await database.open()
    try:
        assert await store.polls(ADV) == before
        assert await store.advertiser(ADV) == advertiser_before
        snapshot = await latest_snapshot(store, ADV)
        assert snapshot is not None and snapshot.poll_id == before[1].id
    finally:
        await store.close()
