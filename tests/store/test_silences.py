"""Silences in the store: added, listed, expired and read by the poll, on SQLite and PostgreSQL; migration 0010
adds their table and alert_states.withheld, and takes both away again."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from monitor.domain import AlertState, Level, Matcher, Silence
from monitor.store import Store
from monitor.store.db import create_engine
from monitor.store.migrate import current_revisions, upgrade

from .conftest import ADV, T0, Database
from .test_migrations import ALERT_STATES, alert_state_rows, downgrade_to, table

HOUR = timedelta(hours=1)


def silence(start_hours: float = 0, hours: float = 2, *matchers: Matcher, by: str = "alice") -> Silence:
    return Silence(
        matchers or (Matcher("rule", "overspend"), Matcher("name", "Summer *", is_glob=True)),
        T0 + start_hours * HOUR,
        T0 + (start_hours + hours) * HOUR,
        by,
        "campaign relaunch",
    )


async def test_add_list_expire_and_active(store: Store) -> None:
    silences = store.silences
    now = T0 + timedelta(minutes=30)
    first = await silences.add(silence(), T0)
    later = await silences.add(silence(3, 1, Matcher("level", "ad")), T0)
    ended = await silences.add(silence(-3, 1, Matcher("entity", "42")), T0)
    assert (first.id, later.id, ended.id) == (1, 2, 3)
    assert first == silence() and first.to_json() == {
        "id": 1,
        "matchers": [
            {"name": "rule", "value": "overspend", "is_glob": False},
            {"name": "name", "value": "Summer *", "is_glob": True},
        ],
        "starts_at": "2026-11-24T20:00:00Z",
        "ends_at": "2026-11-24T22:00:00Z",
        "created_by": "alice",
        "comment": "campaign relaunch",
        "expired_by": None,
    }
    assert [s.id for s in await silences.list(now)] == [1, 2]  # pending and active, by start
    assert [s.id for s in await silences.list(now, include_expired=True)] == [3, 1, 2]
    assert [s.id for s in await silences.active(now)] == [1]

    expired = await silences.expire(1, now)
    assert expired is not None and expired.ends_at == now and expired.state(now) == "expired"
    assert await silences.active(now) == []
    assert [s.id for s in await silences.list(now)] == [2]
    again = await silences.expire(1, now + HOUR)  # already over: left as it was
    assert again is not None and again.ends_at == now
    pending = await silences.expire(2, now)  # ends before it starts: it never mutes
    assert pending is not None and pending.ends_at == pending.starts_at and not pending.active(pending.starts_at)
    assert await silences.expire(99, now) is None


async def test_pruning_deletes_silences_ended_before_the_cutoff(store: Store) -> None:
    await store.silences.add(silence(-50, 1), T0)
    await store.silences.add(silence(0, 1), T0)
    report = await store.prune(T0, timedelta(hours=24))
    assert report.silences == 1
    assert [s.starts_at for s in await store.silences.list(T0, include_expired=True)] == [T0]


async def test_an_alert_state_keeps_withheld(store: Store) -> None:
    withheld = AlertState("overspend", ADV, Level.CAMPAIGN, "c1", "firing", T0, withheld=True)
    async with store.poll(ADV, T0) as poll:
        poll.save_alert_states([withheld, AlertState("other", ADV, Level.AD, "a1", "firing", T0)])
    states = await store.alerts.load(ADV)
    assert states[withheld.key].withheld and not states[("other", Level.AD, "a1")].withheld


async def test_migration_0010_adds_silences_and_withheld_and_takes_them_away(database: Database) -> None:
    engine = create_engine(database.url, schema=database.schema)
    await upgrade(engine, schema=database.schema, revision="0009")
    ts = T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0
    state = {"advertiser_id": ADV, "rule": "overspend", "level": "campaign", "entity_id": "c1", "state": "firing"}
    state |= {"since": ts, "last_notified_at": ts, "last_values": "{}", "updated_at": ts}
    async with engine.begin() as conn:
        await conn.execute(
            table("advertisers", "id", "created_at", "updated_at").insert(),
            [{"id": ADV, "created_at": ts, "updated_at": ts}],
        )
        await conn.execute(ALERT_STATES.insert(), [state])
    await engine.dispose()

    store = await database.open()
    try:
        [loaded] = (await store.alerts.load(ADV)).values()
        assert (loaded.state, loaded.last_notified_at, loaded.withheld) == ("firing", T0, False)
        await store.silences.add(silence(), T0)
        async with store.poll(ADV, T0) as poll:
            poll.save_alert_states([AlertState("overspend", ADV, Level.CAMPAIGN, "c1", "firing", T0, withheld=True)])
    finally:
        await store.close()

    await downgrade_to(database, "0009")
    [row] = await alert_state_rows(database)
    assert (row["rule"], row["state"]) == ("overspend", "firing")
    engine = create_engine(database.url, schema=database.schema)
    try:
        assert await current_revisions(engine) == ("0009",)
        async with engine.connect() as conn:
            assert "silences" not in await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("alert_states"))
            assert "withheld" not in {column["name"] for column in columns}
    finally:
        await engine.dispose()

    store = await database.open()  # up again: nothing withheld, no silences
    try:
        [loaded] = (await store.alerts.load(ADV)).values()
        assert loaded.withheld is False
        assert await store.silences.list(T0, include_expired=True) == []
    finally:
        await store.close()
