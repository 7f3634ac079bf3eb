"""The reads behind `tiktok-monitor status`, on SQLite and PostgreSQL: every advertiser's shown alert states, live
holds and outbox backlog per channel, and the report `collect` builds from them (paused from the remembered
problems, severities from the rules, last poll from the advertiser's record)."""

from __future__ import annotations

from datetime import timedelta

from monitor.actions import GuardSettings
from monitor.domain import AlertState, Hold, Level, OpsKind, OpsState
from monitor.status.collect import collect
from monitor.store import Notification, Store

from .conftest import ADV, T0, state

OTHER = "7000000000000000002"
HOUR = timedelta(hours=1)


def alert(rule: str, entity_id: str, status: str, advertiser_id: str = ADV) -> AlertState:
    return AlertState(rule, advertiser_id, Level.CAMPAIGN, entity_id, status, T0, values={"spend": 12.5, "cpa": None})


async def test_alert_states_of_every_advertiser_in_the_asked_states(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state("c1", Level.CAMPAIGN)])
        poll.save_alert_states([alert("b", "c1", "firing"), alert("a", "c1", "pending"), alert("a", "c2", "resolved")])
    async with store.poll(OTHER, T0) as poll:
        poll.save([state("c9", Level.CAMPAIGN, advertiser_id=OTHER)])
        poll.save_alert_states([alert("a", "c9", "resolving", OTHER)])
    shown = await store.alerts.in_states(("firing", "resolving", "pending"))
    assert [(s.advertiser_id, s.rule, s.entity_id, s.state) for s in shown] == [
        (ADV, "a", "c1", "pending"),
        (ADV, "b", "c1", "firing"),
        (OTHER, "a", "c9", "resolving"),
    ]
    assert dict(shown[1].values) == {"spend": 12.5, "cpa": None}


async def test_live_holds_of_every_advertiser(store: Store) -> None:
    for advertiser_id in (ADV, OTHER):
        async with store.poll(advertiser_id, T0) as poll:
            poll.save([state("c1", Level.CAMPAIGN, advertiser_id=advertiser_id)])
    live = Hold(OTHER, (Level.CAMPAIGN, "c1"), "budget", T0, T0 + 2 * HOUR, None, 50.0, "revert #3", "too low")
    ended = Hold(ADV, (Level.CAMPAIGN, "c1"), "operation_status", T0, T0 + HOUR, 1, "ENABLE")
    await store.holds.add([live, ended], T0)
    assert await store.holds.live(T0 + HOUR) == [live]
    assert [h.advertiser_id for h in await store.holds.live(T0)] == [ADV, OTHER]


async def test_outbox_backlog_per_channel_pending_only(store: Store) -> None:
    await store.outbox.enqueue([Notification("webhook", {"n": 1}), Notification("slack:#ops", {"n": 2})], T0)
    await store.outbox.enqueue([Notification("webhook", {"n": 3})], T0 + HOUR)
    await store.outbox.enqueue([Notification("slack", {"n": 4})], T0)
    claim = await store.outbox.claim_due(T0 + HOUR, "me", T0 + 2 * HOUR)
    by_payload = {dict(m.payload)["n"]: m.id for m in claim.messages}
    await store.outbox.mark_failed(by_payload[1], "down", T0 + 2 * HOUR, claimant="me")  # retrying
    await store.outbox.mark_sent(by_payload[4], T0 + HOUR, claimant="me")  # not backlog any more
    backlog = await store.outbox.backlog()
    assert [(b.channel, b.pending, b.retrying, b.oldest) for b in backlog] == [
        ("slack:#ops", 1, 0, T0),
        ("webhook", 2, 1, T0),
    ]


async def test_collect_reports_paused_advertisers_alerts_with_severity_and_the_backlog(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state("c1", Level.CAMPAIGN)])
        poll.save_alert_states([alert("overspend", "c1", "firing"), alert("gone", "c1", "pending")])
    limited = OpsState(OpsKind.ACCOUNT_LIMITED, OTHER, T0 - HOUR, detail="advertiser/info status STATUS_LIMIT")
    await store.problems.remember([limited], T0)
    await store.outbox.enqueue([Notification("webhook", {"n": 1})], T0)
    now = T0 + timedelta(minutes=1)
    await store.shards.beat("host:1", now, timedelta(seconds=30))  # the only replica: it owns every shard
    await store.shards.beat("host:2", now - HOUR, timedelta(seconds=30))  # stopped beating an hour ago
    report = await collect(
        store,
        now,
        interval=timedelta(minutes=5),
        guards=GuardSettings(max_writes=3),
        configured=[OTHER, "7000000000000000003"],
        severities={"overspend": "critical"},
    )
    assert report.replicas == ("host:1",)
    first, other, unpolled = report.advertisers
    assert {a.polled_by for a in report.advertisers} == {"host:1"}
    assert first.id == ADV and first.last_poll is not None
    assert (first.last_poll.at, first.last_poll.outcome, first.paused) == (T0, "ok", None)
    assert now <= first.next_poll_at < now + timedelta(minutes=5)
    assert other.paused is not None and other.last_poll is None
    assert (other.paused.since, other.paused.reason) == (
        T0 - HOUR,
        "account not active: advertiser/info status STATUS_LIMIT",
    )
    assert unpolled.id == "7000000000000000003" and unpolled.problems == ()
    assert [(a.rule, a.severity, a.state, a.entity_name) for a in report.alerts] == [
        ("gone", None, "pending", "campaign c1"),  # no longer in the rule files: severity unknown
        ("overspend", "critical", "firing", "campaign c1"),
    ]
    assert await store.entity_names([(ADV, Level.CAMPAIGN, "c1"), (ADV, Level.AD, "c1"), (OTHER, Level.AD, "x")]) == {
        (ADV, Level.CAMPAIGN, "c1"): "campaign c1"
    }
    assert report.breaker is not None and (report.breaker.open, report.breaker.max_writes) == (False, 3)
    assert [(b.channel, b.pending) for b in report.outbox] == [("webhook", 1)]
    assert report.silences == ()
