"""Economy: a poll writes each table with one statement per slice of ``Store.write_slice`` rows (5,000: one for
these), however many entities it has; on PostgreSQL one INSERT per table (tests/store/test_poll_slices.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.domain import AlertState, Level
from monitor.store import Notification, Store

from .conftest import ADV, T0, latest_snapshot, state, statement_log


@pytest.mark.parametrize("n", [20, 3000])
async def test_one_statement_per_table_per_poll(store: Store, n: int) -> None:
    states = [state(str(i), metrics={"today": {"spend": float(i), "conversion": None}}) for i in range(n)]
    with statement_log(store.engine) as log:
        async with store.poll(ADV, T0) as poll:
            poll.save(states)
            poll.save_alert_states([AlertState("r", ADV, Level.AD, str(i), "pending", T0) for i in range(n // 10)])
            poll.enqueue(*(Notification("slack", {"i": i}, ADV) for i in range(n // 10)))
    assert log.writes() == {
        # entering the poll: make sure the advertiser exists, take the lease (nobody held it: no stale poll to
        # retire), open this one
        ("INSERT", "advertisers"): 1,
        ("INSERT", "leases"): 1,
        ("UPDATE", "polls"): 1,  # this one when it finishes
        ("INSERT", "polls"): 1,
        # the commit: fence on the lease, then one statement per table (and slice of rows)
        ("DELETE", "leases"): 1,
        ("INSERT", "entities"): 1,
        ("INSERT", "entity_keys"): 1,  # the history's keys of the entities new in this poll
        ("INSERT", "history_names"): 1,  # the window and metric set never seen before
        ("INSERT", "history_states"): 1,
        ("INSERT", "history_metrics"): 1,
        ("INSERT", "alert_states"): 1,
        ("INSERT", "outbox"): 1,
        ("UPDATE", "advertisers"): 1,
    }
    copied = ("entities", "history_states", "history_metrics") if store.engine.dialect.driver == "asyncpg" else ()
    assert all(  # one executemany, or (PostgreSQL) a COPY to a temporary table and one INSERT ... SELECT from it
        many is (table not in copied)
        for verb, table, many in log.statements
        if table in ("entities", "history_states", "history_metrics", "outbox") and verb == "INSERT"
    )

    # a second poll with 5 % of the entities changed: the same statements, fewer rows
    changed = [state(str(i), metrics={"today": {"spend": i + 1.0, "conversion": None}}) for i in range(n // 20)]
    with statement_log(store.engine) as log:
        async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
            poll.save(changed + states[n // 20 :])
    writes = log.writes()
    # SQLite: rows whose metrics alone changed are one UPDATE by key (monitor.store.poll_write); PostgreSQL
    # upserts every row, as the first poll did
    verb, other = ("UPDATE", "INSERT") if store.engine.dialect.name == "sqlite" else ("INSERT", "UPDATE")
    assert writes[(verb, "entities")] == 1 and writes[("INSERT", "history_metrics")] == 1
    assert (other, "entities") not in writes
    # only the window changed: no state row, no new key, no new name
    assert ("INSERT", "history_states") not in writes and ("INSERT", "entity_keys") not in writes
    assert ("INSERT", "history_names") not in writes
    (run, _) = await store.polls(ADV)
    assert run.rows_written == n // 20


async def test_reading_the_snapshot_is_a_constant_number_of_statements(store: Store) -> None:
    async with store.poll(ADV, T0) as poll:
        poll.save([state(str(i)) for i in range(500)])
    with statement_log(store.engine) as log:
        snapshot = await latest_snapshot(store, ADV)
    assert snapshot is not None and len(snapshot) == 500
    assert log.count("SELECT", "polls") == 1 and log.count("SELECT", "entities") == 1
