"""A poll that wrote to TikTok and then did not commit (its COMMIT failed, its deadline cancelled it after the act
step, its COMMIT was let go): its alert states rolled back, so the next poll sees the rule fire again for the same
firing, and the write is not made twice (on SQLite and PostgreSQL). Before, a budget scaled by a share was scaled a
second time (434.00 -> 520.80 -> 624.96 USD for one firing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from actions_factories import ADV, CAMPAIGN, actions_in, outbox, rule, writes
from databases import DATABASES, own_database
from polling import PollFailed
from slow_commits import CommitHook, final_poll_write

from monitor.clock import FrozenClock
from monitor.store.repo import Store
from monitor.store.values import ActionStatus

GROW = rule("grow", "spend > 300", '{ type = "scale_budget", by = "+20%" }')
BUDGET_UPDATE = "campaign/update/"


@pytest.fixture(params=DATABASES)
async def store(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Store]:
    async with own_database(request.param, tmp_path, "uncommitted") as url:
        opened = await Store.open(url, clock=clock)
        yield opened
        await opened.close()


class FailingPollCommit(CommitHook):
    """The next poll's final COMMIT fails (a disk error): nothing of the poll is written (an engine event)."""

    def picks(self, statement: str) -> bool:
        return final_poll_write(statement)

    def at_commit(self, dbapi: Any) -> None:
        dbapi.rollback()
        raise sa.exc.OperationalError("COMMIT", None, OSError("disk I/O error"))


async def test_the_write_of_a_poll_that_did_not_commit_is_not_made_again(
    make_pipeline, sandbox, store: Store, clock: FrozenClock
) -> None:
    polls = make_pipeline(GROW)
    failing = FailingPollCommit(store.engine)
    try:
        with pytest.raises(PollFailed):
            await polls.poll(ADV)
    finally:
        failing.remove()
    assert writes(sandbox, BUDGET_UPDATE) == 1  # written, and journaled
    [entry] = await store.journal.history(advertiser_id=ADV, limit=None)
    assert entry.status is ActionStatus.SUCCEEDED and entry.intent.after["budget"] == pytest.approx(520.8)

    clock.advance(300)
    [again] = (await polls.poll(ADV)).actions  # the rule fires again: the same firing
    assert again.outcome.value == "skipped"
    assert again.reason == f"done already (journal #{entry.id}) by poll #{entry.intent.poll_id}, which did not commit"
    assert writes(sandbox, BUDGET_UPDATE) == 1
    assert sandbox.world.find(CAMPAIGN).budgets.at(clock.now().timestamp()) == pytest.approx(520.8)  # +20 %, once
    [told] = actions_in(await outbox(store, clock.now()), "grow")  # the alert is told once, with what became of it
    assert told["outcome"] == "skipped" and told["journal_id"] is None

    clock.advance(300)
    assert (await polls.poll(ADV)).actions == ()  # firing on, committed: nothing more
    assert writes(sandbox, BUDGET_UPDATE) == 1
