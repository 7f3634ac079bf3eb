"""A cancellation (the poll deadline: the act stage runs inside the poll; the daemon's shutdown) comes while the
journal commits: the journal says what happened, on SQLite and PostgreSQL.

TikTok has answered and its answer is being journaled: it is journaled, request id and all. Before, a COMMIT
cancelled before it reached the database left the entry "pending" with TikTok's request id lost (the next poll
settled it as "interrupted before TikTok answered", or as failed when it did not read that level), and the batch's
other answers unrecorded; the writes the circuit breaker had journaled for later batches stayed "pending" though
never sent (settled as failed writes, told as ``action_failed``). Writes being journaled as pending, whose COMMIT
lands: journaled as not sent (before, left pending, settled and told the same way).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from slow_commits import SlowCommit

from monitor.actions.base import STATUS, Decision, Planned, Verdict
from monitor.actions.execute import Executor, intent_of
from monitor.clock import FrozenClock
from monitor.domain import Level
from monitor.store import Store
from monitor.store.breaker import Admission
from monitor.store.journal import NOT_SENT_CANCELLED
from monitor.store.values import ActionStatus, JournalEntry
from monitor.tiktok.models import AdvertiserInfo, WriteResult

from .conftest import ADV, BACKENDS, Database

SLOW = 0.6  # seconds the journal's COMMIT takes
DEADLINE = 0.2  # seconds: it falls while that COMMIT runs


class AnsweringClient:
    """TikTok answering every status write at once: written, with a request id."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, ...]] = []

    async def update_status(
        self, level: Level, advertiser_id: str, ids: Sequence[str], status: str, *, smart_plus: bool = False
    ) -> WriteResult:
        self.sent.append(tuple(ids))
        return WriteResult(tuple(ids), (), (f"req-{len(self.sent)}",))


@pytest.fixture
async def store(database: Database, clock: FrozenClock) -> AsyncIterator[Store]:
    opened = await database.open(clock, busy_timeout=5.0)
    await opened.upsert_advertisers([AdvertiserInfo(ADV, "a", None, None, None)], clock.now())
    yield opened
    await opened.close()


def decision(entity_id: str, to: str) -> Decision:
    kind = "pause" if to == "DISABLE" else "enable"
    planned = Planned(kind, Level.AD, entity_id, None, "spend over the limit", rule="r")
    other = "ENABLE" if to == "DISABLE" else "DISABLE"
    return Decision(planned, Verdict.GO, "ok", before={STATUS: other}, after={STATUS: to})


async def run_past_deadline(store: Store, executor: Executor, decisions: Sequence[Decision], **kw: Any) -> None:
    slow = SlowCommit(store.engine, "UPDATE actions", SLOW, lands=kw.pop("lands", False))
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(DEADLINE):
                await executor.run(ADV, decisions, **kw)
    finally:
        slow.remove()
    assert slow.held  # the deadline fell while the answer's COMMIT ran


async def journaled(store: Store) -> list[JournalEntry]:
    return sorted(await store.journal.history(advertiser_id=ADV, limit=None), key=lambda e: e.id)


@pytest.mark.parametrize("lands", [False, True], ids=["before-it-lands", "after-it-landed"])
@pytest.mark.parametrize("database", BACKENDS, indirect=True)
async def test_tiktoks_answer_is_journaled_through_the_deadline(store: Store, clock: FrozenClock, lands: bool) -> None:
    client = AnsweringClient()
    executor = Executor(client, store.journal, clock)  # type: ignore[arg-type]
    await run_past_deadline(store, executor, [decision("1", "DISABLE"), decision("2", "DISABLE")], lands=lands)
    assert client.sent == [("1", "2")]  # one request, answered
    entries = await journaled(store)
    assert [(e.intent.entity_id, e.status, e.request_id) for e in entries] == [
        ("1", ActionStatus.SUCCEEDED, "req-1"),
        ("2", ActionStatus.SUCCEEDED, "req-1"),
    ]


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
async def test_writes_journaled_for_later_batches_are_journaled_as_not_sent(store: Store, clock: FrozenClock) -> None:
    # the circuit breaker journals every write it admits before the first request goes out
    client = AnsweringClient()
    decisions = [decision("1", "DISABLE"), decision("2", "ENABLE")]  # two batches: one per status
    begun = {i: await store.journal.begin(intent_of(ADV, d, None), clock.now()) for i, d in enumerate(decisions)}
    executor = Executor(client, store.journal, clock)  # type: ignore[arg-type]
    await run_past_deadline(store, executor, decisions, begun=begun)
    assert client.sent == [("1",)]
    first, second = await journaled(store)
    assert (first.status, first.request_id) == (ActionStatus.SUCCEEDED, "req-1")
    assert (second.status, second.request_id, second.error) == (ActionStatus.FAILED, None, NOT_SENT_CANCELLED)


@pytest.mark.parametrize("by", ["breaker", "journal"])
@pytest.mark.parametrize("database", BACKENDS, indirect=True)
async def test_writes_whose_pending_commit_lands_after_the_deadline_are_journaled_as_not_sent(
    store: Store, clock: FrozenClock, by: str
) -> None:
    intent = intent_of(ADV, decision("1", "DISABLE"), None)
    slow = SlowCommit(store.engine, "INSERT INTO actions", SLOW, lands=True)
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(DEADLINE):
                if by == "breaker":  # admits the poll's writes, journaled in its check-and-record
                    window = timedelta(hours=1)
                    await store.breaker.admit(clock.now(), window, window, lambda episode, writes: Admission((intent,)))
                else:  # without the breaker (a revert's write, say): journaled just before its request
                    await store.journal.begin(intent, clock.now())
    finally:
        slow.remove()
    assert slow.held
    [entry] = await journaled(store)
    assert (entry.status, entry.error) == (ActionStatus.FAILED, NOT_SENT_CANCELLED)
