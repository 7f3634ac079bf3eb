"""Several senders on one database (replicas of `run`): each outbox row is delivered exactly once.

A sender claims due rows before delivering them (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one ``BEGIN IMMEDIATE``
write transaction on SQLite), so two senders never hold the same row; a claim runs out after a while, so the rows
of a sender that died are delivered by another one; and only the claimant records a result. Every test runs on a
SQLite file and on PostgreSQL, and counts what arrived at a real local Slack API or webhook receiver per delivery id.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notify_db import SharedDatabase, enqueue_alerts, slack_posts, webhook_posts
from notify_fakes import SLACK_TOKEN, FakeSlack, WebhookReceiver

from monitor.clock import SystemClock
from monitor.notify import Channel, OutboxSender, SlackChannel, Templates, WebhookChannel, delivery_id
from monitor.store import OutboxStatus, Store

SCRIPT = Path(__file__).with_name("notify_sender_proc.py")
ROOT = Path(__file__).resolve().parents[2]
ROWS = 24
SENDERS = 3
BATCH = 4  # ROWS / BATCH > SENDERS: every sender finds rows to claim


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
