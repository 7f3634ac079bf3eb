"""Approval before acting, end to end against the sandbox: a rule with ``approve`` fires and writes nothing, its
action waits (one approval per alert, said in the alert's message); approving it writes through the journal,
which records who approved; a guard that changed in between blocks it; rejecting or letting it expire writes
nothing (expiry says so in a message); two people approving at once write once (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from actions_factories import ADV, CAMPAIGN, actions_in, ops, outbox, rule, writes
from sqlalchemy.ext.asyncio import create_async_engine

from monitor.actions import GuardSettings
from monitor.actions.approve import approve
from monitor.actions.expiry import expire_due
from monitor.clock import FrozenClock
from monitor.domain.approvals import ApprovalState
from monitor.sandbox import Fault
from monitor.steering import Steering
from monitor.store.db import normalize_url
from monitor.store.repo import Store
from monitor.store.values import ActionStatus

STATUS_UPDATE = "campaign/status/update/"
APPROVED_PAUSE = rule("overspend", "spend > 300", '"pause"', extra='approve_within = "30m"')
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")


def steering(store: Store, clock: FrozenClock, client, settings: GuardSettings | None = None) -> Steering:
    async def client_of(advertiser_id: str):
        return client

    return Steering(store, clock, settings or GuardSettings(), client_of)


async def test_an_approve_rule_waits_then_approval_writes_once_and_the_journal_says_who(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    polls = make_pipeline(APPROVED_PAUSE)
    [taken] = (await polls.poll(ADV)).actions
    assert taken.outcome.value == "awaiting approval" and taken.approval_id is not None
    assert writes(sandbox, STATUS_UPDATE) == 0 and await store.journal.history() == []
    [waiting] = await store.approvals.pending(clock.now())
    assert (waiting.id, waiting.rule, waiting.entity_id, waiting.change.type) == (
        taken.approval_id,
        "overspend",
        CAMPAIGN,
        "pause",
    )
    assert waiting.expires_at == clock.now() + timedelta(minutes=30) and waiting.reason["spend"] > 300
    assert dict(waiting.change.before) == {"operation_status": "ENABLE"}
    [action] = actions_in(await outbox(store, clock.now()), "overspend")
    assert (action["outcome"], action["approval_id"]) == ("awaiting approval", waiting.id)
    assert (
        f"tiktok-monitor approvals approve {waiting.id}" in action["reason"]
        and "2026-11-24 20:30 UTC" in action["reason"]
    )

    clock.advance(300)
    assert (await polls.poll(ADV)).actions == ()  # still firing: no second approval
    assert [a.id for a in await store.approvals.waiting(ADV)] == [waiting.id]

    result = await steering(store, clock, make_client()).approve(waiting.id, by="alice")
    assert result.ok, result.message
    assert writes(sandbox, STATUS_UPDATE) == 1
    assert sandbox.world.operation_status(sandbox.world.find(CAMPAIGN), clock.now().timestamp()) == "DISABLE"
    [entry] = await store.journal.history()
    assert (entry.status, entry.intent.approved_by, entry.intent.rule) == (ActionStatus.SUCCEEDED, "alice", "overspend")
    assert "approved by alice" in entry.intent.reason
    done = await store.approvals.get(waiting.id)
    assert done is not None and (done.state, done.decided_by, done.journal_id) == (
        ApprovalState.APPROVED,
        "alice",
        entry.id,
    )
    again = await steering(store, clock, make_client()).approve(waiting.id, by="bob")
    assert not again.ok and "already approved by alice" in again.message
    assert writes(sandbox, STATUS_UPDATE) == 1

    clock.advance(300)
    await polls.poll(ADV)  # the next poll verifies the write like any other
    [entry] = await store.journal.history()
    assert entry.error is None


async def test_a_guard_that_changed_since_blocks_the_approved_action(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    polls = make_pipeline(APPROVED_PAUSE)
    [taken] = (await polls.poll(ADV)).actions
    assert taken.approval_id is not None
    full = GuardSettings(max_writes=0)  # the circuit breaker's limit is reached by the time someone approves
    result = await steering(store, clock, make_client(), full).approve(taken.approval_id, by="alice")
    assert not result.ok and "circuit breaker" in result.message
    blocked = await store.approvals.get(taken.approval_id)
    assert blocked is not None and blocked.state is ApprovalState.BLOCKED and blocked.decided_by == "alice"
    assert blocked.outcome is not None and blocked.outcome.startswith("blocked: circuit breaker open")
    assert writes(sandbox, STATUS_UPDATE) == 0 and await store.journal.history() == []


async def test_reject_writes_nothing_and_cannot_be_approved_after(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    polls = make_pipeline(APPROVED_PAUSE)
    [taken] = (await polls.poll(ADV)).actions
    assert taken.approval_id is not None
    steer = steering(store, clock, make_client())
    rejected = await steer.reject(taken.approval_id, by="bob")
    assert rejected.ok and "rejected by bob" in rejected.message
    late = await steer.approve(taken.approval_id, by="alice")
    assert not late.ok and "already rejected by bob" in late.message
    assert (await steer.approve("404-1", by="alice")).message == "not approved: there is no approval #404-1"
    assert writes(sandbox, STATUS_UPDATE) == 0 and await store.journal.history() == []


async def test_an_expired_approval_is_dropped_once_with_a_message(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    polls = make_pipeline(APPROVED_PAUSE)
    [taken] = (await polls.poll(ADV)).actions
    assert taken.approval_id is not None
    clock.advance(31 * 60)
    dropped = await expire_due(store, clock, lambda approval: ["slack:#ops"])
    assert [a.id for a in dropped] == [taken.approval_id] and dropped[0].state is ApprovalState.EXPIRED
    assert await expire_due(store, clock, lambda approval: ["slack:#ops"]) == []
    [message] = await ops(store, clock.now(), "actions_held")
    assert message["_channel"] == "slack:#ops" and "expired at 2026-11-24 20:30 UTC" in message["detail"]
    assert "the action was dropped" in message["detail"] and taken.approval_id in message["detail"]
    late = await steering(store, clock, make_client()).approve(taken.approval_id, by="alice")
    assert not late.ok and "expired" in late.message
    assert writes(sandbox, STATUS_UPDATE) == 0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores (two engines: two replicas) on one SQLite file or one PostgreSQL schema of their own."""
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'shared.db'}", None
    elif POSTGRES_URL:
        url, schema = POSTGRES_URL, f"test_{uuid.uuid4().hex[:16]}"
    elif os.environ.get("CI"):
        pytest.fail("CI is set but TEST_POSTGRES_URL is not")
    else:
        pytest.skip("TEST_POSTGRES_URL not set")
    first = await Store.open(url, schema=schema, clock=clock, owner="replica-1")
    second = await Store.open(url, schema=schema, clock=clock, owner="replica-2")
    yield first, second
    await first.close()
    await second.close()
    if schema is not None:
        engine = create_async_engine(normalize_url(url))
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()


async def test_two_people_approving_at_once_on_two_replicas_write_once(
    make_pipeline, make_client, sandbox, replicas: tuple[Store, Store], clock: FrozenClock
) -> None:
    one, two = replicas
    polls = make_pipeline(APPROVED_PAUSE, on=one)
    [taken] = (await polls.poll(ADV)).actions
    assert taken.approval_id is not None
    slack, page = steering(one, clock, make_client()), steering(two, clock, make_client())
    results = await asyncio.gather(
        slack.approve(taken.approval_id, by="slack:U1 (alice)"), page.approve(taken.approval_id, by="page:bob")
    )
    assert sorted(r.ok for r in results) == [False, True]
    [won] = [r for r in results if r.ok]
    [lost] = [r for r in results if not r.ok]
    assert won.approval is not None and f"already approved by {won.approval.decided_by}" in lost.message
    assert writes(sandbox, STATUS_UPDATE) == 1
    [entry] = await two.journal.history()
    assert entry.intent.approved_by == won.approval.decided_by
    final = await two.approvals.get(taken.approval_id)  # decided once: approved and carried out, never re-tried
    assert final is not None and (final.state, final.journal_id) == (ApprovalState.APPROVED, entry.id)


async def test_an_api_failure_at_approval_leaves_the_approval_pending_to_try_again(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    polls = make_pipeline(APPROVED_PAUSE)
    [taken] = (await polls.poll(ADV)).actions
    assert taken.approval_id is not None
    sandbox.faults.add(Fault(kind="api_code", code=40002, count=1, path="campaign/get/"))  # the fresh read fails
    failed = await steering(store, clock, make_client()).approve(taken.approval_id, by="alice")
    assert not failed.ok and "is pending again" in failed.message
    assert failed.approval is not None and failed.approval.state is ApprovalState.PENDING
    assert writes(sandbox, STATUS_UPDATE) == 0
    again = await steering(store, clock, make_client()).approve(taken.approval_id, by="alice")
    assert again.ok, again.message
    assert writes(sandbox, STATUS_UPDATE) == 1


async def test_an_approval_while_another_replica_polls_the_advertiser_waits_or_gives_the_claim_back(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    """A poll of the advertiser (another replica's, holding its lease) runs when the approval comes: the approval
    does not write beside it; after the wait it is pending again, and once the poll is over it goes through."""
    polls = make_pipeline(APPROVED_PAUSE)
    [taken] = (await polls.poll(ADV)).actions
    assert taken.approval_id is not None
    async with store.journal.lease(ADV, "replica-b:42", clock.now(), store.lease_ttl):
        busy = await approve(
            taken.approval_id, store=store, client=make_client(), clock=clock, settings=GuardSettings(), by="alice",
            wait=0.0,
        )  # fmt: skip
    assert not busy.ok and f"a poll of advertiser {ADV} runs" in busy.message and "pending again" in busy.message
    assert busy.approval is not None and busy.approval.state is ApprovalState.PENDING
    assert writes(sandbox, STATUS_UPDATE) == 0
    done = await steering(store, clock, make_client()).approve(taken.approval_id, by="alice")
    assert done.ok, done.message
    assert writes(sandbox, STATUS_UPDATE) == 1
