"""Exactly once across a killed sender: a real sender process is SIGKILLed mid-delivery and started again.

The worst moment is between "Slack accepted the message" and "the row is marked sent": the killed sender's claim
on the row runs out, and the restarted sender, taking the row over, finds the message's delivery id in the
channel's history and marks the row instead of posting it again. The processes run with a short send timeout
(1 s, so claims last 3 s): the restarted sender waits that long for the rows the killed one had claimed.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from notify_factories import ACME, alert, entity
from notify_fakes import FakeSlack

from monitor.notify import delivery_id, notifications
from monitor.store import OutboxStatus, Store
from monitor.tiktok.models import AdvertiserInfo

SCRIPT = Path(__file__).with_name("notify_sender_proc.py")
ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 10
SEND_TIMEOUT = 1  # second; far longer than a delivery to the local Slack takes; claims last 3 times that


async def prepare(tmp_path: Path, count: int = MESSAGES) -> tuple[str, Store]:
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    store = await Store.open(url, owner="test")
    now = datetime.now(UTC) - timedelta(seconds=1)
    await store.upsert_advertisers([AdvertiserInfo(ACME.id, ACME.name, None, "USD", ACME.timezone)], now)
    rows = [n for i in range(count) for n in notifications(alert(entity(f"18{i:02d}")), ["slack"])]
    await store.outbox.enqueue(rows, now)
    return url, store


async def spawn(url: str, slack: FakeSlack) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        url,
        slack.api_url,
        "--send-timeout",
        str(SEND_TIMEOUT),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def kill(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGKILL)
    await process.communicate()
    assert process.returncode == -signal.SIGKILL


async def finish(url: str, slack: FakeSlack) -> None:
    process = await spawn(url, slack)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()


async def assert_each_message_delivered_once(store: Store, slack: FakeSlack, count: int = MESSAGES) -> None:
    rows = [await store.outbox.get(i) for i in range(1, count + 1)]
    assert all(r is not None and r.status is OutboxStatus.SENT for r in rows)
    posted = [m["metadata"]["event_payload"]["delivery_id"] for m in slack.delivered]
    assert sorted(posted) == sorted(delivery_id(r) for r in rows if r is not None)  # each exactly once


@pytest.mark.parametrize("stall", ["stall_after_accept", "stall_before_accept"])
async def test_killed_while_waiting_for_slack_then_restarted(tmp_path: Path, slack: FakeSlack, stall: str) -> None:
    url, store = await prepare(tmp_path)
    try:
        slack.answer("ok", "ok", "ok", stall)  # the fourth message hangs: posted (or not) and never answered
        first = await spawn(url, slack)
        await asyncio.wait_for(slack.stalled.wait(), 30)
        await kill(first)
        statuses = [(await store.outbox.get(i)).status for i in range(1, MESSAGES + 1)]  # type: ignore[union-attr]
        assert statuses == [OutboxStatus.SENT] * 3 + [OutboxStatus.PENDING] * (MESSAGES - 3)
        assert len(slack.delivered) == (4 if stall == "stall_after_accept" else 3)

        await finish(url, slack)
        await assert_each_message_delivered_once(store, slack)
        # after_accept: the fourth was found in Slack, not posted again; before_accept: it had to be posted
        assert len(slack.requests) == MESSAGES + (stall == "stall_before_accept")
    finally:
        await store.close()


async def test_killed_at_arbitrary_moments_many_times(tmp_path: Path, slack: FakeSlack) -> None:
    url, store = await prepare(tmp_path, 20)
    slack.answer_delay = 0.02  # each delivery takes a while: kills land before, during and after it
    rng = random.Random(20261124)
    try:
        for _ in range(8):
            process = await spawn(url, slack)
            goal = len(slack.requests) + rng.randint(1, 2)
            for _ in range(10_000):
                if len(slack.requests) >= goal or process.returncode is not None:
                    break
                await asyncio.sleep(0.002)
            await asyncio.sleep(rng.uniform(0, 0.04))  # somewhere in the answer, the commit, the next request
            if process.returncode is None:
                await kill(process)
            else:
                await process.communicate()
        await finish(url, slack)
        await assert_each_message_delivered_once(store, slack, 20)
        assert len(slack.requests) == 20  # nothing was posted twice
    finally:
        await store.close()
