"""Several senders on one database (replicas of `run`): each outbox row is delivered exactly once.

A sender claims due rows before delivering them (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one ``BEGIN IMMEDIATE``
write transaction on SQLite), so two senders never hold the same row; a claim runs out after a while, so the rows
of a sender that died are delivered by another one; and only the claimant records a result. Every test runs on a
SQLite file and on PostgreSQL, and counts what arrived at a real local Slack API or webhook receiver per delivery id.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notify_db import SharedDatabase, enqueue_alerts, slack_posts, webhook_posts
from notify_factories import NOW
from notify_fakes import SLACK_TOKEN, FakeSlack, WebhookReceiver

from monitor.clock import FrozenClock, SystemClock
from monitor.notify import (
    Channel,
    Message,
    OutboxSender,
    SendReport,
    SlackChannel,
    Templates,
    WebhookChannel,
    delivery_id,
    from_json,
)
from monitor.store import OutboxStatus, Store

SCRIPT = Path(__file__).with_name("notify_sender_proc.py")
ROOT = Path(__file__).resolve().parents[2]
ROWS = 24
SENDERS = 3
BATCH = 4  # ROWS / BATCH > SENDERS: every sender finds rows to claim
SEND_TIMEOUT = timedelta(seconds=120)  # the default: a claim lasts three times that


def channel_for(kind: str, slack: FakeSlack, hook: WebhookReceiver, templates: Templates) -> Channel:
    if kind == "slack":
        return SlackChannel(templates, token=SLACK_TOKEN, channel="#ads-alerts", base_url=slack.api_url, timeout=30)
    return WebhookChannel(hook.url, templates, timeout=30)


async def close(channels: list[Channel]) -> None:
    for channel in channels:
        if isinstance(channel, WebhookChannel):
            await channel.aclose()


def posts(kind: str, slack: FakeSlack, hook: WebhookReceiver) -> dict[str, int]:
    return dict(slack_posts(slack) if kind == "slack" else webhook_posts(hook))


@asynccontextmanager
async def stores(shared_db: SharedDatabase, count: int) -> AsyncIterator[list[Store]]:
    """``count`` stores on the one database, each with an engine (a connection pool) of its own."""
    async with AsyncExitStack() as stack:
        opened = []
        for i in range(count):
            store = await shared_db.open(owner=f"replica-{i}")
            stack.push_async_callback(store.close)
            opened.append(store)
        yield opened


async def delivery_ids(store: Store, count: int) -> dict[str, int]:
    """Every row's delivery id, each expected once; asserts that every row is recorded as sent."""
    rows = [await store.outbox.get(i) for i in range(1, count + 1)]
    assert [r.status if r else None for r in rows] == [OutboxStatus.SENT] * count
    return {delivery_id(r): 1 for r in rows if r is not None}


# --- concurrent senders ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["slack", "webhook"])
async def test_concurrent_senders_deliver_each_row_exactly_once(
    shared_db: SharedDatabase, slack: FakeSlack, hook: WebhookReceiver, templates: Templates, kind: str
) -> None:
    async with stores(shared_db, SENDERS) as opened:
        await enqueue_alerts(opened[0], ROWS, datetime.now(UTC) - timedelta(seconds=1), kind)
        server = slack if kind == "slack" else hook
        server.meet(SENDERS)  # the first requests wait until every sender has one in flight: they overlap
        server.answer_delay = 0.005
        channels = [channel_for(kind, slack, hook, templates) for _ in opened]
        senders = [
            OutboxSender(store, {kind: channel}, SystemClock(), batch=BATCH)
            for store, channel in zip(opened, channels, strict=True)
        ]
        try:
            reports = await asyncio.wait_for(asyncio.gather(*(s.drain() for s in senders)), 60)
        finally:
            await close(channels)
        assert posts(kind, slack, hook) == await delivery_ids(opened[0], ROWS)
        assert sum(r.sent for r in reports) == ROWS
        assert all(r.sent > 0 for r in reports)  # the meeting proves it: each sender delivered a share


# --- sender processes ------------------------------------------------------------------------------------------


async def spawn(shared_db: SharedDatabase, slack: FakeSlack, *options: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        *shared_db.args(),
        slack.api_url,
        *options,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(processes: list[asyncio.subprocess.Process]) -> None:
    results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in processes)), 90)
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err.decode()


async def test_sender_processes_deliver_each_row_exactly_once(shared_db: SharedDatabase, slack: FakeSlack) -> None:
    async with stores(shared_db, 1) as (store,):
        await enqueue_alerts(store, ROWS, datetime.now(UTC) - timedelta(seconds=1))
        slack.meet(SENDERS)
        slack.answer_delay = 0.005
        # send_timeout outlasts the start of the other processes, which the first requests wait for
        await finish([await spawn(shared_db, slack, "--send-timeout", "20") for _ in range(SENDERS)])
        assert slack_posts(slack) == await delivery_ids(store, ROWS)
        assert len(slack.requests) == ROWS


# --- a sender that died --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("posted_before_dying", [False, True], ids=["died-before-posting", "died-after-posting"])
@pytest.mark.parametrize("kind", ["slack", "webhook"])
async def test_the_rows_of_a_dead_sender_are_delivered_once_after_its_claim_runs_out(
    shared_db: SharedDatabase,
    slack: FakeSlack,
    hook: WebhookReceiver,
    templates: Templates,
    kind: str,
    posted_before_dying: bool,
) -> None:
    clock = FrozenClock(NOW)
    async with stores(shared_db, SENDERS) as (first, *others):
        await enqueue_alerts(first, 6, NOW, kind)
        dead = await first.outbox.claim_due(NOW, "sender-that-died", NOW + 3 * SEND_TIMEOUT, limit=2)  # rows 1, 2
        channels = [channel_for(kind, slack, hook, templates) for _ in others]
        if posted_before_dying:  # Slack (or the webhook) accepted row 1, then the sender was killed
            row = dead.messages[0]
            await channels[0].send(from_json(row.payload), None, delivery_id=delivery_id(row))
        senders = [
            OutboxSender(store, {kind: channel}, clock, send_timeout=SEND_TIMEOUT.total_seconds())
            for store, channel in zip(others, channels, strict=True)
        ]
        try:
            clock.advance(60)
            before = await asyncio.gather(*(s.run_once() for s in senders))
            assert sum(r.sent for r in before) == 4  # rows 3..6; the dead sender's rows wait for its claim
            assert [(await first.outbox.get(i)).status for i in (1, 2)] == [OutboxStatus.PENDING] * 2  # type: ignore[union-attr]

            clock.set(dead.until)  # the claim has run out
            after = await asyncio.gather(*(s.run_once() for s in senders))
        finally:
            await close(channels)
        found_in_slack = kind == "slack" and posted_before_dying
        assert sum(r.sent for r in after) == 2 - found_in_slack
        assert sum(r.already_delivered for r in after) == found_in_slack
        rows = [await first.outbox.get(i) for i in (1, 2)]
        assert [(r.status, r.sent_at) for r in rows if r] == [(OutboxStatus.SENT, dead.until)] * 2
        expected = await delivery_ids(first, 6)
        if kind == "webhook" and posted_before_dying:  # the documented at-least-once case: same delivery id
            expected[delivery_id(dead.messages[0])] = 2
        assert posts(kind, slack, hook) == expected


async def test_a_killed_sender_process_leaves_rows_that_others_deliver_once(
    shared_db: SharedDatabase, slack: FakeSlack
) -> None:
    async with stores(shared_db, 1) as (store,):
        await enqueue_alerts(store, 12, datetime.now(UTC) - timedelta(seconds=1))
        slack.answer("ok", "stall_after_accept")  # row 2 is posted; the answer never comes back
        first = await spawn(shared_db, slack, "--send-timeout", "1")  # claims rows 1..4 for 3 s
        await asyncio.wait_for(slack.stalled.wait(), 30)
        first.send_signal(signal.SIGKILL)
        await first.communicate()
        left = [await store.outbox.get(i) for i in (2, 3, 4)]
        assert {(r.status, r.attempts) for r in left if r} == {(OutboxStatus.PENDING, 0)}
        expiry = {r.claimed_until for r in left if r}
        assert len(expiry) == 1 and None not in expiry

        await finish([await spawn(shared_db, slack, "--send-timeout", "1") for _ in range(2)])
        assert slack_posts(slack) == await delivery_ids(store, 12)
        assert len(slack.requests) == 12  # row 2 was found in Slack's history, not posted again
        for row_id in (2, 3, 4):
            row = await store.outbox.get(row_id)
            assert row is not None and row.sent_at is not None and row.sent_at >= min(expiry)  # type: ignore[type-var]


# --- claims last as long as a delivery ---------------------------------------------------------------------------


class SlowChannel:
    """Each send takes a whole send timeout (on the test's clock); meanwhile another sender tries to claim."""

    def __init__(self, clock: FrozenClock, intruder: Store) -> None:
        self._clock = clock
        self._intruder = intruder
        self.sent: list[str] = []
        self.intruder_got: list[int] = []

    async def send(self, message: Message, target: str | None, *, delivery_id: str | None = None) -> None:
        self._clock.advance(SEND_TIMEOUT.total_seconds())
        now = self._clock.now()
        claim = await self._intruder.outbox.claim_due(now, f"intruder-{len(self.sent)}", now + SEND_TIMEOUT)
        self.intruder_got.extend(m.id for m in claim.messages)
        self.sent.append(delivery_id or "")


async def test_a_claim_is_renewed_before_a_delivery_could_outlast_it(shared_db: SharedDatabase) -> None:
    clock = FrozenClock(NOW)
    async with stores(shared_db, 2) as (store, intruder):
        await enqueue_alerts(store, 5, NOW, "slow")
        channel = SlowChannel(clock, intruder)
        sender = OutboxSender(store, {"slow": channel}, clock, send_timeout=SEND_TIMEOUT.total_seconds())
        report = await sender.run_once()
        assert (report.sent, report.lost) == (5, 0)
        assert channel.intruder_got == []  # 5 sends of a send timeout each; a claim lasts 3: renewed in time
        assert len(set(channel.sent)) == 5


class HangingChannel:
    """The first send hangs past the sender's claim (its clock jumps), and ``other`` takes the row over meanwhile."""

    def __init__(self, clock: FrozenClock) -> None:
        self._clock = clock
        self.other: OutboxSender | None = None
        self.other_report: SendReport | None = None
        self.sent: list[str] = []

    async def send(self, message: Message, target: str | None, *, delivery_id: str | None = None) -> None:
        if self.other is not None and self.other_report is None:
            other, self.other = self.other, None
            self._clock.advance(4 * SEND_TIMEOUT.total_seconds())
            self.other_report = await other.run_once()
        self.sent.append(delivery_id or "")


async def test_a_sender_whose_claim_was_taken_over_records_nothing(
    shared_db: SharedDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FrozenClock(NOW)
    timeout = SEND_TIMEOUT.total_seconds()
    async with stores(shared_db, 2) as (store, other_store):
        await enqueue_alerts(store, 1, NOW, "hang")
        channel = HangingChannel(clock)
        channel.other = other = OutboxSender(other_store, {"hang": channel}, clock, send_timeout=timeout)
        report = await OutboxSender(store, {"hang": channel}, clock, send_timeout=timeout).run_once()
        assert (report.sent, report.lost) == (0, 1)
        assert channel.other_report is not None and channel.other_report.sent == 1
        row = await store.outbox.get(1)
        assert row is not None and (row.status, row.attempts, row.claimed_by) == (OutboxStatus.SENT, 1, other.claimant)
        # recorded once, by the sender that held the row; delivered twice: the limit of a sender hanging past
        # its claim (Slack: the taker looks in the channel first, which finds it when the post came first)
        assert channel.sent == [delivery_id(row)] * 2
        assert "another sender took it over: it may arrive twice" in caplog.text
