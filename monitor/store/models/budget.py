"""The tables of the TikTok API budget shared by every process on this database (monitor.store.budget):
``api_budget`` (an app's shared throttle pause) and ``api_budget_leases`` (the batches of request tokens
processes leased)."""

from __future__ import annotations

import sqlalchemy as sa

from monitor.store.models.schema import METADATA, BigId, key, required


class ApiBudgetRow:
    """The API budget of one developer app, shared by every process on this database (monitor.store.budget):
    the shared throttle pause. Times are seconds since the epoch on the database's clock (PostgreSQL) or the
    host's (SQLite, one host)."""

    __table__ = sa.Table(
        "api_budget",
        METADATA,
        key("app"),
        required("paused_until", sa.Double, default=0.0),  # every request of the app waits until then
        required("pause", sa.Double, default=0.0),  # the length of the latest pause (escalation)
        required("slow_until", sa.Double, default=0.0),  # half rate until then
    )


class ApiBudgetLeaseRow:
    """One batch of request tokens a process leased at ``t``: spent within the lease's validity or never.
    Kept for the minute window, then deleted by the next lease."""

    __table__ = sa.Table(
        "api_budget_leases",
        METADATA,
        key("id", BigId),
        required("app"),
        required("t", sa.Double),
        required("tokens", sa.Integer),
        sa.Index("ix_api_budget_leases_app_t", "app", "t"),
    )
