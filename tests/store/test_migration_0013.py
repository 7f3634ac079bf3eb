"""Migration 0013: a database whose history is in ``snapshot_rows`` (revision 0011) is converted to the compact
history with every snapshot rebuilding the same, and rules read the same values from it; the downgrade gives
back ``snapshot_rows`` that rebuild the same snapshots too."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from monitor.domain import EntityKey, EntityState, Level, Snapshot
from monitor.rules.engine import evaluate
from monitor.rules.loader import load_rules
from monitor.store import replay as history
from monitor.store.db import create_engine
from monitor.store.migrate import upgrade
from monitor.store.snapshots import row_values

from .conftest import ADV, T0, Database
from .histories import histories
from .test_migrations import downgrade_to

MINUTE = timedelta(minutes=1)
STATE = ("campaign_id", "adgroup_id", "name", "operation_status", "secondary_status", "budget", "budget_mode")


def old_rows(seen: list[dict[EntityKey, EntityState]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``snapshot_rows`` and ``entities`` rows as the store at 0011 wrote them for these polls (ids 1, 2, ...)."""
    rows, entities, previous = [], {}, {}
    for poll_id, now in enumerate(seen, start=1):
        changed = [
            row_values(s, json.dumps(s.metrics, default=dict), True)._asdict()
            for k, s in now.items()
            if previous.get(k) != s or _types(previous[k]) != _types(s)
        ]
        changed += [
            row_values(s, json.dumps(s.metrics, default=dict), False)._asdict()
            for k, s in previous.items()
            if k not in now
        ]
        for row in changed:
            rows.append({**row, "poll_id": poll_id})
            key = (row["level"], row["entity_id"])
            first = entities.get(key, {}).get("first_seen_poll", poll_id)
            entities[key] = {**row, "first_seen_poll": first, "changed_poll": poll_id}
        previous = now
    return rows, list(entities.values())


def _types(entity: EntityState) -> Any:
    return {w: {m: type(v) for m, v in vs.items()} for w, vs in entity.metrics.items()}


async def fill_0011(database: Database, seen: list[dict[EntityKey, EntityState]], step: timedelta = MINUTE) -> None:
    """The polls of ``seen`` (ids 1, 2, ...; ``step`` apart from T0) stored at revision 0011."""
    engine = create_engine(database.url, schema=database.schema)
    await upgrade(engine, schema=database.schema, revision="0011")
    sqlite = engine.dialect.name == "sqlite"
    ts = T0.replace(tzinfo=None) if sqlite else T0
    rows, entities = old_rows(seen)
    meta = sa.MetaData()
    async with engine.begin() as conn:
        tables = await conn.run_sync(
            lambda c: {
                n: sa.Table(n, meta, autoload_with=c) for n in ("advertisers", "polls", "entities", "snapshot_rows")
            }
        )
        await conn.execute(tables["advertisers"].insert(), [{"id": ADV, "created_at": ts, "updated_at": ts}])
        await conn.execute(
            tables["polls"].insert(),
            [
                {
                    "advertiser_id": ADV,
                    "owner": "v11",
                    "status": "ok",
                    "started_at": ts + n * step,
                    "errors": "[]",
                    "api_calls": 1,
                    "entities": 0,
                    "rows_written": 0,
                }
                for n in range(len(seen))
            ],
        )
        await conn.execute(tables["entities"].insert(), entities)
        await conn.execute(tables["snapshot_rows"].insert(), rows)
    await engine.dispose()


def old_snapshot(rows: list[Any], poll_id: int) -> dict[EntityKey, EntityState]:
    """The 0011 reading of ``snapshot_rows``: per entity its newest row at or before the poll, if present."""
    newest: dict[tuple[str, str], Any] = {}
    for row in sorted(rows, key=lambda r: r.poll_id):
        if row.poll_id <= poll_id:
            newest[(row.level, row.entity_id)] = row
    out = {}
    for row in newest.values():
        if row.present:
            fields = {name: getattr(row, name) for name in STATE}
            entity = EntityState(Level(row.level), row.entity_id, ADV, metrics=json.loads(row.metrics), **fields)
            out[entity.key] = entity
    return out


async def test_history_at_0011_is_converted_and_every_snapshot_rebuilds_the_same(database: Database, tmp_path) -> None:
    seen = histories(seed=5)
    await fill_0011(database, seen)
    store = await database.open()
    try:
        for poll_id, entities in enumerate(seen, start=1):
            snapshot = await store.snapshot(ADV, poll_id)
            assert snapshot is not None and dict(snapshot.entities) == entities, poll_id
        streamed = [dict(s.entities) async for s, _ in history.snapshots(store.engine, ADV, T0)]
        assert streamed == seen
        # rules read the same values from the converted history as from what the polls saw
        rule = tmp_path / "r.toml"
        rule.write_text(
            '[[rule]]\nname = "r"\nlevel = "ad"\n'
            "when = \"spend >= 0 or conversion == 0 or name != '' or changed(operation_status)\"\n"
        )
        rules = load_rules(rule, channels=())
        for n in range(1, len(seen)):
            now = T0 + n * MINUTE
            stored = await store.snapshot(ADV, n + 1), await store.snapshot(ADV, n)
            assert stored[0] is not None and stored[1] is not None
            made = Snapshot(ADV, n + 1, now, seen[n]), Snapshot(ADV, n, now - MINUTE, seen[n - 1])
            found = [evaluate(rules.rules, s[0], s[1], now) for s in (stored, made)]
            values = [sorted((f.key, dict(f.values)) for f in e.findings) for e in found]
            assert values[0] == values[1] and values[0]
    finally:
        await store.close()

    await downgrade_to(database, "0011")
    engine = create_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT * FROM snapshot_rows"))).all()
    finally:
        await engine.dispose()
    for poll_id, entities in enumerate(seen, start=1):
        assert old_snapshot(rows, poll_id) == entities
