"""``tiktok-monitor approvals list | approve ID | reject ID``: the actions of rules with ``approve`` that wait for
a person, and deciding them from a terminal.

``list`` reads ``store.approvals`` (the pending ones; ``--all`` the decided ones too, newest first); ``approve``
and ``reject`` go through :class:`monitor.steering.Steering` like the Slack buttons and the status page, with
``--by`` (default: the OS user) recorded as who decided (and, approved, as ``approved_by`` in the journal).
Times are printed in UTC; names from TikTok are shown with :func:`monitor.notify.names.display_name`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from monitor.clock import Clock, SystemClock
from monitor.config import Settings
from monitor.domain.approvals import Approval, ApprovalState
from monitor.notify.names import display_name
from monitor.wiring import api_session, open_store, steering_of

EXIT_OK, EXIT_FAILED = 0, 1


async def run_approvals(
    settings: Settings,
    command: str,
    *,
    approval_id: str | None = None,
    by: str = "unknown",
    include_decided: bool = False,
    clock: Clock | None = None,
    out: TextIO,
    err: TextIO,
) -> int:
    """``command`` is ``list``, ``approve`` or ``reject`` (``approval_id``, as ``by``); prints on ``out`` (a
    refusal on ``err``). 0 done, 1 refused (no such approval, expired, decided already, a guard said no)."""
    clock = clock or SystemClock()
    store = await open_store(settings, clock)
    try:
        if command == "list":
            now = clock.now()
            shown = await store.approvals.list(limit=50) if include_decided else await store.approvals.pending(now)
            out.write(render(shown, now, include_decided))
            return EXIT_OK
        assert approval_id is not None
        async with api_session() as session:
            steering = steering_of(settings, store, clock, session)
            if command == "approve":
                result = await steering.approve(approval_id, by=by)
            else:
                result = await steering.reject(approval_id, by=by)
    finally:
        await store.close()
    (out if result.ok else err).write(result.message + "\n")
    return EXIT_OK if result.ok else EXIT_FAILED


def render(approvals: Sequence[Approval], now: datetime, include_decided: bool = False) -> str:
    """What ``approvals list`` prints: a table, one line per approval (pending ones oldest first; with
    ``include_decided`` every recent one, newest first, with who decided and the outcome)."""
    if not approvals:
        return "no approvals\n" if include_decided else "no actions waiting for approval\n"
    head = ["id", "state", "expires (UTC)", "advertiser", "rule", "action", "entity"]
    if include_decided:
        head += ["decided by", "outcome"]
    rows = [tuple(head)]
    for a in approvals:
        state = "expired" if a.expired(now) else a.state.value
        name = display_name(a.entity_name)
        entity = f"{a.level.value} {a.entity_id}" + (f' "{name}"' if name else "")
        row = [a.id, state, _utc(a.expires_at), a.advertiser_id, a.rule, a.change.describe(), entity]
        if include_decided:
            row += [a.decided_by or "", a.outcome or ""]
        rows.append(tuple(row))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]) for row in rows]
    footer = ""
    if any(a.state is ApprovalState.PENDING and not a.expired(now) for a in approvals):
        footer = "approve with: tiktok-monitor approvals approve ID --config ...; reject with: ... reject ID\n"
    return "\n".join(line.rstrip() for line in lines) + "\n" + footer


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M}"
