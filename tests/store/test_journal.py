"""The action journal's filters, remarks and the lease for writes made outside a poll."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.domain import Level
from monitor.store import ActionIntent, ActionStatus, LeaseHeldError, Store, StoreError
from monitor.tiktok.models import AdvertiserInfo

from .conftest import ADV, T0

MINUTE = timedelta(minutes=1)
OTHER = "7000000000000000002"


def intent(entity_id: str, rule: str | None = "r1", advertiser_id: str = ADV, **kw: object) -> ActionIntent:
    return ActionIntent(
        advertiser_id,
        Level.CAMPAIGN,
        entity_id,
        "pause",
        "why",
        before={"operation_status": "ENABLE"},
        after={"operation_status": "DISABLE"},
        rule=rule,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def filled(store: Store) -> dict[str, int]:
    await store.upsert_advertisers(
        [AdvertiserInfo(ADV, "A", None, None, None), AdvertiserInfo(OTHER, "B", None, None, None)], T0
    )
    ids = {}
    ids["c1"] = (await store.journal.begin(intent("c1"), T0)).id
    await store.journal.finish(ids["c1"], T0, ActionStatus.SUCCEEDED, request_id="r-1")
    ids["c2"] = (await store.journal.begin(intent("c2", rule="r2"), T0 + MINUTE)).id
    ids["dry"] = (await store.journal.begin(intent("c3", dry_run=True), T0 + 2 * MINUTE)).id
    ids["other"] = (await store.journal.begin(intent("c1", advertiser_id=OTHER), T0 + 3 * MINUTE)).id
    ids["undo"] = (await store.journal.begin(intent("c1", rule=None, reverts=ids["c1"]), T0 + 4 * MINUTE)).id
    return ids


async def test_history_filters_by_rule_entity_time_status_and_reverts(store: Store, filled: dict[str, int]) -> None:
    async def ids(**kw: object) -> list[int]:
        return [e.id for e in await store.journal.history(**kw)]  # type: ignore[arg-type]

    assert await ids(rule="r2") == [filled["c2"]]
    assert await ids(entity_id="c1") == [filled["undo"], filled["other"], filled["c1"]]
    assert await ids(entity_id="c1", advertiser_id=ADV) == [filled["undo"], filled["c1"]]
    assert await ids(entity_id=["c2", "c3"]) == [filled["dry"], filled["c2"]]
    assert await ids(entity_id=[]) == []
    assert await ids(since=T0 + MINUTE, until=T0 + 3 * MINUTE) == [filled["dry"], filled["c2"]]
    assert await ids(statuses=[ActionStatus.PENDING]) == [filled["undo"], filled["other"], filled["c2"]]
    assert await ids(reverts=filled["c1"]) == [filled["undo"]]
    assert len(await ids(limit=None)) == 5
    with pytest.raises(ValueError, match="naive"):
        await store.journal.history(since=T0.replace(tzinfo=None))


async def test_recent_and_pending_is_the_two_reads_a_poll_made_before(store: Store, filled: dict[str, int]) -> None:
    """One statement (issue 18) gives what ``history(since=...)`` and ``history(statuses=[PENDING])`` gave."""
    for since in (T0 - MINUTE, T0, T0 + MINUTE + timedelta(seconds=1), T0 + 4 * MINUTE, T0 + 9 * MINUTE):
        recent = await store.journal.history(advertiser_id=ADV, since=since, limit=None)
        pending = await store.journal.history(advertiser_id=ADV, statuses=[ActionStatus.PENDING], limit=None)
        both = sorted({e.id: e for e in [*recent, *pending]}.values(), key=lambda e: e.id, reverse=True)
        assert await store.journal.recent_and_pending(ADV, since) == both, since
    assert [e.id for e in await store.journal.recent_and_pending(ADV, T0 + 9 * MINUTE)] == [
        filled["undo"],
        filled["c2"],
    ]  # the pending ones, whenever made; never another advertiser's


async def test_a_note_is_added_once_after_what_is_there(store: Store, filled: dict[str, int]) -> None:
    entry = await store.journal.note(filled["c1"], "not confirmed")
    assert entry.error == "not confirmed"
    await store.journal.finish(filled["c2"], T0, ActionStatus.FAILED, error="40002")
    await store.journal.note(filled["c2"], "checked")
    entry = await store.journal.note(filled["c2"], "checked")
    assert entry.error == "40002; checked"
    assert entry.status is ActionStatus.FAILED
    with pytest.raises(StoreError, match="does not exist"):
        await store.journal.note(999, "x")


async def test_the_lease_keeps_polls_out_while_held(store: Store, filled: dict[str, int]) -> None:
    async with store.journal.lease(ADV, "revert", T0, timedelta(minutes=5)):
        with pytest.raises(LeaseHeldError):
            async with store.poll(ADV, T0):
                pass
    async with store.poll(ADV, T0 + MINUTE) as poll:  # released: polls go on
        assert poll.advertiser_id == ADV
