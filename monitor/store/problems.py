"""Operational problems remembered across restarts (:class:`monitor.domain.OpsState`), one row per (kind, subject).

The runtime loads them at start and hands each subject's states to its problem book; every change is written at
once in a transaction of its own (not the poll's: a told problem stays told even if the poll fails), together
with the outbox rows of the message it tells (:meth:`Problems.record`): remembered as told and queued, or
neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.domain import OpsKind, OpsState, aware
from monitor.store import outbox
from monitor.store.db import reading, writing
from monitor.store.lease import dialect_insert
from monitor.store.models import OpsStateRow
from monitor.store.values import Notification

ops_states_t = OpsStateRow.__table__


class Problems:
    """Read every remembered problem; remember or forget one (with the message it tells: :meth:`record`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def all(self) -> list[OpsState]:
        """Every remembered problem, by subject then kind. Rows of a kind this version does not know are skipped
        (a newer version wrote them)."""
        query = sa.select(ops_states_t).order_by(ops_states_t.c.subject, ops_states_t.c.kind)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        known = {kind.value for kind in OpsKind}
        return [_from_row(row) for row in rows if row.kind in known]

    async def remember(self, states: Iterable[OpsState], now: datetime) -> None:
        """Insert or replace: one statement for all of them."""
        rows = [_to_row(state, aware(now)) for state in states]
        if rows:
            async with writing(self._engine) as conn:
                await _upsert(conn, rows)

    async def forget(self, keys: Iterable[tuple[OpsKind, str]]) -> None:
        """Delete the problems ``(kind, subject)``: one statement for all of them."""
        params = [{"k": kind.value, "s": subject} for kind, subject in keys]
        if params:
            async with writing(self._engine) as conn:
                await _delete(conn, params)

    async def record(
        self, kind: OpsKind, subject: str, state: OpsState | None, told: Iterable[Notification], now: datetime
    ) -> None:
        """Remember ``state`` as the problem ``(kind, subject)`` (None: forget it) and queue ``told`` in the outbox,
        in one transaction: a cancellation or a failure leaves neither written, never a problem remembered as told
        whose message was not queued."""
        aware(now)
        async with writing(self._engine) as conn:
            if state is None:
                await _delete(conn, [{"k": kind.value, "s": subject}])
            else:
                await _upsert(conn, [_to_row(state, now)])
            await outbox.insert(conn, told, now, None)


async def _upsert(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    insert = dialect_insert(conn, ops_states_t)
    values = [c.name for c in ops_states_t.columns if c.name not in ("kind", "subject")]
    statement = insert.on_conflict_do_update(
        index_elements=[ops_states_t.c.kind, ops_states_t.c.subject],
        set_={name: insert.excluded[name] for name in values},
    )
    await conn.execute(statement, rows)


async def _delete(conn: AsyncConnection, params: list[dict[str, str]]) -> None:
    statement = sa.delete(ops_states_t).where(
        ops_states_t.c.kind == sa.bindparam("k"), ops_states_t.c.subject == sa.bindparam("s")
    )
    await conn.execute(statement, params)


def _to_row(state: OpsState, now: datetime) -> dict[str, Any]:
    return {
        "kind": state.kind.value,
        "subject": state.subject,
        "since": state.since,
        "notified": state.notified,
        "last_notified_at": state.last_notified_at,
        "failures": state.failures,
        "detail": state.detail,
        "updated_at": now,
    }


def _from_row(row: Any) -> OpsState:
    return OpsState(
        kind=OpsKind(row.kind),
        subject=row.subject,
        since=row.since,
        notified=row.notified,
        last_notified_at=row.last_notified_at,
        failures=row.failures,
        detail=row.detail,
    )
