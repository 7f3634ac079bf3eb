"""Reading the previous snapshot for a poll (issue 18): one statement brings the entities and their history keys
(``sid``), the keys shared with the snapshot's, and every state shares one string per advertiser id, status,
budget mode and parent id."""

from __future__ import annotations

from datetime import timedelta

from monitor.domain import Level
from monitor.store import Store
from monitor.store import history as store_history
from monitor.store.db import reading
from monitor.store.snapshots import ENTITY_COLUMNS, STATE_COLUMNS, load_current, row_values

from .conftest import ADV, T0, latest_snapshot, state, statement_log


async def test_the_poll_reads_the_previous_snapshot_and_its_keys_in_one_statement(store: Store) -> None:
    ads = [
        state(f"a{i}", campaign_id=f"c{i % 2}", adgroup_id=f"g{i % 3}", metrics={"today": {"n": i}}) for i in range(9)
    ]
    campaigns = [state(f"c{i}", Level.CAMPAIGN) for i in range(2)]
    async with store.poll(ADV, T0) as poll:
        poll.save([*ads, *campaigns])
    async with store.poll(ADV, T0 + timedelta(minutes=5)) as poll:
        poll.save([*ads[1:], *campaigns])  # a0 is gone: it keeps its key, not its place in the snapshot
    with statement_log(store.engine) as log:
        async with store.poll(ADV, T0 + timedelta(minutes=10)) as poll:
            previous = poll.previous
            sids = dict(poll._sids)
            poll.save([*ads, *campaigns])  # a0 is back
    assert log.count("SELECT", "entity_keys") == 1  # the new key of the one that came back, no whole read
    assert previous is not None and set(previous.entities) == {s.key for s in [*ads[1:], *campaigns]}
    async with reading(store.engine) as conn:
        every = await store_history.load_sids(conn, ADV)
    assert sids == {key: sid for key, sid in every.items() if key in previous.entities}
    keys = {key: key for key in previous.entities}
    assert all(key is keys[key] for key in sids)  # one key tuple for both
    back = await latest_snapshot(store, ADV)
    assert back is not None and back.get(Level.AD, "a0") == ads[0]


async def test_every_state_of_a_snapshot_shares_its_strings(store: Store) -> None:
    ads = [state(f"a{i}", campaign_id=f"c{i % 2}", adgroup_id=f"g{i % 3}") for i in range(9)]
    async with store.poll(ADV, T0) as poll:
        poll.save(ads)
    async with reading(store.engine) as conn:
        snapshot = await load_current(conn, ADV)
    assert snapshot is not None and list(snapshot.entities.values()) == ads
    read = list(snapshot.entities.values())
    for name in ("advertiser_id", "operation_status", "secondary_status", "campaign_id", "adgroup_id"):
        values = {getattr(s, name) for s in read}
        assert len({id(getattr(s, name)) for s in read}) == len(values), name


def test_an_entities_row_lists_the_state_columns_in_their_order() -> None:
    """poll_changes' rows are plain tuples handed to executemany by ENTITY_COLUMNS: their order is the store's."""
    assert ENTITY_COLUMNS[:5] == ("advertiser_id", "level", "entity_id", "present", "metrics")
    assert ENTITY_COLUMNS[5:] == STATE_COLUMNS
    entity = state("a1", metrics={"today": {"spend": 1.0}})
    row = row_values(entity, "{}", True)
    assert dict(zip(ENTITY_COLUMNS, row, strict=True)) == {
        "advertiser_id": entity.advertiser_id, "level": "ad", "entity_id": "a1", "present": True, "metrics": "{}",
        **{name: getattr(entity, name) for name in STATE_COLUMNS},
    }  # fmt: skip
