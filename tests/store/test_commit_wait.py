"""commit_to_the_end: a COMMIT under way is waited for through cancellations, and says whether one came;
record_to_the_end: a write recording what happened is waited for, then the cancellation raised."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.util import await_only

from monitor.store import Store
from monitor.store.commit_wait import (
    RECORD_SECONDS,
    CommitUnfinishedError,
    commit_to_the_end,
    record_limit,
    record_to_the_end,
)
from monitor.store.db import writing
from monitor.tiktok.models import AdvertiserInfo

from .conftest import ADV, BACKENDS, T0

SLOW_COMMIT = 0.6  # seconds each COMMIT takes (an engine event before it, in the committing task)


@pytest.fixture
async def store(database: Any) -> Any:
    opened = await database.open(busy_timeout=5.0)
    await opened.upsert_advertisers([AdvertiserInfo(ADV, "a", None, None, None)], T0)

    @sa.event.listens_for(opened.engine.sync_engine, "commit")
    def slow(_conn: Any) -> None:
        await_only(asyncio.sleep(SLOW_COMMIT))

    yield opened
    await opened.close()


async def _rename(store: Store, limit: float | None = None) -> bool:
    async with writing(store.engine) as conn:
        await conn.execute(sa.text("UPDATE advertisers SET name = 'written' WHERE id = :id"), {"id": ADV})
        return await commit_to_the_end(conn, limit)


async def _name(store: Store) -> str | None:
    advertiser = await store.advertiser(ADV)
    assert advertiser is not None
    return advertiser.name


async def test_without_a_cancellation_it_commits_and_says_none_came(store: Store) -> None:
    assert await _rename(store) is False
    assert await _name(store) == "written"


async def test_cancelled_twice_while_the_commit_runs_it_waits_and_says_so(store: Store) -> None:
    task = asyncio.create_task(_rename(store))
    await asyncio.sleep(SLOW_COMMIT / 3)
    task.cancel()
    await asyncio.sleep(SLOW_COMMIT / 3)
    task.cancel()  # shutdown after the deadline, say: the COMMIT still cannot be called back
    assert await task is True
    assert await _name(store) == "written"


@pytest.mark.parametrize("database", [b for b in BACKENDS if b.id == "postgres"], indirect=True)
async def test_a_commit_not_ended_within_the_limit_is_let_go(store: Store) -> None:
    # only PostgreSQL's COMMIT is let go (Store.poll: record_failure_timeout); SQLite's ends with its busy timeout
    task = asyncio.create_task(_rename(store, limit=0.1))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(CommitUnfinishedError, match=r"had not ended 0\.1s after the cancellation"):
        await task
    assert await _name(store) == "a"  # let go before the database had it (here): not written


async def _rename_plainly(store: Store) -> None:
    async with writing(store.engine) as conn:
        await conn.execute(sa.text("UPDATE advertisers SET name = 'written' WHERE id = :id"), {"id": ADV})


async def test_a_record_cancelled_twice_is_written_then_the_cancellation_raised(store: Store) -> None:
    task = asyncio.create_task(record_to_the_end(_rename_plainly(store)))
    await asyncio.sleep(SLOW_COMMIT / 3)
    task.cancel()
    await asyncio.sleep(SLOW_COMMIT / 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _name(store) == "written"


@pytest.mark.parametrize("database", [b for b in BACKENDS if b.id == "postgres"], indirect=True)
async def test_a_record_not_ended_within_the_limit_is_let_go(store: Store) -> None:
    assert record_limit(store.engine) == RECORD_SECONDS  # PostgreSQL's waits are bounded; SQLite's end by themselves
    task = asyncio.create_task(record_to_the_end(_rename_plainly(store), limit=0.1))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _name(store) == "a"  # let go before the database had it (here): not written
