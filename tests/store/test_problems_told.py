"""Remembering an operational problem and queueing its message are one step (on SQLite and PostgreSQL): a shutdown
that cancels it, or a queueing write that fails, leaves the problem untold in the store and in the process, so the
next observation (after the restart, or the next poll) tells it. Before, the problem was remembered as told in a
transaction of its own and the message queued in another one: cut between the two, the message was lost (a
recovery for good, a problem until its repeat cooldown)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from slow_commits import SlowCommit

from monitor.clock import FrozenClock
from monitor.config_notify import NotifySettings
from monitor.domain import OpsKind
from monitor.ops_alerts import OpsAlerts
from monitor.store import Store

from .conftest import ADV, Database

SLOW = 5.0  # seconds the COMMIT of the outbox row is held: the shutdown cancels it meanwhile


@pytest.fixture
async def store(database: Database, clock: FrozenClock) -> AsyncIterator[Store]:
    opened = await database.open(clock, busy_timeout=5.0)
    yield opened
    await opened.close()


async def alerts_of(store: Store) -> OpsAlerts:
    """The operational alerts of a process that has just started: they know what the store remembers."""
    alerts = OpsAlerts(store, {}, NotifySettings(ops_channels=["slack"]))
    await alerts.load()
    return alerts


async def observe(alerts: OpsAlerts, present: bool, clock: FrozenClock) -> None:
    """What a poll does with its advertiser's token: revoked (``present``) or working again."""
    book = alerts.problems_of(ADV)
    await book.observe(OpsKind.TOKEN_REVOKED, present, clock.now(), detail="AuthError: token revoked")


async def queued(store: Store, clock: FrozenClock) -> list[bool]:
    """The token_revoked messages queued so far: recovered or not, oldest first."""
    return [row.payload["recovered"] for row in await store.outbox.fetch_due(clock.now() + timedelta(days=1))]


@contextmanager
def outbox_write_fails(store: Store) -> Iterator[list[str]]:
    """The next write into the outbox fails as a disk that cannot be written fails (once); yields what failed."""
    failed: list[str] = []

    def fail(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not failed and statement.lstrip().upper().startswith("INSERT INTO") and "outbox" in statement:
            failed.append(statement)
            raise OSError(5, "disk I/O error")

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", fail)
    try:
        yield failed
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", fail)


@pytest.mark.parametrize("present", [True, False], ids=["problem", "recovery"])
async def test_a_shutdown_between_remembering_and_queueing_loses_no_message(
    store: Store, database: Database, clock: FrozenClock, present: bool
) -> None:
    if not present:  # the token was revoked and told: now it works again
        await observe(await alerts_of(store), True, clock)
        clock.advance(60)
    slow = SlowCommit(store.engine, "outbox", SLOW)
    try:
        stepping = asyncio.ensure_future(observe(await alerts_of(store), present, clock))
        await asyncio.wait_for(slow.holding.wait(), 5)
        stepping.cancel()  # the daemon's shutdown
        with pytest.raises(asyncio.CancelledError):
            await stepping
    finally:
        slow.remove()

    clock.advance(60)  # the restarted daemon's next poll sees the same: the message is told now
    restarted = await database.open(clock)
    try:
        await observe(await alerts_of(restarted), present, clock)
        assert await queued(restarted, clock) == ([] if present else [False]) + [not present]
    finally:
        await restarted.close()


@pytest.mark.parametrize("present", [True, False], ids=["problem", "recovery"])
async def test_a_queueing_write_that_fails_loses_no_message(
    store: Store, clock: FrozenClock, present: bool, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = await alerts_of(store)
    if not present:
        await observe(alerts, True, clock)
        clock.advance(60)
    caplog.clear()
    with outbox_write_fails(store) as failed, caplog.at_level(logging.WARNING, logger="monitor"):
        await observe(alerts, present, clock)  # logged, not raised: a poll raises for nothing
    assert failed  # the write into the outbox was made, and failed
    said = "recovered" if not present else "AuthError: token revoked"  # the log has it while the store has not
    assert f"operational alert token_revoked for {ADV}: {said}" in caplog.text
    clock.advance(60)  # the next poll sees the same
    await observe(alerts, present, clock)
    assert await queued(store, clock) == ([] if present else [False]) + [not present]
    clock.advance(60)  # the store agrees: a restarted daemon tells nothing more
    await observe(await alerts_of(store), present, clock)
    assert len(await queued(store, clock)) == (1 if present else 2)
