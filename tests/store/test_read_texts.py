"""The texts of a previous snapshot's rows read again by key (monitor.store.lean.read_texts, issue 18): those of
every level in one statement, as the reads of one level each read them."""

from __future__ import annotations

import random
from typing import Any

import sqlalchemy as sa

from monitor.domain import EntityKey, Level
from monitor.store import Store
from monitor.store.db import reading
from monitor.store.history import load_sids
from monitor.store.lean import _packed, read_texts
from monitor.store.snapshots import entities_t, latest_poll

from .conftest import ADV, T0
from .test_lean_previous import generated


async def test_the_texts_of_every_level_are_read_in_one_statement(store: Store) -> None:
    """A small poll's changed entities of four levels: one SELECT (one trip to the database), not one a level
    (four before); the same texts and history keys, and a key with no row left out."""
    olds = generated(random.Random(3), ADV, 5)
    async with store.poll(ADV, T0) as poll:
        poll.save(olds)
    c = entities_t.c
    async with reading(store.engine) as conn:
        as_of = (await latest_poll(conn, ADV))[0]
        expected = {(Level(level), i): text for level, i, text in await conn.execute(
            sa.select(c.level, c.entity_id, c.metrics).where(c.advertiser_id == ADV))}  # fmt: skip
        stored = await load_sids(conn, ADV)
    keys: list[EntityKey] = [s.key for s in olds] + [(Level.AD, "nowhere")]
    assert {key[0] for key in keys} == set(Level)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", seen)
    try:
        sids: dict[EntityKey, int] = {}
        async with reading(store.engine) as conn:
            statements.clear()
            texts = await read_texts(conn, ADV, keys, as_of=as_of, sids=sids)
            assert len([s for s in statements if s.lstrip().upper().startswith(("SELECT", "("))]) == 1
            plain = await read_texts(conn, ADV, keys, as_of=as_of)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", seen)
    assert texts == plain == expected and len(texts) == len(olds)
    assert sids == {key: sid for key, sid in stored.items() if key in expected}


def test_packed_reads_keep_their_order_and_name_step_ids_at_most() -> None:
    rng = random.Random(5)
    for _ in range(200):
        step = rng.randint(1, 9)
        arms = [(rng.choice(list(Level)), [str(i)] * rng.randint(1, step)) for i in range(rng.randint(0, 8))]
        groups = _packed(arms, step)
        assert [arm for group in groups for arm in group] == arms
        assert all(group and sum(len(ids) for _, ids in group) <= step for group in groups)
