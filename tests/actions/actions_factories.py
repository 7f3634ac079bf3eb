"""Helpers shared by the action tests: ids of the sandbox world, rule text, and readers of what happened."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.domain import Snapshot
from monitor.sandbox import Sandbox
from monitor.store.db import reading
from monitor.store.repo import Store
from monitor.store.snapshots import load_current

ADV = "7000000000000000001"  # America/New_York, USD; 15:00 local at T0
CAMPAIGN = "1801100000000000001"  # daily budget 434, about 432 spent today at T0, ~40/h
LIFETIME_CAMPAIGN = "1801100000000000002"  # lifetime budget, spending
PAUSED_CAMPAIGN = "1801100000000000003"  # DISABLE, BUDGET_MODE_INFINITE
ADGROUP = "1801200000000000001"  # daily budget 434, in CAMPAIGN


def rule(
    name: str, when: str, action: str, *, level: str = "campaign", ids: tuple[str, ...] = (CAMPAIGN,), extra: str = ""
) -> str:
    """One [[rule]] notifying slack, scoped to ``ids`` (none: every entity of the level); ``action`` is TOML
    (``'"pause"'`` or ``'{ type = "set_budget", to = 500 }'``); ``extra`` more keys of the rule."""
    text = (
        f'[[rule]]\nname = "{name}"\nlevel = "{level}"\nwhen = "{when}"\nnotify = ["slack"]\n'
        f"action = {action}\n{extra}\n"
    )
    if ids:
        text += "[rule.match]\nids = [" + ", ".join(f'"{i}"' for i in ids) + "]\n"
    return text


def writes(sandbox: Sandbox, path: str) -> int:
    """How many requests for ``path`` ("campaign/status/update/") reached the sandbox."""
    return sum(1 for a in sandbox.arrivals if a.path == path)


async def latest_snapshot(store: Store, advertiser_id: str) -> Snapshot | None:
    """The newest committed snapshot, read the way a poll loads ``poll.previous``."""
    async with reading(store.engine) as conn:
        return await load_current(conn, advertiser_id)


async def outbox(store: Store, now: datetime) -> list[dict[str, Any]]:
    """Every queued message's payload with its channel, oldest first."""
    return [{**row.payload, "_channel": row.channel} for row in await store.outbox.fetch_due(now, limit=1000)]


async def ops(store: Store, now: datetime, kind: str | None = None) -> list[dict[str, Any]]:
    return [m for m in await outbox(store, now) if m["type"] == "ops" and (kind is None or m["kind"] == kind)]


def actions_in(messages: list[dict[str, Any]], rule_name: str) -> list[dict[str, Any]]:
    """The ``action`` of each entity in the alert messages of ``rule_name``."""
    return [
        e["action"]
        for m in messages
        if m["type"] == "alert" and m["rule"]["name"] == rule_name
        for e in m["entities"]
        if e["action"] is not None
    ]
