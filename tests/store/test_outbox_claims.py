"""Outbox claims in the store: a row is held by one sender at a time, a claim runs out, only the claimant records.

Every test runs on a SQLite file and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from monitor.store import Notification, OutboxStatus, Store
from monitor.store.db import create_engine
from monitor.store.migrate import alembic_config, current_revisions, upgrade

from .conftest import NO_POSTGRES, SKIP_POSTGRES, T0, Database

MINUTE = timedelta(minutes=1)


async def enqueue(store: Store, count: int) -> None:
    await store.outbox.enqueue([Notification("slack", {"n": i}) for i in range(count)], T0)


async def test_a_claimed_row_is_nobody_elses_until_the_claim_runs_out(store: Store) -> None:
    await enqueue(store, 3)
    first = await store.outbox.claim_due(T0, "a", T0 + MINUTE, limit=2)
    assert [m.id for m in first.messages] == [1, 2] and first.taken_over == {}
    second = await store.outbox.claim_due(T0, "b", T0 + MINUTE)
    assert [m.id for m in second.messages] == [3]
    assert (await store.outbox.claim_due(T0 + MINUTE / 2, "c", T0 + 2 * MINUTE)).messages == ()
    assert await store.outbox.count_pending() == 3  # claimed rows are pending until a result is recorded

    assert await store.outbox.mark_sent(3, T0, claimant="b")
    taken = await store.outbox.claim_due(T0 + MINUTE, "c", T0 + 2 * MINUTE)  # a's claim has run out
    assert [m.id for m in taken.messages] == [1, 2] and taken.taken_over == {1: "a", 2: "a"}
    assert {(m.claimed_by, m.claimed_until) for m in taken.messages} == {("c", T0 + 2 * MINUTE)}


async def test_only_the_claimant_records_a_result(store: Store) -> None:
    await enqueue(store, 1)
    await store.outbox.claim_due(T0, "a", T0 + MINUTE)
    await store.outbox.claim_due(T0 + 2 * MINUTE, "b", T0 + 3 * MINUTE)  # a hung past its claim; b took over
    assert not await store.outbox.mark_sent(1, T0 + 2 * MINUTE, claimant="a")
    assert not await store.outbox.mark_failed(1, "timeout: no answer", T0 + 9 * MINUTE, claimant="a")
    assert await store.outbox.renew([1], "a", T0 + 9 * MINUTE) == set()
    row = await store.outbox.get(1)
    assert row is not None and (row.status, row.attempts, row.claimed_by) == (OutboxStatus.PENDING, 0, "b")

    assert await store.outbox.renew([1], "b", T0 + 5 * MINUTE) == {1}
    assert (await store.outbox.claim_due(T0 + 4 * MINUTE, "c", T0 + 6 * MINUTE)).messages == ()  # renewed
    assert await store.outbox.mark_sent(1, T0 + 4 * MINUTE, claimant="b")
    row = await store.outbox.get(1)
    assert row is not None and (row.status, row.attempts, row.claimed_by, row.claimed_until) == (
        OutboxStatus.SENT,
        1,
        "b",
        None,
    )
    assert not await store.outbox.mark_sent(1, T0 + 4 * MINUTE, claimant="a")  # too late, and not a's


async def test_a_failed_attempt_releases_the_claim_until_its_retry(store: Store) -> None:
    await enqueue(store, 1)
    await store.outbox.claim_due(T0, "a", T0 + 10 * MINUTE)
    assert await store.outbox.mark_failed(1, "http_500: Slack failed", T0 + MINUTE, claimant="a")
    retry = await store.outbox.claim_due(T0 + MINUTE, "b", T0 + 2 * MINUTE)  # due again, a's claim released
    assert [m.id for m in retry.messages] == [1] and retry.taken_over == {}


async def test_a_sender_takes_back_its_own_unfinished_claims(store: Store) -> None:
    """Its earlier run ended before recording (the store failed, or the run was cancelled at shutdown)."""
    await enqueue(store, 2)
    await store.outbox.claim_due(T0, "a", T0 + 10 * MINUTE)
    again = await store.outbox.claim_due(T0 + MINUTE, "a", T0 + 11 * MINUTE)
    assert [m.id for m in again.messages] == [1, 2] and again.taken_over == {1: "a", 2: "a"}


async def test_concurrent_claims_hand_out_each_row_once(database: Database) -> None:
    """Five stores (five engines, as five replicas) claim concurrently until nothing is left."""
    stores = [await database.open() for _ in range(5)]
    try:
        await enqueue(stores[0], 60)
        claimed: list[int] = []

        async def claimer(store: Store, name: str) -> None:
            for run in range(100):  # a fresh claimant each time: a sender would take back its own claims
                claim = await store.outbox.claim_due(T0, f"{name}-{run}", T0 + MINUTE, limit=3)
                if not claim.messages:
                    return
                claimed.extend(m.id for m in claim.messages)
                await asyncio.sleep(0)

        await asyncio.wait_for(asyncio.gather(*(claimer(s, f"s{i}") for i, s in enumerate(stores))), 60)
        assert sorted(claimed) == list(range(1, 61))
    finally:
        for store in stores:
            await store.close()


@pytest.mark.postgres
@pytest.mark.skipif(SKIP_POSTGRES, reason=NO_POSTGRES)
@pytest.mark.parametrize("database", ["postgres"], indirect=True)
async def test_postgres_claims_skip_rows_another_claimer_has_locked(database: Database, store: Store) -> None:
    await enqueue(store, 3)
    async with store.engine.connect() as other, other.begin():
        await other.execute(sa.text("SELECT id FROM outbox WHERE id = 1 FOR UPDATE"))  # mid-claim elsewhere
        claim = await asyncio.wait_for(store.outbox.claim_due(T0, "a", T0 + MINUTE), 30)  # does not wait
        assert [m.id for m in claim.messages] == [2, 3]


# --- migration 0007 --------------------------------------------------------------------------------------------


async def test_rows_pending_at_the_upgrade_count_as_interrupted_claims(database: Database) -> None:
    """The monitor before 0007 kept no claims: a row it left pending may have been mid-delivery."""
    engine = create_engine(database.url, schema=database.schema)
    await upgrade(engine, schema=database.schema, revision="0004")  # the outbox as 0002 made it, before claims
    ts = T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0
    outbox = sa.table(
        "outbox",
        *(sa.column(c) for c in ("created_at", "channel", "payload", "status", "attempts", "next_attempt_at")),
        sa.column("sent_at"),
    )
    common = {"created_at": ts, "channel": "slack", "payload": "{}", "attempts": 0, "next_attempt_at": ts}
    async with engine.begin() as conn:
        await conn.execute(
            outbox.insert(),
            [{**common, "status": "pending", "sent_at": None}, {**common, "status": "sent", "sent_at": ts}],
        )
    await engine.dispose()

    store = await database.open()
    try:
        pending, sent = await store.outbox.get(1), await store.outbox.get(2)
        assert pending is not None and (pending.claimed_by, pending.claimed_until) == ("before 0007", T0)
        assert sent is not None and (sent.claimed_by, sent.claimed_until) == (None, None)
        claim = await store.outbox.claim_due(T0 + MINUTE, "a", T0 + 2 * MINUTE)
        assert [m.id for m in claim.messages] == [1] and claim.taken_over == {1: "before 0007"}
    finally:
        await store.close()

    engine = create_engine(database.url, schema=database.schema)

    before = ScriptDirectory.from_config(alembic_config()).get_revision("0007").down_revision

    def downgrade(connection: sa.Connection) -> list[str]:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, str(before))
        return [c["name"] for c in sa.inspect(connection).get_columns("outbox")]

    try:
        async with engine.begin() as conn:
            columns = await conn.run_sync(downgrade)
        assert "claimed_by" not in columns and "claimed_until" not in columns
        assert await current_revisions(engine) == (before,)
    finally:
        await engine.dispose()
