"""A channel accepted a message and the daemon's shutdown (``wait_for(sender.drain(), FLUSH_SECONDS)``) cancels the
sender while the row's "sent" is being recorded: the row is recorded sent, and the sender that takes the outbox over
after the restart sends nothing again (on SQLite and PostgreSQL). Before, a COMMIT cancelled before it reached the
database left the row claimed and unrecorded: once the claim ran out, the next sender delivered it a second time
through every channel that cannot tell what arrived (incoming webhook, e-mail, generic webhook).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from slow_commits import SlowCommit

from monitor.clock import FrozenClock
from monitor.domain import OpsKind
from monitor.notify import OutboxSender
from monitor.notify.message import Message, OperationalMessage, notifications
from monitor.store import Store
from monitor.store.values import OutboxStatus

from .conftest import BACKENDS, Database

SEND_TIMEOUT = 1.0  # a claim lasts 3 of them
SLOW = 0.6  # seconds the "sent" COMMIT takes
SHUTDOWN = 0.2  # seconds the shutdown gives the last delivery: it falls while that COMMIT runs


class Hook:
    """A channel that cannot tell what arrived (no ``find_delivered``): it accepts every message, and counts."""

    def __init__(self) -> None:
        self.arrived: list[str | None] = []

    async def send(self, message: Message, target: str | None, *, delivery_id: str | None = None) -> None:
        self.arrived.append(delivery_id)


@pytest.fixture
async def store(database: Database, clock: FrozenClock) -> AsyncIterator[Store]:
    opened = await database.open(clock, busy_timeout=5.0)
    yield opened
    await opened.close()


def sender(store: Store, hook: Hook, clock: FrozenClock, name: str) -> OutboxSender:
    return OutboxSender(store, {"hook": hook}, clock, send_timeout=SEND_TIMEOUT, name=name)


async def queue_one(store: Store, now: datetime) -> int:
    message = OperationalMessage(OpsKind.RULES_RELOAD_FAILED, "rules", "bad rule file", now, now)
    await store.outbox.enqueue(notifications(message, ["hook"]), now)
    (row,) = await store.outbox.fetch_due(now)
    return row.id


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
async def test_a_delivery_cut_short_by_the_shutdown_is_recorded_and_not_sent_again(
    store: Store, clock: FrozenClock
) -> None:
    row_id = await queue_one(store, clock.now())
    hook = Hook()
    slow = SlowCommit(store.engine, "sent_at=", SLOW)
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sender(store, hook, clock, "before-restart").drain(), SHUTDOWN)
    finally:
        slow.remove()
    assert slow.held  # the shutdown came while the "sent" COMMIT ran
    assert len(hook.arrived) == 1

    clock.advance(3 * SEND_TIMEOUT + 1)  # any claim has run out: a restarted daemon's sender takes over
    report = await sender(store, hook, clock, "after-restart").drain()
    assert len(hook.arrived) == 1  # delivered once
    assert report.fetched == 0
    row = await store.outbox.get(row_id)
    assert row is not None and row.status is OutboxStatus.SENT
