"""Loading the previous snapshot (issue 18): the read that makes a row's level, statuses, budget mode and parents
one text (monitor.store.snapshots.SHARED_COLUMNS, a JSON array) gives the very snapshot the read of each column
apart gives, on both databases: the same states with every field of the same type and value (None, empty text,
quotes, backslashes and other characters JSON escapes; budgets of every kind), metrics the same stored text (or
the shared empty ones), the same history keys; and both are what was saved."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from monitor.domain import EntityKey, EntityState, Level, Snapshot
from monitor.domain.stored import StoredMetrics
from monitor.domain.values import EMPTY
from monitor.store import Store
from monitor.store import history as store_history
from monitor.store.db import reading
from monitor.store.snapshots import _shared_text, load_current

from .conftest import ADV, T0, Database, state

#: Texts JSON has to escape or could mistake for something else, in the columns read as one text.
ODD = ["", 'say "hi"', "back\\slash", "ünïcødé ☃ 🚀", "[1, 2]", "null", "tab\tnew\nline", "it's", "\u2028", "\x01"]


def entities() -> list[EntityState]:
    """Every level; None in every column that may be None; budgets of every kind; a Smart+ ad; an entity without
    metrics and metrics with no data (None), zeros of both types and floats that need all their digits."""
    n = len(ODD)
    plenty: dict[str, dict[str, Any]] = {
        "today": {"spend": 0.1 + 0.2, "clicks": 0, "ctr": 0.0, "cpc": None},
        "lifetime": {"spend": 1e-300},
    }
    return [
        state(ADV, Level.ADVERTISER, budget=None, budget_mode=None, metrics={}),
        state("c1", Level.CAMPAIGN, budget=100.0, budget_mode="BUDGET_MODE_DAY"),
        state("c2", Level.CAMPAIGN, name=None, operation_status=None, secondary_status=None, budget=0.1 + 0.2,
              budget_mode=None, metrics={}),
        state("c3", Level.CAMPAIGN, budget=0.0, budget_mode="BUDGET_MODE_INFINITE", metrics=plenty),
        state("c4", Level.CAMPAIGN, budget=-0.0, metrics={"today": {"spend": None}}),
        state("c5", Level.CAMPAIGN, budget=1.7976931348623157e308, smart_plus=True),
        state("g1", Level.ADGROUP, budget=33.333333333333336, campaign_id="c1"),
        state("g2", Level.ADGROUP, budget=None, budget_mode=None, campaign_id=None, metrics=plenty),
        state("g3", Level.ADGROUP, budget=5e-324, campaign_id="c5", smart_plus=True),
        state("a1", campaign_id="c1", adgroup_id="g1"),
        state("a2", campaign_id=None, adgroup_id=None, name=None, operation_status=None, secondary_status=None),
        state("a3", campaign_id="c5", adgroup_id="g3", smart_plus=True, metrics={}),  # a Smart+ ad
        state("a4", campaign_id="c1", adgroup_id="g1", metrics=plenty),
        *(
            state(f"odd{i}", name=ODD[i], operation_status=ODD[(i + 1) % n], secondary_status=ODD[(i + 2) % n],
                  budget_mode=ODD[(i + 3) % n], campaign_id=ODD[(i + 4) % n], adgroup_id=ODD[(i + 5) % n],
                  metrics={"today": {"n": i}})
            for i in range(n)  # every odd text in every column
        ),
    ]  # fmt: skip


def exactly(entity: EntityState) -> tuple[Any, ...]:
    """Every field of ``entity`` with its type (floats by repr: -0.0 is not 0.0 here); metrics as their stored
    text, or the shared empty ones."""
    metrics = entity.metrics
    stored = "EMPTY" if metrics is EMPTY else metrics.text if isinstance(metrics, StoredMetrics) else None
    fields = (getattr(entity, name) for name in EntityState.__slots__ if name != "metrics")
    return type(entity), stored, *((type(value), repr(value)) for value in fields)


def as_stored(saved: list[EntityState]) -> dict[EntityKey, EntityState]:
    """``saved`` as the store keeps them: Smart+ is not stored (the API says it each poll), nor who changed what."""
    return {e.key: EntityState(*(getattr(e, f) for f in EntityState.__slots__[:11])) for e in saved}


async def both_reads(store: Store, sids: bool) -> tuple[Snapshot, Snapshot, dict[EntityKey, int], dict[EntityKey, int]]:
    shared_sids: dict[EntityKey, int] = {}
    apart_sids: dict[EntityKey, int] = {}
    async with reading(store.engine) as conn:
        shared = await load_current(conn, ADV, shared_sids if sids else None)
        apart = await load_current(conn, ADV, apart_sids if sids else None, shared_text=False)
    assert shared is not None and apart is not None
    return shared, apart, shared_sids, apart_sids


async def test_the_read_of_one_shared_text_gives_the_snapshot_of_the_columns_read_apart(store: Store) -> None:
    saved = entities()
    async with store.poll(ADV, T0) as poll:
        poll.save([*saved, state("gone", campaign_id="c1", adgroup_id="g1")])
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        poll.save(saved)  # "gone" keeps its row and its key, not its place in the snapshot
    statements: list[str] = []

    def log(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", log)
    try:
        shared, apart, shared_sids, apart_sids = await both_reads(store, sids=True)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", log)
    function = "json_build_array" if store.engine.dialect.name == "postgresql" else "json_array"
    assert [function in s for s in statements if "FROM entities" in s] == [True, False]  # the two reads compared

    assert shared.entities.keys() == apart.entities.keys() == {e.key for e in saved}
    for key, entity in shared.entities.items():
        assert exactly(entity) == exactly(apart.entities[key]), key
    expected = as_stored(saved)
    assert dict(shared.entities) == expected  # what was saved
    for key, entity in shared.entities.items():
        budget = entity.budget
        assert type(budget) is type(expected[key].budget) and budget == expected[key].budget, key
    assert shared.get(Level.AD, "a3") is not None and shared.entities[(Level.AD, "a3")].metrics is EMPTY

    async with reading(store.engine) as conn:
        every = await store_history.load_sids(conn, ADV)
    assert shared_sids == apart_sids == {key: sid for key, sid in every.items() if key in shared.entities}


async def test_without_history_keys_both_reads_give_the_same_snapshot(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save(entities())
    shared, apart, shared_sids, apart_sids = await both_reads(store, sids=False)
    assert {k: exactly(e) for k, e in shared.entities.items()} == {k: exactly(e) for k, e in apart.entities.items()}
    assert dict(shared.entities) == as_stored(entities()) and shared_sids == apart_sids == {}


def test_a_sqlite_without_json_functions_reads_the_columns_apart() -> None:
    """SQLite has JSON functions built in from 3.38 on; before, only where it was built with them."""
    old, new = sqlite.dialect(), sqlite.dialect()
    old.server_version_info, new.server_version_info = (3, 37, 2), (3, 38, 0)
    assert _shared_text(old) is None
    assert "json_array" in str(_shared_text(new))
    assert "json_build_array" in str(_shared_text(postgresql.dialect()))


async def test_a_sqlite_that_fails_the_json_read_gives_the_snapshot_read_apart(tmp_path: Any) -> None:
    """A SQLite of 3.38 or later may be built without its JSON functions: the read fails, and is made apart."""
    store = await Database("sqlite", f"sqlite:///{tmp_path / 'monitor.db'}").open()
    try:
        await _fails_the_json_read(store)
    finally:
        await store.close()


async def _fails_the_json_read(store: Store) -> None:
    saved = entities()
    async with store.poll(ADV, T0) as poll:
        poll.save(saved)
    failed: list[str] = []

    def no_json(*_: Any) -> None:
        failed.append("json_array")
        raise ValueError("no such function: json_array")  # as a build without it fails the statement

    async with reading(store.engine) as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.create_function("json_array", -1, no_json)  # type: ignore[union-attr]
        try:
            snapshot = await load_current(conn, ADV)
        finally:
            await raw.driver_connection.create_function("json_array", -1, None)  # type: ignore[union-attr]
    assert failed  # the JSON read was tried, and failed
    assert snapshot is not None and dict(snapshot.entities) == as_stored(saved)
