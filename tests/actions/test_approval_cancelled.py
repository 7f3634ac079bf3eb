"""An approval cut short by a cancellation (Ctrl-C of ``approvals approve``, the shutdown of a daemon whose Slack
button or status page runs it: SlackApp.close cancels clicks after 5 s, the page's server its handlers after 2 s) is
never left claimed and undecided for good, on SQLite and PostgreSQL: without a write it is pending again, with one
it is settled with its journal entry. Before, a cancellation (it is no ``Exception``) left it "approved" by the
clicker with no outcome: never carried out, and nobody could approve it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from actions_factories import ADV, rule, writes
from databases import DATABASES, own_database
from slow_commits import SlowCommit
from sqlalchemy.util import await_only

from monitor.actions import GuardSettings
from monitor.actions.approve import approve
from monitor.clock import FrozenClock
from monitor.domain.approvals import ApprovalState
from monitor.store.repo import Store
from monitor.store.values import ActionStatus

STATUS_UPDATE = "campaign/status/update/"
APPROVED_PAUSE = rule("overspend", "spend > 300", '"pause"', extra='approve_within = "30m"')


@pytest.fixture(params=DATABASES)
async def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Store]:
    async with own_database(request.param, tmp_path, "approval_cut") as url:
        opened = await Store.open(url, clock=clock, busy_timeout=5.0)
        yield opened
        await opened.close()


async def waiting_approval(make_pipeline) -> str:
    [taken] = (await make_pipeline(APPROVED_PAUSE).poll(ADV)).actions
    assert taken.approval_id is not None
    return taken.approval_id


def approving(store: Store, clock: FrozenClock, client, approval_id: str) -> asyncio.Task:
    return asyncio.create_task(
        approve(approval_id, store=store, client=client, clock=clock, settings=GuardSettings(), by="slack:U1 (alice)")
    )


async def cut_short(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cut_short_while_a_poll_holds_the_lease_it_is_pending_again(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    approval_id = await waiting_approval(make_pipeline)
    async with store.journal.lease(ADV, "replica-b:42", clock.now(), store.lease_ttl):  # a poll runs
        task = approving(store, clock, make_client(), approval_id)
        for _ in range(200):  # claimed (its COMMIT landed), now waiting for the lease
            claimed = await store.approvals.get(approval_id)
            if claimed is not None and claimed.state is ApprovalState.APPROVED:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the approval was never claimed")
        await cut_short(task)
    left = await store.approvals.get(approval_id)
    assert left is not None and (left.state, left.decided_by) == (ApprovalState.PENDING, None)
    done = await approve(
        approval_id, store=store, client=make_client(), clock=clock, settings=GuardSettings(), by="bob"
    )
    assert done.ok, done.message
    assert writes(sandbox, STATUS_UPDATE) == 1


class LateAfterClaim:
    """The claim has committed; the read that follows it (in ``Approvals.claim``) waits ``seconds`` before it goes
    out: a cancellation meanwhile comes after the claim landed, before the approval knew (an engine event)."""

    def __init__(self, engine, seconds: float) -> None:
        self.seconds, self.claimed, self.holding = seconds, False, asyncio.Event()
        self._engine = engine.sync_engine
        sa.event.listen(self._engine, "before_cursor_execute", self._statement)

    def remove(self) -> None:
        sa.event.remove(self._engine, "before_cursor_execute", self._statement)

    def _statement(self, conn, _cursor, statement: str, *_) -> None:
        if statement.lstrip().startswith("UPDATE approvals"):
            self.claimed = True
        elif self.claimed and not self.holding.is_set() and "FROM approvals" in statement:
            self.holding.set()
            await_only(asyncio.sleep(self.seconds))


async def test_cut_short_once_its_claim_landed_it_is_pending_again(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    approval_id = await waiting_approval(make_pipeline)
    late = LateAfterClaim(store.engine, 0.5)
    try:
        task = approving(store, clock, make_client(), approval_id)
        await asyncio.wait_for(late.holding.wait(), 10)
        await cut_short(task)
    finally:
        late.remove()
    left = await store.approvals.get(approval_id)
    assert left is not None and (left.state, left.decided_by, left.outcome) == (ApprovalState.PENDING, None, None)
    assert writes(sandbox, STATUS_UPDATE) == 0


async def test_cut_short_after_its_write_it_is_settled_with_the_journal_entry(
    make_pipeline, make_client, sandbox, store: Store, clock: FrozenClock
) -> None:
    approval_id = await waiting_approval(make_pipeline)
    slow = SlowCommit(store.engine, "UPDATE actions", 0.5)  # TikTok answered; its answer is being journaled
    try:
        task = approving(store, clock, make_client(), approval_id)
        await asyncio.wait_for(slow.holding.wait(), 10)
        await cut_short(task)
    finally:
        slow.remove()
    assert writes(sandbox, STATUS_UPDATE) == 1
    [entry] = await store.journal.history(advertiser_id=ADV, limit=None)
    assert (entry.status, entry.intent.approved_by) == (ActionStatus.SUCCEEDED, "slack:U1 (alice)")
    left = await store.approvals.get(approval_id)
    assert left is not None and (left.state, left.journal_id) == (ApprovalState.APPROVED, entry.id)
    assert left.outcome is not None and f"journal #{entry.id} (succeeded)" in left.outcome
