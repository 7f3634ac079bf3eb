"""Advertisers, alert states, the outbox and the action journal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.domain import AlertState, Level
from monitor.store import ActionIntent, ActionStatus, Notification, OutboxStatus, PollStatus, Store, StoreError
from monitor.tiktok.models import AdvertiserInfo

from .conftest import ADV, T0, state

MINUTE = timedelta(minutes=1)


async def test_advertisers_are_upserted_and_keep_their_poll_results(store: Store) -> None:
    await store.upsert_advertisers([AdvertiserInfo(ADV, "Shop", "STATUS_ENABLE", "USD", "America/New_York")], T0)
    async with store.poll(ADV, T0 + MINUTE) as poll:
        poll.save([state("a1")])
    await store.upsert_advertisers(
        [
            AdvertiserInfo(ADV, "Shop (renamed)", "STATUS_LIMIT", "USD", "America/New_York"),
            AdvertiserInfo("7000000000000000002", "Other", None, None, None),
        ],
        T0 + 2 * MINUTE,
    )
    first, second = await store.advertisers()
    assert (first.id, first.name, first.status, first.currency, first.timezone) == (
        ADV,
        "Shop (renamed)",
        "STATUS_LIMIT",
        "USD",
        "America/New_York",
    )
    assert (first.last_poll_status, first.last_poll_at) == (PollStatus.OK, T0 + MINUTE)
    assert (second.id, second.last_poll_id) == ("7000000000000000002", None)
    assert await store.advertiser("nope") is None


async def test_alert_states_round_trip_and_can_be_deleted(store: Store) -> None:
    firing = AlertState(
        "overspend", ADV, Level.CAMPAIGN, "c1", "firing", T0, T0 + MINUTE, {"spend": 512.5, "conversion": None}
    )
    pending = AlertState("rejected", ADV, Level.AD, "a1", "pending", T0)
    async with store.poll(ADV, T0) as poll:
        poll.save_alert_states([firing, pending])
    assert await store.alerts.load(ADV) == {firing.key: firing, pending.key: pending}
    loaded = (await store.alerts.load(ADV))[firing.key]
    assert loaded.values["conversion"] is None and loaded.last_notified_at == T0 + MINUTE

    resolved = AlertState("overspend", ADV, Level.CAMPAIGN, "c1", "resolved", T0 + 5 * MINUTE, T0 + MINUTE)
    async with store.poll(ADV, T0 + 5 * MINUTE) as poll:
        poll.save_alert_states([resolved])
        poll.delete_alert_states([("rejected", "ad", "a1")])
    assert await store.alerts.load(ADV) == {resolved.key: resolved}
    assert await store.alerts.load("7000000000000000002") == {}


async def test_alert_states_of_another_advertiser_are_refused(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        with pytest.raises(ValueError, match="advertiser"):
            poll.save_alert_states([AlertState("r", "someone-else", Level.AD, "a1", "firing", T0)])


async def test_outbox_delivery_cycle(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.enqueue(
            Notification(
                "slack", {"rule": "overspend", "values": {"spend": 512.5}, "ids": ["c1"]}, ADV, "overspend/c1"
            ),
            Notification("email", {"rule": "overspend"}, ADV, "overspend/c1"),
        )
    slack, email = await store.outbox.fetch_due(T0)
    assert (slack.channel, slack.key, slack.status, slack.attempts, slack.poll_id) == (
        "slack",
        "overspend/c1",
        OutboxStatus.PENDING,
        0,
        poll.poll_id,
    )
    assert slack.payload["values"]["spend"] == 512.5 and slack.payload["ids"] == ("c1",)
    with pytest.raises(TypeError):
        slack.payload["rule"] = "x"  # type: ignore[index]

    claim = await store.outbox.claim_due(T0, "sender-1", T0 + 3 * MINUTE)
    assert [m.id for m in claim.messages] == [slack.id, email.id] and claim.taken_over == {}
    assert {(m.claimed_by, m.claimed_until) for m in claim.messages} == {("sender-1", T0 + 3 * MINUTE)}
    assert await store.outbox.fetch_due(T0) == []  # claimed: nobody else takes them
    assert await store.outbox.count_pending() == 2  # claimed rows are still pending
    assert await store.outbox.mark_sent(slack.id, T0 + MINUTE, claimant="sender-1")
    assert await store.outbox.mark_failed(email.id, "SMTP 451: try later", T0 + 5 * MINUTE, claimant="sender-1")
    assert await store.outbox.fetch_due(T0 + 2 * MINUTE) == []
    assert await store.outbox.count_pending() == 1  # waiting for its retry: still pending
    (retry,) = (await store.outbox.claim_due(T0 + 5 * MINUTE, "sender-2", T0 + 8 * MINUTE)).messages
    assert (retry.id, retry.attempts, retry.last_error) == (email.id, 1, "SMTP 451: try later")
    await store.outbox.mark_failed(email.id, "SMTP 550: no such user", retry_at=None, claimant="sender-2")
    assert await store.outbox.count_pending() == 0
    given_up = await store.outbox.get(email.id)
    assert given_up is not None and (given_up.status, given_up.attempts) == (OutboxStatus.FAILED, 2)
    sent = await store.outbox.get(slack.id)
    assert sent is not None and (sent.status, sent.sent_at, sent.attempts) == (OutboxStatus.SENT, T0 + MINUTE, 1)
    assert (sent.claimed_by, sent.claimed_until) == ("sender-1", None)  # released; the last claimant stays
    with pytest.raises(StoreError, match="no longer pending"):
        await store.outbox.mark_sent(slack.id, T0, claimant="sender-1")


async def test_outbox_enqueue_outside_a_poll(store: Store) -> None:
    await store.outbox.enqueue([Notification("slack", {"text": "token expired"})], T0)
    (message,) = await store.outbox.fetch_due(T0, limit=10)
    assert (message.advertiser_id, message.poll_id) == (None, None)


async def test_journal_records_intent_then_outcome(store: Store) -> None:
    await store.upsert_advertisers([AdvertiserInfo(ADV, "Shop", None, None, None)], T0)
    intent = ActionIntent(
        ADV,
        Level.CAMPAIGN,
        "c1",
        "pause",
        "overspend-no-conversions: spend 512.50 > 500 and conversion == 0",
        before={"operation_status": "ENABLE"},
        after={"operation_status": "DISABLE"},
        rule="overspend-no-conversions",
        poll_id=None,
    )
    entry = await store.journal.begin(intent, T0)
    assert (entry.status, entry.finished_at, entry.intent) == (ActionStatus.PENDING, None, intent)
    done = await store.journal.finish(entry.id, T0 + MINUTE, ActionStatus.SUCCEEDED, request_id="2026112420000001")
    assert (done.status, done.finished_at, done.request_id) == (ActionStatus.SUCCEEDED, T0 + MINUTE, "2026112420000001")
    with pytest.raises(StoreError, match="already finished"):
        await store.journal.finish(entry.id, T0, ActionStatus.FAILED)
    with pytest.raises(ValueError, match="succeeded or failed"):
        await store.journal.finish(entry.id, T0, ActionStatus.PENDING)

    undo = ActionIntent(ADV, Level.CAMPAIGN, "c1", "enable", "revert", reverts=entry.id)
    undone = await store.journal.begin(undo, T0 + 2 * MINUTE)
    failed = await store.journal.finish(
        undone.id, T0 + 3 * MINUTE, ActionStatus.FAILED, error="40002: campaign is deleted", after={"x": 1}
    )
    assert (failed.error, failed.intent.after, failed.intent.reverts) == (
        "40002: campaign is deleted",
        {"x": 1},
        entry.id,
    )
    dry = await store.journal.begin(
        ActionIntent(ADV, Level.AD, "a1", "pause", "dry run", dry_run=True), T0 + 4 * MINUTE
    )
    assert (dry.status, dry.finished_at) == (ActionStatus.DRY_RUN, T0 + 4 * MINUTE)

    assert [e.id for e in await store.journal.history()] == [dry.id, undone.id, entry.id]
    assert [e.id for e in await store.journal.history(limit=2, before_id=dry.id)] == [undone.id, entry.id]
    assert [e.id for e in await store.journal.history(advertiser_id="other")] == []
    assert await store.journal.get(entry.id) == done
    assert await store.journal.get(999) is None
