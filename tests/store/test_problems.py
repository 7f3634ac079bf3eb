"""Operational problems remembered across restarts: one row per (kind, subject), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from monitor.domain import OpsKind, OpsState
from monitor.notify.message import OperationalMessage, notifications
from monitor.store import Store
from monitor.store.db import writing
from monitor.store.problems import ops_states_t

from .conftest import T0


async def test_remember_replace_and_forget(store: Store) -> None:
    revoked = OpsState(OpsKind.TOKEN_REVOKED, "7000000000000000001", T0, notified=True, last_notified_at=T0)
    rules = OpsState(OpsKind.RULES_RELOAD_FAILED, "rules", T0, detail="a.toml:3: when: ...")
    await store.problems.remember([revoked, rules], T0)
    assert await store.problems.all() == [revoked, rules]

    later = OpsState(OpsKind.TOKEN_REVOKED, "7000000000000000001", T0, True, T0 + timedelta(hours=6), failures=4)
    await store.problems.remember([later], T0 + timedelta(hours=6))
    assert await store.problems.all() == [later, rules]

    await store.problems.forget([(OpsKind.TOKEN_REVOKED, "7000000000000000001")])
    assert await store.problems.all() == [rules]


async def test_a_kind_this_version_does_not_know_is_skipped(store: Store) -> None:
    async with writing(store.engine) as conn:
        row = {"kind": "from_the_future", "subject": "x", "since": T0, "notified": True, "last_notified_at": None}
        await conn.execute(sa.insert(ops_states_t), [{**row, "failures": 0, "detail": "", "updated_at": T0}])
    assert await store.problems.all() == []


async def test_record_remembers_and_queues_together(store: Store) -> None:
    revoked = OpsState(OpsKind.TOKEN_REVOKED, "7000000000000000001", T0, notified=True, last_notified_at=T0)
    told = OperationalMessage(OpsKind.TOKEN_REVOKED, revoked.subject, "AuthError", T0, T0)
    await store.problems.record(revoked.kind, revoked.subject, revoked, notifications(told, ["slack", "email"]), T0)
    assert await store.problems.all() == [revoked]
    later = T0 + timedelta(hours=1)
    recovered = OperationalMessage(OpsKind.TOKEN_REVOKED, revoked.subject, "AuthError", T0, later, recovered=True)
    await store.problems.record(revoked.kind, revoked.subject, None, notifications(recovered, ["slack"]), later)
    assert await store.problems.all() == []
    queued = await store.outbox.fetch_due(later)
    assert [(row.channel, row.payload["recovered"]) for row in queued] == [
        ("slack", False),
        ("email", False),
        ("slack", True),
    ]
