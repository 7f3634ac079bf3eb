"""Reading who changed what for one poll: at most one Change Log task, bounded, never failing the poll.

The poll calls :func:`who_changed` after its diff with the entities whose status or budget changed
(:func:`monitor.changes.asked`); nothing changed means no call. It reads the Change Log from shortly before the
previous poll to now (one ``changelog/task/create/``, ``check/`` until ready, one ``download/``: 3 calls or more)
and classifies each change (:func:`monitor.changes.changed_by`). When the task fails, answers something it cannot
read or is not ready within ``max_wait`` seconds, the answer is empty (``changed_by`` reads no data) and the
reason is returned for the poll's record: the poll goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.changes import FIELDS, asked, changed_by
from monitor.domain import EntityKey, Snapshot
from monitor.rules.model import RuleSet
from monitor.store.diff import SnapshotDiff
from monitor.tiktok.client import TikTokClient
from monitor.tiktok.errors import ApiError

log = logging.getLogger(__name__)

#: How long a poll waits for the Change Log task at most (the whole read, every call included).
MAX_WAIT = 30.0
#: Read from this long before the previous poll: a change made while it ran is not missed.
OVERLAP = timedelta(minutes=2)


@dataclass(frozen=True)
class WhoChanged:
    """``changed_by`` per entity (only those the log explains), and why the read failed (None: it did not)."""

    by: Mapping[EntityKey, str] = field(default_factory=dict)
    error: str | None = None


async def who_changed(
    client: TikTokClient,
    advertiser_id: str,
    wanted: Mapping[EntityKey, frozenset[str]],
    since: datetime,
    now: datetime,
    *,
    max_wait: float = MAX_WAIT,
) -> WhoChanged:
    """Who changed the ``wanted`` entities' fields between ``since`` (the previous poll) and ``now``."""
    if not wanted:
        return WhoChanged()
    start = (since - OVERLAP).astimezone(UTC).replace(tzinfo=None)
    end = now.astimezone(UTC).replace(tzinfo=None)
    try:
        async with asyncio.timeout(max_wait):
            records = await client.change_log(
                advertiser_id,
                start,
                end,
                timezone="UTC",
                modules=sorted(set(FIELDS.values())),
                object_ids=sorted({key[1] for key in wanted}),
                max_wait=max_wait,
            )
    except (ApiError, TimeoutError) as exc:
        reason = f"change log not read, changed_by has no data this poll: {str(exc) or 'timed out'}"
        log.warning("advertiser %s: %s", advertiser_id, reason)
        return WhoChanged(error=reason)
    rows = ((r.time, r.object_type, r.object_id, r.module, r.source, r.operator, r.app_id) for r in records)
    return WhoChanged(changed_by(rows, wanted, client.app_id))


def wanted(ruleset: RuleSet, previous: Snapshot | None, diff: SnapshotDiff) -> dict[EntityKey, frozenset[str]]:
    """The entities to ask the Change Log about: those whose status or budget changed since ``previous``, when a
    rule reads ``changed_by`` or has an action (the manual-override hold uses it); else none (no call)."""
    if previous is None or not any(
        rule.action is not None or any(ref.key == "changed_by" for ref in rule.when.refs) for rule in ruleset
    ):
        return {}
    return asked((c.key, c.field) for c in diff.changed)


def with_changed_by(snapshot: Snapshot, by: Mapping[EntityKey, str]) -> Snapshot:
    """``snapshot`` with each entity of ``by`` carrying its ``changed_by`` (the same snapshot when ``by`` is empty)."""
    if not by:
        return snapshot
    entities = dict(snapshot.entities)
    for key, who in by.items():
        state = entities.get(key)
        if state is not None:
            entities[key] = state.with_changed_by(who)
    return Snapshot(snapshot.advertiser_id, snapshot.poll_id, snapshot.taken_at, entities)
