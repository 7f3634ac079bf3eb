"""Schema versions: an older database is upgraded in place with its data, a newer one is refused untouched."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from monitor.domain import AlertState, Hold, Level
from monitor.store import ActionIntent, MigrationError, SchemaVersionError, Store
from monitor.store.db import create_engine
from monitor.store.migrate import alembic_config, current_revisions, head_revision, upgrade
from monitor.store.models import StoreModel
from monitor.store.partitions import is_layout

from .conftest import ADV, T0, Database, latest_snapshot, state

FIRST = "0001"


def table(name: str, *columns: str) -> sa.TableClause:
    """The tables as revision 0001 created them: plain names, no models (they describe the newest schema)."""
    return sa.table(name, *(sa.column(c) for c in columns))


ENTITY_COLUMNS = ("advertiser_id", "level", "entity_id", "present", "name", "operation_status", "secondary_status")
ENTITY_COLUMNS += ("budget", "budget_mode", "campaign_id", "adgroup_id", "metrics")


async def fill_first_revision(database: Database) -> None:
    """Write two polls of data the way the store at revision 0001 stored it."""
    engine = create_engine(database.url, schema=database.schema)
    await upgrade(engine, schema=database.schema, revision=FIRST)
    ts = T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0
    later = ts + timedelta(minutes=5)
    polls = table("polls", "advertiser_id", "owner", "started_at", "finished_at", "status", "api_calls", "errors")
    polls.append_column(sa.column("entities"))
    polls.append_column(sa.column("rows_written"))
    entity = {"campaign_id": "c1", "adgroup_id": "g1", "budget": None, "budget_mode": None}
    entity |= {"name": "ad a1", "operation_status": "ENABLE", "secondary_status": "AD_STATUS_DELIVERY_OK"}
    first = {**entity, "advertiser_id": ADV, "level": "ad", "entity_id": "a1", "present": True}
    first["metrics"] = '{"today":{"conversion":null,"impressions":0,"spend":0.0}}'
    second = {
        **first,
        "operation_status": "DISABLE",
        "metrics": '{"today":{"conversion":2,"impressions":9,"spend":1.5}}',
    }
    async with engine.begin() as conn:
        await conn.execute(
            table("advertisers", "id", "name", "timezone", "currency", "created_at", "updated_at").insert(),
            [
                {
                    "id": ADV,
                    "name": "Shop",
                    "timezone": "Asia/Tokyo",
                    "currency": "JPY",
                    "created_at": ts,
                    "updated_at": ts,
                }
            ],
        )
        # ids come from the sequence (PostgreSQL) or rowid (SQLite), as the store at 0001 let them: 1 and 2
        common = {"advertiser_id": ADV, "owner": "v1", "status": "ok", "api_calls": 4}
        await conn.execute(
            polls.insert().values(errors="[]", entities=1, rows_written=1),
            [
                {**common, "started_at": ts, "finished_at": ts},
                {**common, "started_at": later, "finished_at": later},
            ],
        )
        await conn.execute(
            table("entities", *ENTITY_COLUMNS, "first_seen_poll", "changed_poll").insert(),
            [{**second, "first_seen_poll": 1, "changed_poll": 2}],
        )
        await conn.execute(
            table("snapshot_rows", *ENTITY_COLUMNS, "poll_id").insert(),
            [{**first, "poll_id": 1}, {**second, "poll_id": 2}],
        )
    await engine.dispose()


async def test_a_first_revision_database_with_data_is_upgraded_in_place(database: Database) -> None:
    await fill_first_revision(database)
    store = await database.open()
    try:
        engine = store.engine
        assert await current_revisions(engine) == (head_revision(),)
        latest, previous = await latest_snapshot(store, ADV), await store.previous_snapshot(ADV)
        assert latest is not None and previous is not None
        assert (latest.poll_id, latest.taken_at, previous.poll_id, previous.taken_at) == (
            2,
            T0 + timedelta(minutes=5),
            1,
            T0,
        )
        a1_now, a1_before = latest.get("ad", "a1"), previous.get("ad", "a1")
        assert a1_now is not None and a1_before is not None
        assert (a1_before.operation_status, a1_now.operation_status) == ("ENABLE", "DISABLE")
        assert a1_before.metrics == {"today": {"conversion": None, "impressions": 0, "spend": 0.0}}
        advertiser = await store.advertiser(ADV)
        assert advertiser is not None and (advertiser.timezone, advertiser.currency) == ("Asia/Tokyo", "JPY")
        # the tables the upgrade added work with the old rows
        entry = await store.journal.begin(ActionIntent(ADV, Level.AD, "a1", "pause", "test"), T0)
        assert entry.id == 1
        async with store.poll(ADV, T0 + timedelta(minutes=10)) as poll:
            assert poll.previous == latest
            poll.save([state("a1")])
            poll.save_alert_states([AlertState("r", ADV, Level.AD, "a1", "firing", T0)])
        assert poll.poll_id == 3
    finally:
        await store.close()


async def test_sqlite_database_is_copied_before_an_upgrade(tmp_path: Path) -> None:
    database = Database("sqlite", f"sqlite:///{tmp_path / 'monitor.db'}")
    await fill_first_revision(database)
    store = await database.open()
    await store.close()
    backup = tmp_path / f"monitor.db.before-{FIRST}"
    assert backup.exists()

    def read() -> Any:
        with sqlite3.connect(backup) as conn:
            return conn.execute(
                "SELECT version_num, (SELECT count(*) FROM snapshot_rows) FROM alembic_version"
            ).fetchone()

    assert await asyncio.to_thread(read) == (FIRST, 2)
    store = await database.open()  # already at head: no new copy
    await store.close()
    names = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.iterdir() if ".before-" in p.name))
    assert names == [backup.name]


async def test_a_newer_database_is_refused_and_left_untouched(database: Database) -> None:
    store = await database.open()
    async with store.poll(ADV, T0) as poll:
        poll.save([state("a1")])
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    await store.close()

    with pytest.raises(SchemaVersionError) as refused:
        await database.open()
    message = str(refused.value)
    assert "0099_from_the_future" in message and head_revision() in message
    assert "newer monitor" in message and "not modified" in message
    assert refused.value.found == ("0099_from_the_future",)

    engine = create_engine(database.url, schema=database.schema)
    try:
        assert await current_revisions(engine) == ("0099_from_the_future",)
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM history_states"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_a_failing_upgrade_is_rolled_back_entirely(database: Database) -> None:
    """Revision 0002 creates alert_states, then outbox: a clash on the second leaves no trace of the first."""
    await fill_first_revision(database)
    engine = create_engine(database.url, schema=database.schema)
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE outbox (somebody_elses INTEGER)"))
    await engine.dispose()

    with pytest.raises(MigrationError, match=f"from 0001 to {head_revision()} failed and was rolled back"):
        await database.open()

    engine = create_engine(database.url, schema=database.schema)
    try:
        assert await current_revisions(engine) == (FIRST,)

        def tables(conn: sa.Connection) -> set[str]:
            return set(sa.inspect(conn).get_table_names())

        async with engine.connect() as conn:
            names = await conn.run_sync(tables)
            assert "alert_states" not in names and "actions" not in names
            assert (await conn.execute(sa.text("SELECT count(*) FROM snapshot_rows"))).scalar_one() == 2
    finally:
        await engine.dispose()


async def test_migrations_build_exactly_the_schema_the_models_describe(store: Store) -> None:
    """The models describe every table and column, but for PostgreSQL's history partitions and their ``day``
    (monitor.store.partitions; tests/store/test_partitions.py checks them)."""

    def compare(conn: sa.Connection) -> list[Any]:
        def include(name: str | None, kind: str, parents: Any) -> bool:
            return conn.dialect.name != "postgresql" or not is_layout(name, kind, parents.get("table_name"))

        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include})
        return compare_metadata(context, StoreModel.metadata)

    async with store.engine.connect() as conn:
        assert await conn.run_sync(compare) == []


async def test_opening_twice_is_a_no_op(database: Database) -> None:
    for _ in range(2):
        store = await database.open()
        assert await current_revisions(store.engine) == (head_revision(),)
        await store.close()


# --- 0003: holds move out of alert_states ----------------------------------------------------------------------

TS = sa.DateTime(timezone=True)
ALERT_STATES = sa.table(
    "alert_states",
    *(sa.column(c) for c in ("advertiser_id", "rule", "level", "entity_id", "state", "last_values")),
    sa.column("since", TS),
    sa.column("last_notified_at", TS),
    sa.column("updated_at", TS),
)


def packed(until: datetime, journal_id: int | None, value: str | None) -> str:
    """A hold's data as the monitor at 0002 packed it into an alert state (override.to_state)."""
    return json.dumps(
        {"by": "a person", "journal_id": journal_id, "until": until.isoformat(), "value": value},
        sort_keys=True,
        separators=(",", ":"),
    )


async def fill_second_revision(database: Database) -> list[dict[str, Any]]:
    """An advertiser with two rules' alert states and two holds, as the store at 0002 kept them."""
    engine = create_engine(database.url, schema=database.schema)
    await upgrade(engine, schema=database.schema, revision="0002")
    sqlite = engine.dialect.name == "sqlite"

    def ts(moment: datetime) -> datetime:
        return moment.replace(tzinfo=None) if sqlite else moment

    common = {"advertiser_id": ADV, "last_notified_at": None, "updated_at": ts(T0)}
    rows = [
        {**common, "rule": "overspend", "level": "campaign", "entity_id": "c1", "state": "firing", "since": ts(T0)},
        # "_" is a LIKE wildcard: a rule whose name only looks like a hold's stays a rule's
        {**common, "rule": "Xactions/override/budget", "level": "adgroup", "entity_id": "g1", "state": "pending"},
        {**common, "rule": "_actions/override/operation_status", "level": "campaign", "entity_id": "c1"},
        {**common, "rule": "_actions/override/budget", "level": "adgroup", "entity_id": "g1"},
    ]
    rows[0]["last_values"] = '{"spend":512.5}'
    rows[1] |= {"since": ts(T0), "last_values": "{}"}
    rows[2] |= {"state": "held", "since": ts(T0), "last_values": packed(T0 + timedelta(hours=24), 3, "ENABLE")}
    rows[3] |= {"state": "held", "since": ts(T0 - timedelta(hours=1))}
    rows[3]["last_values"] = packed(T0 + timedelta(hours=23), None, "150.0")
    async with engine.begin() as conn:
        await conn.execute(
            table("advertisers", "id", "created_at", "updated_at").insert(),
            [{"id": ADV, "created_at": ts(T0), "updated_at": ts(T0)}],
        )
        await conn.execute(ALERT_STATES.insert(), rows)
    await engine.dispose()
    return rows


async def alert_state_rows(database: Database) -> list[dict[str, Any]]:
    engine = create_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as conn:
            found = await conn.execute(sa.select(ALERT_STATES))
            return sorted((dict(row._mapping) for row in found), key=lambda r: r["rule"])
    finally:
        await engine.dispose()


async def downgrade_to(database: Database, revision: str) -> None:
    engine = create_engine(database.url, schema=database.schema)

    def run(connection: sa.Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def test_holds_move_from_alert_states_to_their_table_and_back(database: Database) -> None:
    before = sorted(await fill_second_revision(database), key=lambda r: r["rule"])
    store = await database.open()
    try:
        assert set(await store.alerts.load(ADV)) == {
            ("overspend", Level.CAMPAIGN, "c1"),
            ("Xactions/override/budget", Level.ADGROUP, "g1"),
        }
        assert await store.holds.active(ADV, T0) == [
            Hold(
                ADV, (Level.ADGROUP, "g1"), "budget", T0 - timedelta(hours=1), T0 + timedelta(hours=23), None, "150.0"
            ),
            Hold(ADV, (Level.CAMPAIGN, "c1"), "operation_status", T0, T0 + timedelta(hours=24), 3, "ENABLE"),
        ]
    finally:
        await store.close()

    await downgrade_to(database, "0002")
    assert await alert_state_rows(database) == await alert_state_rows_like(database, before)
    engine = create_engine(database.url, schema=database.schema)
    try:
        assert await current_revisions(engine) == ("0002",)
        async with engine.connect() as conn:
            assert "holds" not in await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await engine.dispose()

    # up again; a second hold of one field (a revert's, ending later): the downgrade keeps the newest per field
    store = await database.open()
    try:
        assert len(await store.holds.active(ADV, T0)) == 2
        later = Hold(
            ADV, (Level.CAMPAIGN, "c1"), "operation_status", T0, T0 + timedelta(hours=30), 5, "ENABLE", "revert #6"
        )
        await store.holds.add([later], T0)
    finally:
        await store.close()
    await downgrade_to(database, "0002")
    [held] = [r for r in await alert_state_rows(database) if r["rule"] == "_actions/override/operation_status"]
    assert json.loads(held["last_values"]) == {
        "by": "revert #6",
        "journal_id": 5,
        "until": (T0 + timedelta(hours=30)).isoformat(),
        "value": "ENABLE",
    }


async def alert_state_rows_like(database: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` as the database hands them back (naive times on SQLite, aware on PostgreSQL)."""
    expected = []
    for row in rows:
        out = dict(row)
        for name in ("since", "updated_at"):
            moment = out[name]
            out[name] = moment.replace(tzinfo=None) if database.backend == "sqlite" else moment
        expected.append(out)
    return expected


async def test_a_new_database_is_created_not_upgraded(tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="monitor.store.migrate"):
        store = await Store.open(f"sqlite:///{tmp_path / 'new.db'}")
        await store.close()
        store = await Store.open(f"sqlite:///{tmp_path / 'new.db'}")  # opened again: nothing to say
        await store.close()
    said = [r.getMessage() for r in caplog.records if r.name == "monitor.store.migrate"]
    assert said == ["store created"]
