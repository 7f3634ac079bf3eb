"""Approvals: a rule with ``approve = true`` (or ``approve_within = "30m"``) does not act when it fires; its action
waits for a person to approve or reject it, until it expires.

An :class:`Approval` is made by the poll in which the rule's action would have been written (the guards said
"go"), in that poll's transaction, one pending per alert (a repeat of a firing alert makes none). It records the
planned change (:class:`PlannedChange`: the action's type, ``to`` / ``by`` for budgets, the state ``before``),
why (``reason``: the values the rule read), and when it expires.

States (:class:`ApprovalState`):

* ``pending``: waiting; shown in Slack, on the page and by ``status``;
* ``approved``: a person approved it and the action was carried out through the journal (``journal_id``; the
  ``outcome`` says done, dry run or failed, as the journal does);
* ``blocked``: a person approved it, but a guard re-run at that moment said no (the entity changed, a hold, the
  circuit breaker, ``max_change_per_day`` ...): nothing was written; ``outcome`` is the guard's reason;
* ``rejected``: a person rejected it: nothing was written;
* ``expired``: nobody decided before ``expires_at``: dropped (and said so in a message).

``decided_by`` / ``decided_at`` say who approved, rejected (or, for ``expired``, "expiry") and when. Ids are text:
``<poll id>-<n>`` of the poll that asked (known before that poll commits, so its messages name them).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.domain.levels import Level
from monitor.domain.values import aware, freeze

#: How long an approval waits when a rule says ``approve = true`` without ``approve_within``.
DEFAULT_APPROVE_WITHIN = timedelta(hours=1)
#: Who ``decided_by`` names for an approval that expired.
EXPIRY = "expiry"


class ApprovalState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # approved and carried out (the outcome says how the write went)
    BLOCKED = "blocked"  # approved, but a guard re-run at approval said no: nothing written
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class PlannedChange:
    """The write an approval waits for: the rule's action as it was when asked (``type``: pause, enable,
    scale_budget, set_budget; ``to`` for set_budget; ``by`` percent, ``min`` and ``max`` for scale_budget) and the
    field's value ``before`` then. The budget is computed again from the entity read at approval."""

    type: str
    to: float | None = None
    by: float | None = None
    min: float | None = None
    max: float | None = None
    before: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "before", freeze(dict(self.before)))

    def describe(self) -> str:
        """ "pause", "set_budget to 50", "scale_budget by +20%" """
        if self.to is not None:
            return f"{self.type} to {self.to:g}"
        if self.by is not None:
            return f"{self.type} by {self.by:+g}%"
        return self.type


@dataclass(frozen=True)
class Approval:
    """One action waiting for (or decided by) a person; see the module docstring."""

    id: str
    advertiser_id: str
    rule: str
    level: Level
    entity_id: str
    entity_name: str | None
    change: PlannedChange
    reason: Mapping[str, Any]  # the values the rule read, e.g. {"spend": 120.5}
    requested_at: datetime
    expires_at: datetime
    state: ApprovalState = ApprovalState.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    journal_id: int | None = None
    outcome: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "state", ApprovalState(self.state))
        object.__setattr__(self, "reason", freeze(dict(self.reason)))
        aware(self.requested_at, "approval requested_at")
        aware(self.expires_at, "approval expires_at")

    @property
    def alert(self) -> tuple[str, Level, str]:
        """The alert it belongs to: (rule, level, entity id); one pending approval per alert."""
        return (self.rule, self.level, self.entity_id)

    def expired(self, now: datetime) -> bool:
        """Whether it is pending but past ``expires_at`` at ``now`` (to be dropped), or already expired."""
        return self.state is ApprovalState.EXPIRED or (self.state is ApprovalState.PENDING and now >= self.expires_at)

    def refusal(self, now: datetime) -> str | None:
        """Why it cannot be approved or rejected at ``now`` (None: it can), for people."""
        if self.expired(now):
            return f"approval #{self.id} expired at {_utc(self.expires_at)}: the action was dropped"
        if self.state is ApprovalState.PENDING:
            return None
        by = f" by {self.decided_by}" if self.decided_by else ""
        at = f" at {_utc(self.decided_at)}" if self.decided_at else ""
        return f"approval #{self.id} was already {self.state.value}{by}{at}" + (
            f": {self.outcome}" if self.outcome else ""
        )

    def describe(self, shown_name: str | None = None) -> str:
        """ "#12-1 pause campaign 1801... "Summer" (rule overspend)". ``shown_name``: the entity's name as the
        caller shows names from TikTok (``monitor.notify.names.display_name``); the raw name is never used here."""
        name = f' "{shown_name}"' if shown_name else ""
        return f"#{self.id} {self.change.describe()} {self.level.value} {self.entity_id}{name} (rule {self.rule})"

    def to_json(self) -> dict[str, Any]:
        """A plain dict for ``status --json`` and front ends (times ISO 8601 in UTC with ``Z``)."""
        return {
            "id": self.id,
            "advertiser_id": self.advertiser_id,
            "rule": self.rule,
            "level": self.level.value,
            "entity_id": self.entity_id,
            "entity_name": self.entity_name,
            "action": {
                "type": self.change.type,
                "to": self.change.to,
                "by": self.change.by,
                "min": self.change.min,
                "max": self.change.max,
                "before": dict(self.change.before),
            },
            "reason": dict(self.reason),
            "requested_at": _zulu(self.requested_at),
            "expires_at": _zulu(self.expires_at),
            "state": self.state.value,
            "decided_by": self.decided_by,
            "decided_at": _zulu(self.decided_at) if self.decided_at else None,
            "journal_id": self.journal_id,
            "outcome": self.outcome,
        }


def approval_id(poll_id: int, n: int) -> str:
    """The id of the ``n``-th (from 1) approval asked for by poll ``poll_id``."""
    return f"{poll_id}-{n}"


def how_to_approve(approval: Approval) -> str:
    """What an alert message says about an action waiting for approval."""
    return (
        f"approval #{approval.id} until {_utc(approval.expires_at)}: "
        f"tiktok-monitor approvals approve {approval.id} (or reject {approval.id})"
    )


def _utc(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _zulu(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
