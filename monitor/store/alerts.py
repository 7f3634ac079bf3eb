"""Alert states: where each rule stands for each entity, kept between polls for the lifecycle (rules/lifecycle.py).

States are loaded with :meth:`Alerts.load` before evaluation and written back through the poll writer, in the
same transaction as the snapshot and the outbox rows their transitions produce.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import AlertState, Level
from monitor.store.db import reading
from monitor.store.lease import dialect_insert
from monitor.store.models import AlertStateRow
from monitor.store.values import dumps

alerts_t = AlertStateRow.__table__

AlertKey = tuple[str, Level, str]  # (rule, level, entity_id) within one advertiser


class Alerts:
    """Read access to alert states; writes happen through ``PollWriter.save_alert_states``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, advertiser_id: str) -> dict[AlertKey, AlertState]:
        """Every stored alert state of one advertiser, keyed by (rule, level, entity_id)."""
        async with reading(self._engine) as conn:
            return await load_states(conn, advertiser_id)

    async def in_states(self, states: Collection[str]) -> list[AlertState]:
        """Every advertiser's alert states that are in one of ``states`` (e.g. pending, firing), by advertiser,
        rule, level and entity (``tiktok-monitor status``)."""
        query = (
            sa.select(alerts_t)
            .where(alerts_t.c.state.in_(list(states)))
            .order_by(alerts_t.c.advertiser_id, alerts_t.c.rule, alerts_t.c.level, alerts_t.c.entity_id)
        )
        async with reading(self._engine) as conn:
            return [_from_row(row) for row in await conn.execute(query)]


async def load_states(conn: AsyncConnection, advertiser_id: str) -> dict[AlertKey, AlertState]:
    """:meth:`Alerts.load` within a transaction of the caller's."""
    rows = await conn.execute(sa.select(alerts_t).where(alerts_t.c.advertiser_id == advertiser_id))
    states = [_from_row(row) for row in rows]
    return {s.key: s for s in states}


def _from_row(row: Any) -> AlertState:
    return AlertState(
        rule=row.rule,
        advertiser_id=row.advertiser_id,
        level=Level(row.level),
        entity_id=row.entity_id,
        state=row.state,
        since=row.since,
        last_notified_at=row.last_notified_at,
        values=json.loads(row.last_values),
        withheld=bool(row.withheld),
    )


async def upsert(conn: AsyncConnection, states: Iterable[AlertState], now: datetime) -> None:
    """Insert or replace alert states: one statement for all of them."""
    rows = [
        {
            "advertiser_id": s.advertiser_id,
            "rule": s.rule,
            "level": s.level.value,
            "entity_id": s.entity_id,
            "state": s.state,
            "since": s.since,
            "last_notified_at": s.last_notified_at,
            "last_values": dumps(s.values),
            "updated_at": now,
            "withheld": s.withheld,
        }
        for s in states
    ]
    if not rows:
        return
    insert = dialect_insert(conn, alerts_t)
    keep = {"advertiser_id", "rule", "level", "entity_id"}
    statement = insert.on_conflict_do_update(
        index_elements=[alerts_t.c[name] for name in ("advertiser_id", "rule", "level", "entity_id")],
        set_={c.name: insert.excluded[c.name] for c in alerts_t.columns if c.name not in keep},
    )
    await conn.execute(statement, rows)


async def delete(conn: AsyncConnection, advertiser_id: str, keys: Iterable[AlertKey]) -> None:
    """Forget alert states (the lifecycle went back to "inactive"): one statement for all of them."""
    params = [
        {"a": advertiser_id, "r": rule, "l": Level(level).value, "e": entity_id} for rule, level, entity_id in keys
    ]
    if not params:
        return
    statement = sa.delete(alerts_t).where(
        alerts_t.c.advertiser_id == sa.bindparam("a"),
        alerts_t.c.rule == sa.bindparam("r"),
        alerts_t.c.level == sa.bindparam("l"),
        alerts_t.c.entity_id == sa.bindparam("e"),
    )
    await conn.execute(statement, params)
