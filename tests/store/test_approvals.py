"""Approvals in the store, on SQLite and PostgreSQL: made with a poll, read pending, claimed once by concurrent
deciders, expired once with a message; migration 0011 adds the table, actions.approved_by and
silences.expired_by, and takes them away again."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from monitor.domain import Level, Matcher, Silence
from monitor.domain.approvals import Approval, ApprovalState, PlannedChange
from monitor.store import Store
from monitor.store.db import create_engine
from monitor.store.migrate import current_revisions, upgrade
from monitor.store.values import ActionIntent, Notification

from .conftest import ADV, T0, Database
from .test_migrations import downgrade_to, table

HOUR = timedelta(hours=1)


def approval(n: int = 1, entity: str = "c1", hours: float = 1) -> Approval:
    return Approval(
        id=f"7-{n}",
        advertiser_id=ADV,
        rule="overspend",
        level=Level.CAMPAIGN,
        entity_id=entity,
        entity_name="Summer",
        change=PlannedChange("pause", before={"operation_status": "ENABLE"}),
        reason={"spend": 120.5},
        requested_at=T0,
        expires_at=T0 + hours * HOUR,
    )


async def saved(store: Store, *approvals: Approval) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save_approvals(approvals)


async def test_a_poll_saves_approvals_read_back_pending_until_they_expire(store: Store) -> None:
    await saved(store, approval(1), approval(2, "c2", hours=3))
    got = await store.approvals.get("7-1")
    assert got == approval(1) and got.change.before == {"operation_status": "ENABLE"} and got.reason["spend"] == 120.5
    assert [a.id for a in await store.approvals.pending(T0)] == ["7-1", "7-2"]
    assert [a.id for a in await store.approvals.pending(T0 + 2 * HOUR)] == ["7-2"]  # 7-1 past its expiry
    assert [a.id for a in await store.approvals.waiting(ADV)] == ["7-1", "7-2"]  # still pending until dropped
    assert await store.approvals.get("nope") is None
    assert got.to_json()["expires_at"] == "2026-11-24T21:00:00Z"


async def test_concurrent_claims_of_one_approval_let_exactly_one_win(store: Store) -> None:
    await saved(store, approval())
    now = T0 + timedelta(minutes=5)
    claims = await asyncio.gather(
        *(store.approvals.claim("7-1", ApprovalState.APPROVED, by=f"person{i}", now=now) for i in range(4))
    )
    won = [c for c in claims if c is not None]
    assert len(won) == 1 and won[0].state is ApprovalState.APPROVED and won[0].decided_at == now
    assert await store.approvals.claim("7-1", ApprovalState.REJECTED, by="late", now=now) is None
    assert (await store.approvals.get("7-1")).decided_by == won[0].decided_by  # type: ignore[union-attr]
    assert await store.approvals.pending(now) == []


async def test_expiry_drops_each_approval_once_and_queues_its_message(store: Store) -> None:
    await saved(store, approval(1), approval(2, "c2", hours=3))

    def compose(a: Approval) -> list[Notification]:
        return [Notification(channel="console", payload={"text": f"dropped {a.id}"}, advertiser_id=a.advertiser_id)]

    later = T0 + 2 * HOUR
    assert await store.approvals.claim("7-1", ApprovalState.APPROVED, by="late", now=later) is None  # past expiry
    first, second = await asyncio.gather(
        store.approvals.expire_due(later, compose), store.approvals.expire_due(later, compose)
    )
    [dropped] = first + second
    assert (dropped.id, dropped.state, dropped.decided_by) == ("7-1", ApprovalState.EXPIRED, "expiry")
    assert await store.outbox.count_pending() == 1
    assert await store.approvals.expire_due(later, compose) == []
    assert [a.id for a in await store.approvals.pending(later)] == ["7-2"]


async def test_the_journal_records_who_approved_and_a_silence_who_expired_it(store: Store) -> None:
    await saved(store)
    intent = ActionIntent(ADV, Level.CAMPAIGN, "c1", "pause", "rule overspend", rule="overspend", approved_by="alice")
    entry = await store.journal.begin(intent, T0)
    assert (await store.journal.get(entry.id)).intent.approved_by == "alice"  # type: ignore[union-attr]
    added = await store.silences.add(Silence((Matcher("rule", "x"),), T0, T0 + HOUR, "bob"), T0)
    assert added.id is not None
    expired = await store.silences.expire(added.id, T0 + timedelta(minutes=1), by="carol")
    assert expired is not None and expired.expired_by == "carol" and expired.to_json()["expired_by"] == "carol"


async def test_migration_0011_adds_approvals_and_who_columns_and_takes_them_away(database: Database) -> None:
    engine = create_engine(database.url, schema=database.schema)
    await upgrade(engine, schema=database.schema, revision="0010")
    ts = T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0
    action = {"created_at": ts, "advertiser_id": ADV, "level": "campaign", "entity_id": "c1", "action": "pause"}
    action |= {"reason": "r", "dry_run": False, "before": "{}", "after": "{}", "status": "succeeded"}
    async with engine.begin() as conn:
        await conn.execute(
            table("advertisers", "id", "created_at", "updated_at").insert(),
            [{"id": ADV, "created_at": ts, "updated_at": ts}],
        )
        await conn.execute(table("actions", *action).insert(), [action])
    await engine.dispose()

    store = await database.open()
    try:
        [old] = await store.journal.history()
        assert old.intent.approved_by is None
        await saved(store, approval())
        assert [a.id for a in await store.approvals.pending(T0)] == ["7-1"]
    finally:
        await store.close()

    await downgrade_to(database, "0010")
    engine = create_engine(database.url, schema=database.schema)
    try:
        assert await current_revisions(engine) == ("0010",)
        async with engine.connect() as conn:
            assert "approvals" not in await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            for name, column in (("actions", "approved_by"), ("silences", "expired_by")):
                columns = await conn.run_sync(lambda c, n=name: sa.inspect(c).get_columns(n))  # type: ignore[misc]
                assert column not in {c["name"] for c in columns}
            assert (await conn.execute(sa.text("SELECT count(*) FROM actions"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_pruning_deletes_approvals_decided_before_the_cutoff_and_keeps_pending_ones(store: Store) -> None:
    await saved(store, approval(1), approval(2, "c2"), approval(3, "c3", hours=200))
    await store.approvals.claim("7-1", ApprovalState.REJECTED, by="bob", now=T0 + timedelta(minutes=1))
    await store.approvals.expire_due(T0 + 2 * HOUR, lambda a: [])  # 7-2 expires; 7-3 still waits
    report = await store.prune(T0 + 26 * HOUR, timedelta(hours=24))  # cutoff T0 + 2h: only 7-1 decided before
    assert report.approvals == 1
    assert await store.approvals.get("7-1") is None
    assert {a.id for a in await store.approvals.list()} == {"7-2", "7-3"}
